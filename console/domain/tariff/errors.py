"""Errors of the tariff language and of quoting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a tariff document: where (a dotted key) and what."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


class TariffError(DomainError):
    """A tariff document that cannot be used; `.problems` lists every problem found."""

    def __init__(self, problems: Iterable[Problem], source: str = "<tariff>") -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        return "\n".join(f"{self.source}: {p}" for p in self.problems)

    def __str__(self) -> str:
        return self._text()


class QuoteError(DomainError):
    """A stay that cannot be priced as asked (exit before entry, unknown class, ...)."""
