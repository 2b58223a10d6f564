"""Translations: every string a person reads goes through `_()` (or `ngettext`).

The catalogs are gettext `.po` files under `console/locale/` managed with Babel
(`scripts/i18n.py extract | update | compile`); the compiled `.mo` files ship in the wheel.
English is the source language; Simplified Chinese is `zh_CN`.

Which language `_()` speaks:
- the process's language, set once by the entry point from the site file (`[ui] language`)
  or switched at run time from the console's command palette (`set_language`);
- inside `with language("zh_CN"):` the given one, for the current thread or asyncio task
  only (the reference cloud answers each request in its browser's language).

`_()` itself only looks a message up in memory: loading a catalog happens in
`set_language` / `language`, never in the code that translates.

Strings defined before any language is known (module constants, tables) are marked with
`N_()` for extraction and translated where they are shown: `_(LABEL)`.
"""

from __future__ import annotations

import gettext
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

DOMAIN = "booth"
SOURCE_LANGUAGE = "en"
# Language code -> its own name (what the language switch shows).
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}

_LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_lock = threading.Lock()
_loaded: dict[str, gettext.NullTranslations] = {}
_process_language = SOURCE_LANGUAGE
_context: ContextVar[str | None] = ContextVar("booth_language", default=None)


class LanguageError(ValueError):
    """A language this build has no catalog for."""


def normalize_language(tag: str) -> str:
    """A language code from what people and browsers write: "zh-CN", "zh_Hans", "zh", "ZH-cn"
    are "zh_CN"; "en-GB" is "en". Raises LanguageError for a language we do not ship."""
    cleaned = tag.strip().replace("-", "_")
    lower = cleaned.lower()
    if lower in ("zh", "zh_cn", "zh_hans", "zh_hans_cn", "zh_sg"):
        return "zh_CN"
    if lower == "en" or lower.startswith("en_"):
        return "en"
    raise LanguageError(f"unknown language {tag!r} (allowed: {', '.join(LANGUAGES)})")


def best_language(accept_language: str | None, default: str = SOURCE_LANGUAGE) -> str:
    """The shipped language a browser's Accept-Language header prefers most."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        try:
            choices.append((-quality, index, normalize_language(tag)))
        except LanguageError:
            continue
    choices.sort()
    return choices[0][2] if choices and choices[0][0] < 0 else default


def _translations(code: str) -> gettext.NullTranslations:
    with _lock:
        found = _loaded.get(code)
        if found is None:
            if code == SOURCE_LANGUAGE:
                found = gettext.NullTranslations()
            else:
                found = gettext.translation(DOMAIN, localedir=_LOCALE_DIR, languages=[code], fallback=True)
            _loaded[code] = found
        return found


def set_language(tag: str) -> str:
    """Make `tag` the process's language (LanguageError when not shipped). Returns the code."""
    global _process_language
    code = normalize_language(tag)
    _translations(code)
    _process_language = code
    return code


def current_language() -> str:
    """The language `_()` speaks here and now."""
    return _context.get() or _process_language


@contextmanager
def language(tag: str) -> Iterator[str]:
    """Speak `tag` inside the block, in this thread or task only."""
    code = normalize_language(tag)
    _translations(code)
    token = _context.set(code)
    try:
        yield code
    finally:
        _context.reset(token)


def _(message: str) -> str:
    """`message` in the current language."""
    return _translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return _translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for the catalog without translating it now."""
    return message


def babel_locale() -> str:
    """The current language as a Babel / CLDR locale name (for numbers and dates)."""
    return current_language()
