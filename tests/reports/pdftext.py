"""A small PDF text reader for tests: enough to read back what fpdf2 writes.

It follows each page's font switches (`/F1 9 Tf`) and maps the glyph codes of every shown
string (`(...) Tj`) through that font's ToUnicode CMap, so it reads embedded, subset
TrueType text the way a PDF viewer's copy-and-paste would.
"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12,
            ord("("): 40, ord(")"): 41, ord("\\"): 92}


def _stream(body: bytes) -> bytes:
    match = _STREAM.search(body)
    assert match, "object has no stream"
    raw = match[1]
    return zlib.decompress(raw) if b"/FlateDecode" in body else raw


def _cmap(text: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping


def _literal(content: bytes, i: int) -> tuple[bytes, int]:
    """Read a PDF literal string starting after its "(", return its bytes and the index after ")"."""
    out = bytearray()
    depth = 1
    while True:
        c = content[i]
        if c == 92:  # backslash
            n = content[i + 1]
            if n in _ESCAPES:
                out.append(_ESCAPES[n])
                i += 2
            elif 48 <= n <= 55:
                digits = re.match(rb"[0-7]{1,3}", content[i + 1:i + 4])
                assert digits
                out.append(int(digits[0], 8) & 0xFF)
                i += 1 + len(digits[0])
            else:
                i += 2  # a line continuation or an unknown escape
            continue
        if c == 40:
            depth += 1
        elif c == 41:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1


def pdf_text(data: bytes) -> str:
    """Every shown string of every page, one per line, in drawing order."""
    objects = {int(m[1]): m[2] for m in _OBJ.finditer(data)}
    lines: list[str] = []
    pages = sorted(n for n, body in objects.items() if re.search(rb"/Type /Page\b", body))
    for page in pages:
        body = objects[page]
        resources = objects[int(re.search(rb"/Resources (\d+) 0 R", body)[1])]  # type: ignore[index]
        fonts: dict[bytes, dict[int, str]] = {}
        font_dict = re.search(rb"/Font\s*<<(.*?)>>", resources, re.S)
        if font_dict:
            for name, number in re.findall(rb"/(\w+) (\d+) 0 R", font_dict[1]):
                to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(number)])
                fonts[name] = _cmap(_stream(objects[int(to_unicode[1])])) if to_unicode else {}
        content = _stream(objects[int(re.search(rb"/Contents (\d+) 0 R", body)[1])])  # type: ignore[index]
        current: dict[int, str] = {}
        i = 0
        while i < len(content):
            switch = re.compile(rb"/(\w+) [\d.]+ Tf").match(content, i)
            if switch:
                current = fonts.get(switch[1], {})
                i = switch.end()
                continue
            if content[i] == 40:
                raw, i = _literal(content, i + 1)
                codes = [int.from_bytes(raw[k:k + 2], "big") for k in range(0, len(raw) - 1, 2)]
                lines.append("".join(current.get(code, "\ufffd") for code in codes))
                continue
            i += 1
    return "\n".join(lines)
