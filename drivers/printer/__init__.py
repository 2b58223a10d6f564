"""Receipt printer: device-neutral documents printed as ESC/POS through python-escpos.

    printer = open_printer("tcp://192.168.1.50:9100?profile=TM-T88V", name="printer")
    printer.print_document(PrintDocument([Text("Central Park", align="center", bold=True), Cut()]))
    printer.status()        # -> DeviceHealth, checked live

URLs and options: see `drivers.printer.url`. Errors: see `drivers.printer.errors`.
The simulator (`drivers.printer.simulator`) and the decoder (`drivers.printer.escpos_decode`,
also `python -m drivers.printer.escpos_decode FILE`) make printing testable without paper.
python-escpos is imported only when a printer is opened, with its logging side effects undone.
"""

from __future__ import annotations

from drivers.health import HealthListener
from drivers.printer.document import QR, Block, Columns, Cut, Feed, PrintDocument, Rule, Text
from drivers.printer.errors import (
    CoverOpen,
    DocumentError,
    PaperOut,
    PrinterConfigError,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterTimeout,
)
from drivers.printer.printer import ReceiptPrinter
from drivers.printer.render import RenderOptions, RenderResult, Renderer, render_document
from drivers.printer.transport import (
    FileTransport,
    MemoryTransport,
    SerialTransport,
    TcpTransport,
    Transport,
    UsbTransport,
)
from drivers.printer.url import settings_from

__all__ = [
    "QR", "Block", "Columns", "Cut", "Feed", "PrintDocument", "Rule", "Text",
    "CoverOpen", "DocumentError", "PaperOut", "PrinterConfigError", "PrinterError", "PrinterFault",
    "PrinterOffline", "PrinterTimeout",
    "ReceiptPrinter", "RenderOptions", "RenderResult", "Renderer", "render_document", "open_printer",
]


def open_printer(url: str, *, name: str = "printer", profile: str | None = None, width: int | None = None,
                 cjk: str | None = None, font: str | None = None, timeout: float | None = None,
                 status_timeout: float | None = None, listener: HealthListener | None = None) -> ReceiptPrinter:
    """Build the printer for `url` (no connection is made until the first job or status check).

    Keyword arguments are defaults that options in the URL's query override. `width` defaults
    to the profile's characters per line, or 42. Raises PrinterConfigError for a malformed
    URL, an unknown profile or option, a missing font file, or a backend whose support is not
    installed.
    """
    settings = settings_from(url, profile=profile, width=width, cjk=cjk, font=font, timeout=timeout,
                             status_timeout=status_timeout)
    renderer = Renderer(RenderOptions(profile=settings.profile, width=settings.width, cjk=settings.cjk,
                                      font=settings.font))
    scheme, target, args = settings.url.scheme, settings.url.target, settings.transport_args
    transport: Transport
    if scheme == "tcp":
        transport = TcpTransport(target, settings.url.port or 9100)
    elif scheme == "serial":
        transport = SerialTransport(args["line"])
    elif scheme == "usb":
        transport = UsbTransport(args["vendor"], args["product"], in_ep=args["in_ep"], out_ep=args["out_ep"])
    elif scheme == "file":
        transport = FileTransport(target)
    else:
        from drivers.printer.simulator import PrinterModel

        transport = MemoryTransport(PrinterModel(args["state"]))
    return ReceiptPrinter(transport, renderer, name=name, url=url, timeout=settings.timeout,
                          status_timeout=settings.status_timeout, query_status=settings.query_status,
                          listener=listener)
