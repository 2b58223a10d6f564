"""Read ESC/POS bytes back into what the paper would show.

    python -m drivers.printer.escpos_decode receipts.bin            # the receipts as text
    python -m drivers.printer.escpos_decode receipts.bin --json     # structured
    python -m drivers.printer.escpos_decode receipts.bin --profile TM-T88V --width 42

`decode(data)` returns a `Decoded`: in order, the printed text lines (decoded with the active
code page, or GB18030 in Chinese mode, with bold/size/alignment), cuts, QR codes (data taken
from the GS ( k store command), images (size), plus the status requests seen, the commands it
does not know and any truncated command at the end. Malformed or random input never raises.

`Tokenizer` splits a byte stream into whole commands and can be fed in pieces; the printer
simulator uses it to find DLE EOT status requests in a live stream.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Iterator, Union

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF, CAN = 0x0A, 0x0D, 0x09, 0x0C, 0x18

# Parameter counts of fixed-length commands, by the byte after ESC / GS / FS.
_ESC_FIXED: dict[int, int] = {
    **dict.fromkeys(b"@2<imLS\x0c", 0),
    **dict.fromkeys(b" !-3aEGJKMRUVtdejr{=%?uvT", 1),
    **dict.fromkeys(b"$\\Bc", 2),  # ESC B n t (buzzer), ESC c 3 n / 4 n / 5 n
    ord("p"): 3,
    ord("W"): 8,
}
_GS_FIXED: dict[int, int] = {
    **dict.fromkeys(b":", 0),
    **dict.fromkeys(b"!BHIabfhrwETj|/Z", 1),
    **dict.fromkeys(b"LW$\\Pg", 2),
    ord("^"): 3,
}
_FS_FIXED: dict[int, int] = {
    **dict.fromkeys(b"&.", 0),
    **dict.fromkeys(b"!-CW", 1),
    **dict.fromkeys(b"Sp", 2),
}


@dataclass(frozen=True, slots=True)
class Token:
    """One command or run of text. `kind` is "text", a control name ("LF") or the command's
    leading bytes as text ("ESC a", "GS ( k", "DLE EOT")."""

    kind: str
    start: int
    end: int


def _name(prefix: str, byte: int) -> str:
    ch = chr(byte)
    return f"{prefix} {ch}" if 0x21 <= byte <= 0x7E else f"{prefix} 0x{byte:02X}"


def _u16(buf: bytes | bytearray, i: int) -> int:
    return buf[i] | (buf[i + 1] << 8)


def command_at(buf: bytes | bytearray, i: int) -> Token | None:
    """The command starting at `buf[i]`, or None if `buf` ends before it does."""
    n = len(buf)
    b = buf[i]
    if b >= 0x20:
        j = i
        while j < n and buf[j] >= 0x20:
            j += 1
        return Token("text", i, j)
    names = {LF: "LF", CR: "CR", HT: "HT", FF: "FF", CAN: "CAN"}
    if b not in (ESC, GS, FS, DLE):
        return Token(names.get(b, f"CTRL 0x{b:02X}"), i, i + 1)
    if i + 1 >= n:
        return None
    c = buf[i + 1]

    def need(total: int, kind: str) -> Token | None:
        return Token(kind, i, i + total) if i + total <= n else None

    if b == DLE:
        if c == 0x04:  # DLE EOT n [a]
            if i + 2 >= n:
                return None
            return need(4 if buf[i + 2] in (7, 8) else 3, "DLE EOT")
        if c == 0x05:
            return need(3, "DLE ENQ")
        if c == 0x14:  # DLE DC4 fn ...
            if i + 2 >= n:
                return None
            fn = buf[i + 2]
            return need({1: 5, 2: 5, 7: 4, 8: 10}.get(fn, 3), "DLE DC4")
        return Token(_name("DLE", c), i, i + 2)

    if b == ESC:
        ch = chr(c)
        if ch == "*":  # ESC * m nL nH d1..dk
            if i + 5 > n:
                return None
            m, count = buf[i + 2], _u16(buf, i + 3)
            return need(5 + count * (3 if m in (32, 33) else 1), "ESC *")
        if ch == "D":  # ESC D n1..nk NUL
            end = buf.find(b"\x00", i + 2, i + 2 + 33)
            if end < 0:
                return None if n - (i + 2) < 33 else Token("ESC D", i, i + 2)
            return Token("ESC D", i, end + 1)
        if ch == "&":  # ESC & y c1 c2 [x d1..d(y*x)]...
            if i + 5 > n:
                return None
            y, c1, c2 = buf[i + 2], buf[i + 3], buf[i + 4]
            j = i + 5
            for _ in range(max(c2 - c1 + 1, 0)):
                if j >= n:
                    return None
                j += 1 + y * buf[j]
            return Token("ESC &", i, j) if j <= n else None
        if ch == "(":  # ESC ( fn pL pH ...
            if i + 5 > n:
                return None
            return need(5 + _u16(buf, i + 3), _name("ESC (", buf[i + 2]))
        return need(2 + _ESC_FIXED.get(c, 0), _name("ESC", c))

    if b == GS:
        ch = chr(c)
        if ch == "(":  # GS ( fn pL pH ...
            if i + 5 > n:
                return None
            return need(5 + _u16(buf, i + 3), _name("GS (", buf[i + 2]))
        if ch == "8":  # GS 8 fn p1 p2 p3 p4 ...
            if i + 7 > n:
                return None
            size = buf[i + 3] | buf[i + 4] << 8 | buf[i + 5] << 16 | buf[i + 6] << 24
            return need(7 + size, _name("GS 8", buf[i + 2]))
        if ch == "v":  # GS v 0 m xL xH yL yH d...
            if i + 8 > n:
                return None
            return need(8 + _u16(buf, i + 4) * _u16(buf, i + 6), "GS v")
        if ch == "V":  # GS V m [n]
            if i + 3 > n:
                return None
            return need(4 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 3, "GS V")
        if ch == "k":  # GS k m d... NUL  |  GS k m n d1..dn
            if i + 3 > n:
                return None
            m = buf[i + 2]
            if m <= 6:
                end = bytes(buf[i + 3:]).find(b"\x00")
                return Token("GS k", i, i + 3 + end + 1) if end >= 0 else None
            if i + 4 > n:
                return None
            return need(4 + buf[i + 3], "GS k")
        if ch == "*":  # GS * x y d1..d(x*y*8)
            if i + 4 > n:
                return None
            return need(4 + buf[i + 2] * buf[i + 3] * 8, "GS *")
        return need(2 + _GS_FIXED.get(c, 0), _name("GS", c))

    # FS
    ch = chr(c)
    if ch == "2":  # FS 2 c1 c2 d1..d72 (user-defined 24x24 Chinese character)
        return need(4 + 72, "FS 2")
    if ch == "(":
        if i + 5 > n:
            return None
        return need(5 + _u16(buf, i + 3), _name("FS (", buf[i + 2]))
    return need(2 + _FS_FIXED.get(c, 0), _name("FS", c))


class Tokenizer:
    """Split a stream into commands; feed it bytes as they arrive."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]

    def feed(self, data: bytes) -> list[tuple[Token, bytes]]:
        """Whole commands completed by `data`, each with its bytes; a partial one waits."""
        self._buf += data
        out: list[tuple[Token, bytes]] = []
        i = 0
        n = len(self._buf)
        while i < n:
            token = command_at(self._buf, i)
            if token is None:
                break
            out.append((Token(token.kind, self._base + token.start, self._base + token.end),
                        bytes(self._buf[token.start:token.end])))
            i = token.end
        del self._buf[:i]
        self._base += i
        return out

    @property
    def pending(self) -> int:
        """Bytes of an unfinished command waiting for more data."""
        return len(self._buf)


