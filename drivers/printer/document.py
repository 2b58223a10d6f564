"""A device-neutral printed document: what to print, not how a printer is told to.

The console lays out a receipt as a list of blocks; the driver turns them into ESC/POS.
Documents are immutable and round-trip through plain dicts (`to_dict` / `from_dict`) so a
print queue can keep them in a database as JSON.

    PrintDocument([
        Text("停车场 Central Park", align="center", bold=True, size=2),
        Columns("Parking 2 h 15 min", "12.00"),
        Rule(),
        QR("https://example.com/r/R-000123"),
        Cut(),
    ], title="receipt R-000123")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

from drivers.printer.errors import DocumentError

Align = Literal["left", "center", "right"]
ALIGNS: tuple[str, ...] = ("left", "center", "right")

#: Bytes a printer's QR store command can take at error correction level M (version 40).
QR_MAX_BYTES = 2331


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DocumentError(message)


def _check_str(value: object, what: str) -> None:
    _check(isinstance(value, str), f"{what} must be text, not {type(value).__name__}")


def _check_bool(value: object, what: str) -> None:
    _check(isinstance(value, bool), f"{what} must be true or false, not {value!r}")


def _check_int(value: object, what: str, low: int, high: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    _check(ok, f"{what} must be a whole number from {low} to {high}, not {value!r}")


def _check_align(value: object) -> None:
    _check(value in ALIGNS, f"align must be one of {', '.join(ALIGNS)}, not {value!r}")


@dataclass(frozen=True, slots=True)
class Text:
    """One or more lines of text ("\\n" separates lines; long lines are wrapped).

    `size=2` prints double width and double height, so a line holds half as many characters.
    """

    text: str
    align: Align = "left"
    bold: bool = False
    size: int = 1

    def __post_init__(self) -> None:
        _check_str(self.text, "Text.text")
        _check_align(self.align)
        _check_bool(self.bold, "Text.bold")
        _check(self.size in (1, 2) and not isinstance(self.size, bool), f"Text.size must be 1 or 2, not {self.size!r}")


@dataclass(frozen=True, slots=True)
class Columns:
    """A label on the left and a value on the right of the same line, e.g. "Parking ..... 12.00".

    `fill` is the single character between them (a space or a dotted leader). When both do
    not fit on one line the label wraps and the value stays right-aligned on the last line.
    """

    left: str
    right: str
    bold: bool = False
    fill: str = " "

    def __post_init__(self) -> None:
        _check_str(self.left, "Columns.left")
        _check_str(self.right, "Columns.right")
        _check_bool(self.bold, "Columns.bold")
        _check_str(self.fill, "Columns.fill")
        _check(len(self.fill) == 1 and self.fill.isprintable(), f"Columns.fill must be one printable character, not {self.fill!r}")


@dataclass(frozen=True, slots=True)
class Rule:
    """A full-width separator line made of `char`."""

    char: str = "-"

    def __post_init__(self) -> None:
        _check_str(self.char, "Rule.char")
        _check(len(self.char) == 1 and self.char.isprintable(), f"Rule.char must be one printable character, not {self.char!r}")


@dataclass(frozen=True, slots=True)
class QR:
    """A QR code (e-receipt link, invoice request). `size` is the module size in dots, 1-16."""

    data: str
    size: int = 6
    align: Align = "center"

    def __post_init__(self) -> None:
        _check_str(self.data, "QR.data")
        _check(self.data != "", "QR.data must not be empty")
        _check(len(self.data.encode("utf-8")) <= QR_MAX_BYTES, f"QR.data is longer than {QR_MAX_BYTES} bytes")
        _check_int(self.size, "QR.size", 1, 16)
        _check_align(self.align)


@dataclass(frozen=True, slots=True)
class Feed:
    """Blank paper: `lines` empty lines."""

    lines: int = 1

    def __post_init__(self) -> None:
        _check_int(self.lines, "Feed.lines", 0, 255)


@dataclass(frozen=True, slots=True)
class Cut:
    """Feed the paper past the cutter and cut it (a partial cut leaves a hinge)."""

    partial: bool = False

    def __post_init__(self) -> None:
        _check_bool(self.partial, "Cut.partial")


Block = Union[Text, Columns, Rule, QR, Feed, Cut]
BLOCK_TYPES: dict[str, type[Block]] = {cls.__name__.lower(): cls for cls in (Text, Columns, Rule, QR, Feed, Cut)}


@dataclass(frozen=True, slots=True)
class PrintDocument:
    """An ordered list of blocks. `title` names the job in logs and errors ("receipt R-000123")."""

    blocks: tuple[Block, ...] = field(default_factory=tuple)
    title: str = ""

    def __post_init__(self) -> None:
        blocks = self.blocks
        _check(isinstance(blocks, (list, tuple)), "PrintDocument.blocks must be a list of blocks")
        for index, block in enumerate(blocks):
            _check(isinstance(block, tuple(BLOCK_TYPES.values())),
                   f"block {index} is a {type(block).__name__}, not a printable block")
        _check_str(self.title, "PrintDocument.title")
        object.__setattr__(self, "blocks", tuple(blocks))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` turns it back into the same document."""
        out: list[dict[str, Any]] = []
        for block in self.blocks:
            item: dict[str, Any] = {"type": type(block).__name__.lower()}
            for name in block.__slots__:
                item[name] = getattr(block, name)
            out.append(item)
        return {"title": self.title, "blocks": out}

    @classmethod
    def from_dict(cls, data: object) -> PrintDocument:
        """Rebuild a document from `to_dict` output; anything malformed raises DocumentError."""
        _check(isinstance(data, dict), "a print document must be a mapping")
        assert isinstance(data, dict)
        raw_blocks = data.get("blocks", [])
        _check(isinstance(raw_blocks, list), "blocks must be a list")
        blocks: list[Block] = []
        for index, raw in enumerate(raw_blocks):
            _check(isinstance(raw, dict), f"block {index} must be a mapping")
            fields = dict(raw)
            kind = fields.pop("type", None)
            block_cls = BLOCK_TYPES.get(kind) if isinstance(kind, str) else None
            _check(block_cls is not None, f"block {index} has unknown type {kind!r}")
            assert block_cls is not None
            allowed = set(block_cls.__slots__)
            unknown = sorted(set(fields) - allowed)
            _check(not unknown, f"block {index} ({kind}) has unknown fields: {', '.join(map(str, unknown))}")
            try:
                blocks.append(block_cls(**fields))
            except TypeError as exc:  # a required field is missing
                raise DocumentError(f"block {index} ({kind}): {exc}") from None
        title = data.get("title", "")
        return cls(tuple(blocks), title=title)
