"""The serial line every serial device shares: one URL grammar (`url`), one way to open a
port (`port`), and one reader thread that keeps the port open, reconnecting with the one
back-off policy of `drivers.reconnect` (`reader`). See docs/drivers.md."""

from drivers.serialline.port import close_quietly, open_port
from drivers.serialline.reader import LineParams, LineProtocol, SerialLine
from drivers.serialline.url import (
    LINE_OPTIONS,
    LineSettings,
    LineURL,
    SerialURLError,
    UrlOptions,
    parse_line_url,
)

__all__ = [
    "LINE_OPTIONS",
    "LineParams",
    "LineProtocol",
    "LineSettings",
    "LineURL",
    "SerialLine",
    "SerialURLError",
    "UrlOptions",
    "close_quietly",
    "open_port",
    "parse_line_url",
]