def tokens(data: bytes) -> Iterator[Token]:
    """Every command in `data`; an unfinished command at the end comes out as "truncated"."""
    i, n = 0, len(data)
    while i < n:
        token = command_at(data, i)
        if token is None:
            yield Token("truncated", i, n)
            return
        yield token
        i = token.end


# -- what the paper shows ----------------------------------------------------------------------


@dataclass(slots=True)
class Span:
    """A run of text printed with the same style."""

    text: str
    bold: bool = False
    width: int = 1  # character width multiplier
    height: int = 1
    underline: bool = False
    invert: bool = False


@dataclass(slots=True)
class Line:
    """One printed line. `columns` counts character cells in the normal font."""

    spans: list[Span] = field(default_factory=list)
    align: str = "left"
    columns: int = 0

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)

    @property
    def bold(self) -> bool:
        """Whether any text on the line is bold."""
        return any(span.bold and span.text.strip() for span in self.spans)

    @property
    def size(self) -> int:
        """The largest width multiplier on the line."""
        return max((span.width for span in self.spans if span.text.strip()), default=1)


@dataclass(frozen=True, slots=True)
class CutMark:
    partial: bool


@dataclass(frozen=True, slots=True)
class QRCode:
    data: str
    size: int  # module size in dots
    ec: str  # L, M, Q or H
    model: int
    align: str
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class ImageBlock:
    kind: str  # raster (GS v 0), graphics (GS ( L), column (ESC *)
    width: int
    height: int
    align: str = "left"
    bits: bytes = b""  # row-major, (width + 7) // 8 bytes per row, 1 = black; empty for column images


