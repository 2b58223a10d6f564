"""The one place that imports python-escpos, with its side effects contained.

Importing escpos calls `logging.basicConfig()`, which puts a handler on the real stderr
that would smear a full-screen terminal UI, and it writes a capabilities pickle into a new
temporary folder in every process. So escpos is imported lazily, the root logger's handlers
are restored afterwards, and the pickle goes to one per-user cache folder
(ESCPOS_CAPABILITIES_PICKLE_DIR, if already set, wins). escpos' printer classes also call
the module-level `logging.info()`, which installs the same handler when the root logger has
none, so `quiet_root_logging()` wraps those calls too.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import pickle
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from drivers.printer.errors import PrinterConfigError

_import_lock = threading.Lock()
_root_lock = threading.RLock()
_modules: dict[str, ModuleType] = {}


@contextlib.contextmanager
def quiet_root_logging() -> Iterator[None]:
    """Undo any handler escpos adds to the root logger while the block runs."""
    root = logging.getLogger()
    with _root_lock:
        before = list(root.handlers)
        try:
            yield
        finally:
            for handler in list(root.handlers):
                if handler not in before:
                    root.removeHandler(handler)


def _pickle_dir() -> str:
    try:
        from platformdirs import user_cache_dir

        folder = Path(user_cache_dir("booth", appauthor=False)) / "escpos"
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return str(folder)
    except Exception:  # noqa: BLE001 - a read-only home must not stop printing
        pass
    return tempfile.mkdtemp(prefix="booth-escpos-")


def _forget_escpos() -> None:
    for name in [m for m in sys.modules if m == "escpos" or m.startswith("escpos.")]:
        del sys.modules[name]


def escpos() -> dict[str, ModuleType]:
    """The escpos modules the driver uses: `capabilities`, `printer`, `codepages`, `constants`."""
    with _import_lock:
        if _modules:
            return _modules
        os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", _pickle_dir())
        with quiet_root_logging():
            try:
                try:
                    import escpos.capabilities as capabilities
                except (EOFError, pickle.UnpicklingError, OSError, ValueError, AttributeError):
                    # The shared pickle is unreadable (another process is writing it, or the
                    # folder is gone): load from the package again into a private folder.
                    _forget_escpos()
                    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = tempfile.mkdtemp(prefix="booth-escpos-")
                    import escpos.capabilities as capabilities
                import escpos.codepages as codepages
                import escpos.constants as constants
                import escpos.printer as printer
            except Exception as exc:  # noqa: BLE001 - report a broken install as configuration
                _forget_escpos()
                raise PrinterConfigError(f"python-escpos cannot be loaded: {exc}") from exc
        _modules.update(capabilities=capabilities, codepages=codepages, constants=constants, printer=printer)
        return _modules


def profile_names() -> list[str]:
    """Every printer profile name python-escpos knows."""
    return sorted(escpos()["capabilities"].CAPABILITIES["profiles"])


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    """What the driver needs from a python-escpos printer profile."""

    name: str
    columns: int  # characters per line in font A
    pixels: int | None  # printable width in dots, when the profile knows it
    dpi: int | None
    features: frozenset[str]
    code_pages: dict[int, str]  # ESC t number -> encoding name


def profile_info(name: str | None) -> ProfileInfo:
    """Look a profile up; an unknown name raises KeyError with the valid names."""
    caps = escpos()["capabilities"].CAPABILITIES["profiles"]
    key = name or "default"
    if key not in caps:
        raise KeyError(key)
    data = caps[key]
    media = data.get("media", {}) or {}
    pixels = media.get("width", {}).get("pixels") if isinstance(media.get("width"), dict) else None
    dpi = media.get("dpi")
    fonts = data.get("fonts", {}) or {}
    columns = fonts.get("0", {}).get("columns", 42) if isinstance(fonts.get("0"), dict) else 42
    return ProfileInfo(
        name=key,
        columns=int(columns) if isinstance(columns, int) else 42,
        pixels=pixels if isinstance(pixels, int) else None,
        dpi=dpi if isinstance(dpi, int) else None,
        features=frozenset(f for f, on in (data.get("features", {}) or {}).items() if on),
        code_pages={int(k): v for k, v in (data.get("codePages", {}) or {}).items() if str(k).isdigit()},
    )


def profile_data(name: str | None, pixels: int) -> dict[str, Any]:
    """A copy of a python-escpos profile's data whose paper width in dots is known.

    The stock "default" profile has no width, which makes escpos print a notice to stdout
    on every image and ignore centring; a private copy with the width filled in avoids both.
    """
    data = copy.deepcopy(escpos()["capabilities"].CAPABILITIES["profiles"][name or "default"])
    media = data.setdefault("media", {})
    width = media.get("width")
    if not isinstance(width, dict):
        width = media["width"] = {}
    if not isinstance(width.get("pixels"), int):
        width["pixels"] = pixels
    if not isinstance(media.get("dpi"), int):
        media["dpi"] = 203
    return data


def new_dummy(name: str | None, data: dict[str, Any]) -> Any:
    """An escpos Dummy printer for profile `name` (with `data` in place of the stock data)."""
    dummy = escpos()["printer"].Dummy(profile=name or "default")
    dummy.profile.profile_data = data  # this instance only; the shared class stays as shipped
    return dummy


def code_page_table(encoding: str) -> list[str] | None:
    """The 128 characters a code page puts at bytes 0x80-0xFF, or None when escpos has no table.

    Characters a page lacks are "\\ufffd".
    """
    codepages = escpos()["codepages"].CodePages
    try:
        info = codepages.get_encoding(encoding)
    except KeyError:
        return None
    if "data" in info:
        chars = list("".join(info["data"]))
        return chars if len(chars) == 128 else None
    codec = info.get("python_encode")
    if not codec:
        return None
    table: list[str] = []
    for byte in range(128, 256):
        try:
            table.append(bytes([byte]).decode(codec))
        except (UnicodeDecodeError, LookupError):
            table.append("\ufffd")
    return table
