"""QR codes drawn with half blocks, for a phone to scan off the screen."""

from __future__ import annotations

import qrcode


def qr_text(data: str) -> str:
    """`data` as a QR code in text: two modules per character cell (upper/lower half)."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2]):
        # Dark modules are drawn as spaces on a light background, so the code scans on a dark screen too.
        line = "".join("█" if not a and not b else "▀" if not a else "▄" if not b else " " for a, b in zip(top, bottom))
        lines.append(line)
    return "\n".join(lines)