@dataclass(frozen=True, slots=True)
class JobStart:
    """ESC @: the printer was initialised (each job starts with one)."""

    offset: int


Item = Union[Line, CutMark, QRCode, ImageBlock, JobStart]


@dataclass(slots=True)
class Decoded:
    """Everything `decode` found, in order in `items`."""

    items: list[Item] = field(default_factory=list)
    status_requests: list[int] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (offset, command)
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [item for item in self.items if isinstance(item, Line)]

    @property
    def text_lines(self) -> list[str]:
        """The printed lines as plain strings (alignment and style left out)."""
        return [line.text for line in self.lines]

    @property
    def text(self) -> str:
        return "\n".join(self.text_lines)

    @property
    def cuts(self) -> list[CutMark]:
        return [item for item in self.items if isinstance(item, CutMark)]

    @property
    def qr_codes(self) -> list[QRCode]:
        return [item for item in self.items if isinstance(item, QRCode)]

    @property
    def images(self) -> list[ImageBlock]:
        return [item for item in self.items if isinstance(item, ImageBlock)]

    def jobs(self) -> list[Decoded]:
        """Split at each ESC @ into one `Decoded` per job (empty stretches dropped)."""
        out: list[Decoded] = []
        current = Decoded()
        for item in self.items:
            if isinstance(item, JobStart):
                if any(not isinstance(i, JobStart) for i in current.items):
                    out.append(current)
                current = Decoded()
            current.items.append(item)
        if any(not isinstance(i, JobStart) for i in current.items):
            out.append(current)
        return out

    def find_line(self, needle: str) -> Line | None:
        """The first line containing `needle`."""
        return next((line for line in self.lines if needle in line.text), None)


_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
_ESC_KNOWN = frozenset(_name("ESC", c) for c in _ESC_FIXED) | {"ESC D", "ESC &"} | {
    _name("ESC (", c) for c in range(256)}
_GS_KNOWN = frozenset(_name("GS", c) for c in _GS_FIXED) | {"GS *"}


class _Interpreter:
    def __init__(self, profile: str | None) -> None:
        self.out = Decoded()
        self.profile = profile
        self._tables: dict[int, list[str] | None] = {}
        self._pages: dict[int, str] | None = None
        self.reset()
        self.line: Line | None = None
        self.qr_store: bytes | None = None
        self.qr_size = 3
        self.qr_ec = "L"
        self.qr_model = 2
        self.graphics: tuple[int, int, bytes] | None = None
        self.column_image: list[int] | None = None  # [width, height] of an ESC * image in progress

    def reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.width = 1
        self.height = 1
        self.underline = False
        self.invert = False
        self.chinese = False
        self.code_page = 0

    # -- helpers --

    def _page_table(self, number: int) -> list[str] | None:
        if number not in self._tables:
            table = None
            try:
                from drivers.printer import _escpos

                if self._pages is None:
                    self._pages = _escpos.profile_info(self.profile).code_pages
                name = self._pages.get(number)
                table = _escpos.code_page_table(name) if name else None
            except Exception as exc:  # noqa: BLE001 - unknown profile or page: fall back below
                self.out.warnings.append(f"code page {number}: {exc!r}; decoding as CP437" if number == 0
                                         else f"code page {number}: {exc!r}")
                table = None
            if table is None and number == 0:
                table = [bytes([b]).decode("cp437") for b in range(128, 256)]
            self._tables[number] = table
        return self._tables[number]

    def _decode_text(self, raw: bytes) -> list[tuple[str, int]]:
        """(character, columns) for each printed character."""
        out: list[tuple[str, int]] = []
        if self.chinese:
            i = 0
            while i < len(raw):
                b = raw[i]
                if b < 0x80:
                    out.append((chr(b), 1))
                    i += 1
                    continue
                length = 4 if i + 1 < len(raw) and 0x30 <= raw[i + 1] <= 0x39 else 2
                chunk = raw[i:i + length]
                out.append((chunk.decode("gb18030", errors="replace")[:1] or "\ufffd", 2))
                i += length
            return out
        table = self._page_table(self.code_page)
        for b in raw:
            if b < 0x80:
                out.append((chr(b), 1))
            else:
                ch = table[b - 0x80] if table else "\ufffd"
                out.append((ch, 0 if unicodedata.combining(ch) else 1))
        return out

    def _add_text(self, raw: bytes) -> None:
        chars = self._decode_text(raw)
        if not chars:
            return
        self.column_image = None
        if self.line is None:
            self.line = Line(align=self.align)
        style = (self.bold, self.width, self.height, self.underline, self.invert)
        text = "".join(ch for ch, _ in chars)
        last = self.line.spans[-1] if self.line.spans else None
        if last is not None and (last.bold, last.width, last.height, last.underline, last.invert) == style:
            last.text += text
        else:
            self.line.spans.append(Span(text, *style))
        self.line.columns += sum(cols for _, cols in chars) * self.width

    def end_line(self, *, force: bool = True) -> None:
        """Print the buffered line; with force an empty buffer prints an empty line."""
        if self.line is not None:
            self.out.items.append(self.line)
        elif force:
            self.out.items.append(Line(align=self.align))
        self.line = None

    def _add_image(self, image: ImageBlock) -> None:
        self.end_line(force=False)
        self.out.items.append(image)

    # -- commands --

    def run(self, data: bytes) -> Decoded:
        for token in tokens(data):
            raw = data[token.start:token.end]
            try:
                self.command(token, raw)
            except (IndexError, ValueError) as exc:  # a malformed command must not stop decoding
                self.out.warnings.append(f"offset {token.start}: {token.kind}: {exc}")
        self.end_line(force=False)
        return self.out

    def command(self, token: Token, raw: bytes) -> None:
        kind = token.kind
        if kind not in ("ESC *", "LF"):
            self.column_image = None  # a column image is only ESC * stripes and line feeds
        if kind == "text":
            self._add_text(raw)
        elif kind == "LF":
            if self.column_image is None:
                self.end_line()
        elif kind in ("CR", "CAN"):
            pass
        elif kind == "HT":
            self._add_text(b" ")
        elif kind == "FF":
            self.end_line(force=False)
        elif kind == "truncated":
            self.out.truncated = True
            self.out.warnings.append(f"offset {token.start}: data ends inside a command ({raw[:8].hex(' ')})")
        elif kind == "DLE EOT":
            self.out.status_requests.append(raw[2])
        elif kind.startswith("ESC"):
            self._esc(token, raw)
        elif kind.startswith("GS"):
            self._gs(token, raw)
        elif kind == "FS &":
            self.chinese = True
        elif kind == "FS .":
            self.chinese = False
        elif kind in ("FS !", "FS -", "FS C", "FS S", "FS W", "DLE ENQ", "DLE DC4"):
            pass  # Chinese print mode details and real-time requests do not change the text
        else:
            self.out.unknown.append((token.start, kind))

    def _esc(self, token: Token, raw: bytes) -> None:
        kind = token.kind
        if kind == "ESC @":
            self.end_line(force=False)
            self.reset()
            self.out.items.append(JobStart(token.start))
        elif kind == "ESC !":
            n = raw[2]
            self.bold = bool(n & 0x08)
            self.height = 2 if n & 0x10 else 1
            self.width = 2 if n & 0x20 else 1
            self.underline = bool(n & 0x80)
        elif kind == "ESC E" or kind == "ESC G":
            self.bold = bool(raw[2] & 1)
        elif kind == "ESC -":
            self.underline = raw[2] in (1, 2, 49, 50)
        elif kind == "ESC a":
            self.align = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}.get(raw[2], "left")
        elif kind == "ESC d":
            self.end_line(force=False)
            for _ in range(raw[2]):
                self.end_line()
        elif kind == "ESC J":
            self.end_line(force=False)
        elif kind == "ESC t":
            self.code_page = raw[2]
        elif kind in ("ESC i", "ESC m"):
            self.end_line(force=False)
            self.out.items.append(CutMark(partial=True))
        elif kind == "ESC *":
            self.end_line(force=False)
            m, width = raw[2], _u16(raw, 3)
            stripe = 24 if m in (32, 33) else 8
            last = self.out.items[-1] if self.out.items else None
            if self.column_image is not None and isinstance(last, ImageBlock) and last.kind == "column":
                self.out.items[-1] = ImageBlock("column", max(last.width, width), last.height + stripe, last.align)
            else:
                self.out.items.append(ImageBlock("column", width, stripe, self.align))
            self.column_image = [width, stripe]
        elif kind in _ESC_KNOWN:
            pass  # spacing, fonts, drawer, page mode...: no effect on the text read back
        else:
            self.out.unknown.append((token.start, kind))

    def _gs(self, token: Token, raw: bytes) -> None:
        kind = token.kind
        if kind == "GS !":
            n = raw[2]
            self.width = ((n >> 4) & 0x07) + 1
            self.height = (n & 0x07) + 1
        elif kind == "GS B":
            self.invert = bool(raw[2] & 1)
        elif kind == "GS V":
            self.end_line(force=False)
            self.out.items.append(CutMark(partial=raw[2] in (1, 49, 66, 98, 104)))
        elif kind == "GS v":
            width, height = _u16(raw, 4) * 8, _u16(raw, 6)
            self._add_image(ImageBlock("raster", width, height, self.align, bytes(raw[8:])))
        elif kind == "GS ( k":
            self._two_d_code(raw)
        elif kind == "GS ( L" or kind == "GS 8 L":
            self._graphics(raw, 7 if kind == "GS 8 L" else 5)
        elif kind == "GS k":
            self.end_line(force=False)
            self.out.unknown.append((token.start, "GS k (barcode)"))
        elif kind.startswith("GS (") or kind.startswith("GS 8") or kind in _GS_KNOWN:
            pass  # barcode settings, status, density, macros...
        else:
            self.out.unknown.append((token.start, kind))

    def _two_d_code(self, raw: bytes) -> None:
        body = raw[5:]
        if len(body) < 2:
            return
        cn, fn = body[0], body[1]
        if cn != 49:  # not QR (PDF417 is 48, MaxiCode 50...)
            return
        if fn == 65 and len(body) >= 3:
            self.qr_model = {49: 1, 50: 2, 51: 3}.get(body[2], 2)
        elif fn == 67 and len(body) >= 3:
            self.qr_size = body[2]
        elif fn == 69 and len(body) >= 3:
            self.qr_ec = _EC.get(body[2], "?")
        elif fn == 80:
            self.qr_store = bytes(body[3:])
        elif fn == 81:
            self.end_line(force=False)
            if self.qr_store is None:
                self.out.warnings.append("QR print command without stored data")
                return
            self.out.items.append(QRCode(self.qr_store.decode("utf-8", errors="replace"), self.qr_size, self.qr_ec,
                                         self.qr_model, self.align, self.qr_store))

    def _graphics(self, raw: bytes, header: int) -> None:
        body = raw[header:]
        if len(body) < 2:
            return
        fn = body[1]
        if fn == 112 and len(body) >= 10:  # store: a bx by c xL xH yL yH d...
            width, height = _u16(body, 6), _u16(body, 8)
            self.graphics = (width, height, bytes(body[10:]))
        elif fn == 50:  # print the stored graphics
            if self.graphics is None:
                self.out.warnings.append("graphics print command without stored image")
                return
            width, height, bits = self.graphics
            self._add_image(ImageBlock("graphics", width, height, self.align, bits))


def decode(data: bytes, *, profile: str | None = None) -> Decoded:
    """Decode ESC/POS `data` as printed on a printer with python-escpos profile `profile`."""
    return _Interpreter(profile).run(bytes(data))


# -- text view ---------------------------------------------------------------------------------


def _cells(text: str) -> int:
    """Terminal cells `text` takes (wide CJK 2, combining marks 0)."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
               for ch in text)


def _place(text: str, columns: int, align: str, width: int) -> str:
    gap = max(width - columns, 0)
    if align == "center":
        return " " * (gap // 2) + text
    if align == "right":
        return " " * gap + text
    return text


def render_text(decoded: Decoded, width: int = 42) -> str:
    """The receipts as plain text, laid out on a line of `width` columns."""
    out: list[str] = []
    count = 0
    for item in decoded.items:
        if isinstance(item, JobStart):
            count += 1
            out.append(f"=== job {count} " + "=" * max(width - 9 - len(str(count)), 0))
        elif isinstance(item, Line):
            # Placed by terminal cells, not paper columns, so centred text looks centred here.
            out.append(_place(item.text, _cells(item.text), item.align, width).rstrip())
        elif isinstance(item, CutMark):
            label = " partial cut " if item.partial else " cut "
            out.append(("-" * ((width - len(label)) // 2) + label).ljust(width, "-"))
        elif isinstance(item, QRCode):
            text = f"[QR size {item.size} ec {item.ec}: {item.data}]"
            out.append(_place(text, len(text), item.align, width))
        elif isinstance(item, ImageBlock):
            text = f"[image {item.width}x{item.height}]"
            out.append(_place(text, len(text), item.align, width))
    if decoded.truncated:
        out.append("[data ends inside a command]")
    return "\n".join(out)


def _as_json(decoded: Decoded) -> dict[str, object]:
    items: list[dict[str, object]] = []
    for item in decoded.items:
        if isinstance(item, Line):
            items.append({"type": "line", "text": item.text, "align": item.align, "columns": item.columns,
                          "spans": [asdict(span) for span in item.spans]})
        elif isinstance(item, ImageBlock):
            items.append({"type": "image", "kind": item.kind, "width": item.width, "height": item.height,
                          "align": item.align})
        elif isinstance(item, QRCode):
            items.append({"type": "qr", "data": item.data, "size": item.size, "ec": item.ec, "model": item.model,
                          "align": item.align})
        elif isinstance(item, CutMark):
            items.append({"type": "cut", "partial": item.partial})
        elif isinstance(item, JobStart):
            items.append({"type": "job", "offset": item.offset})
    return {"items": items, "status_requests": decoded.status_requests,
            "unknown": [{"offset": o, "command": c} for o, c in decoded.unknown],
            "truncated": decoded.truncated, "warnings": decoded.warnings}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the receipts in an ESC/POS file as text."""
    parser = argparse.ArgumentParser(prog="python -m drivers.printer.escpos_decode",
                                     description="Show what an ESC/POS print file would print.")
    parser.add_argument("file", help="ESC/POS data, e.g. the file a file:// printer wrote ('-' for stdin)")
    parser.add_argument("--profile", default=None, help="python-escpos profile the data was made for")
    parser.add_argument("--width", type=int, default=42, help="characters per line (default 42)")
    parser.add_argument("--json", action="store_true", help="structured output")
    parser.add_argument("--last", type=int, default=0, metavar="N", help="only the last N jobs")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    decoded = decode(data, profile=args.profile)
    if args.last > 0:
        jobs = decoded.jobs()[-args.last:]
        decoded = Decoded(items=[item for job in jobs for item in job.items], truncated=decoded.truncated,
                          warnings=decoded.warnings)
    if args.json:
        print(json.dumps(_as_json(decoded), ensure_ascii=False, indent=2))
    else:
        print(render_text(decoded, max(args.width, 8)))
        for warning in decoded.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
