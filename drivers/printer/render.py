"""Turn a `PrintDocument` into ESC/POS bytes with python-escpos.

Rendering is pure: no device is touched, so it is tested byte for byte and a job can be
rendered before the printer is opened. Every job starts with ESC @ (initialise), so a job
never inherits bold, size or alignment from an earlier one that was cut short.

Text goes through escpos' code-page handling, except two things escpos 3.1 gets wrong for
us: it sends any line holding a Chinese character as raw GB18030 without switching the
printer to its Chinese mode (mojibake on most printers), and it silently prints "?" for what
no code page holds. Here Chinese text is wrapped in FS & ... FS . (Chinese mode on / off),
text that nothing can print natively is drawn as an image when a font covers it, and every
"?" that remains is reported in `RenderResult.warnings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.printer import _escpos
from drivers.printer.document import QR, Columns, Cut, Feed, PrintDocument, Rule, Text
from drivers.printer.errors import DocumentError, PrinterConfigError
from drivers.printer.fonts import CELL_WIDTH, FallbackFonts, ImagePiece, font_covers
from drivers.printer.layout import CJK_MODES, Route, TextRouter, clean_text, column_lines, pad_columns, wrap

FS = b"\x1c"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."

DEFAULT_WIDTH = 42


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render for one printer.

    profile: a python-escpos profile name (None = escpos' "default").
    width: characters per line in the normal font (None = the profile's, else 42).
    cjk: what to do with text no code page of the profile holds:
        "gb18030": CJK in the printer's GB18030 Chinese mode, the rest drawn as an image;
        "image": all of it drawn as an image with a font (for printers without Chinese fonts);
        "none": print "?" (text only, no images).
        Whatever cannot be printed the chosen way becomes "?" and is reported.
    font: a TrueType/OpenType file for text drawn as an image.
    pixels: printable width in dots (None = the profile's, else width x 12).
    """

    profile: str | None = None
    width: int | None = None
    cjk: str = "gb18030"
    font: str | None = None
    pixels: int | None = None


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The bytes of one job and what had to be changed to print it."""

    data: bytes
    warnings: tuple[str, ...] = ()
    substituted: int = 0  # characters printed as "?"
    image_lines: int = 0  # lines sent as pictures


@dataclass(slots=True)
class _Job:
    """Per-job state: the escpos Dummy collecting bytes and the printer's current modes."""

    printer: object
    align: str = "left"
    bold: bool = False
    size: int = 1
    warnings: list[str] = field(default_factory=list)
    substituted: int = 0
    image_lines: int = 0


class Renderer:
    """Renders documents for one printer configuration. Reusable and thread-safe."""

    def __init__(self, options: RenderOptions | None = None) -> None:
        options = options or RenderOptions()
        if options.cjk not in CJK_MODES:
            raise PrinterConfigError(f"cjk must be one of {', '.join(CJK_MODES)}, not {options.cjk!r}")
        try:
            self.profile = _escpos.profile_info(options.profile)
        except KeyError:
            raise PrinterConfigError(
                f"unknown printer profile {options.profile!r}; known profiles: {', '.join(_escpos.profile_names())}"
            ) from None
        self.width = options.width or (self.profile.columns if options.profile else DEFAULT_WIDTH)
        if not 16 <= self.width <= 96:
            raise PrinterConfigError(f"width must be 16-96 characters, not {self.width}")
        pixels = options.pixels or self.profile.pixels or self.width * CELL_WIDTH
        self.pixels = min(pixels, self.profile.pixels) if self.profile.pixels else pixels
        self.cjk = options.cjk
        self.fonts = FallbackFonts(options.font)
        codepage_chars: set[str] = set()
        for name in set(self.profile.code_pages.values()):
            table = _escpos.code_page_table(name)
            if table:
                codepage_chars.update(ch for ch in table if ch != "\ufffd")
        self.router = TextRouter(codepage_chars, self.cjk)
        self._profile_data = _escpos.profile_data(options.profile, self.pixels)
        features = self.profile.features
        self.native_qr = "qrCode" in features
        self.image_impl = next(
            (impl for impl in ("bitImageRaster", "graphics", "bitImageColumn") if impl in features), "bitImageRaster"
        )
        self.can_cut = bool({"paperFullCut", "paperPartCut"} & features)

    # -- public -------------------------------------------------------------------------

    def render(self, doc: PrintDocument) -> RenderResult:
        """ESC/POS bytes for `doc`. Raises DocumentError for what cannot print at all."""
        if not isinstance(doc, PrintDocument):
            raise DocumentError(f"expected a PrintDocument, not {type(doc).__name__}")
        job = _Job(printer=_escpos.new_dummy(self.profile.name, self._profile_data))
        p = job.printer
        p.hw("INIT")  # type: ignore[attr-defined]
        if self.cjk == "gb18030" and self._needs_single_byte_mode(doc):
            # Many printers sold in China power up in Chinese mode, where code-page bytes
            # above 0x7F would be read as halves of Chinese characters.
            p._raw(CHINESE_OFF)  # type: ignore[attr-defined]
        for block in doc.blocks:
            if isinstance(block, Text):
                self._text(job, block)
            elif isinstance(block, Columns):
                self._columns(job, block)
            elif isinstance(block, Rule):
                self._rule(job, block)
            elif isinstance(block, QR):
                self._qr(job, block)
            elif isinstance(block, Feed):
                if block.lines:
                    p.print_and_feed(block.lines)  # type: ignore[attr-defined]
            elif isinstance(block, Cut):
                # A profile without a cutter only gets the feed (the paper is torn off).
                p.cut(mode="PART" if block.partial else "FULL")  # type: ignore[attr-defined]
        return RenderResult(p.output, tuple(job.warnings), job.substituted, job.image_lines)  # type: ignore[attr-defined]

    # -- blocks -------------------------------------------------------------------------

    def _text(self, job: _Job, block: Text) -> None:
        text = clean_text(block.text)
        width = self.width // block.size
        for line in wrap(text, width, self.router.columns):
            self._line(job, [ImagePiece(line, block.align)], align=block.align, bold=block.bold,
                       size=block.size, fill=" ", what="text")

    def _columns(self, job: _Job, block: Columns) -> None:
        left, right = clean_text(block.left).replace("\n", " "), clean_text(block.right).replace("\n", " ")
        fill = clean_text(block.fill) or " "
        if self.router.route(fill) not in (Route.CODEPAGE, Route.GB):
            job.warnings.append(f"columns: fill character {fill!r} cannot be printed as text; '.' used")
            fill = "."
        for lpart, rpart in column_lines(left, right, self.width, fill, self.router.measure, self.router.columns):
            pieces = [ImagePiece(lpart, "left")] + ([ImagePiece(rpart, "right")] if rpart else [])
            self._line(job, pieces, align="left", bold=block.bold, size=1, fill=fill, what="columns")

    def _rule(self, job: _Job, block: Rule) -> None:
        char = clean_text(block.char) or "-"
        if self.router.route(char) not in (Route.CODEPAGE, Route.GB):
            job.warnings.append(f"rule: character {char!r} cannot be printed as text; '-' used")
            char = "-"
        count = max(self.width // max(self.router.columns(char), 1), 1)
        self._line(job, [ImagePiece(char * count, "left")], align="left", bold=False, size=1, fill=" ", what="rule")

    def _qr(self, job: _Job, block: QR) -> None:
        import qrcode

        qr_ec_m = _escpos.escpos()["constants"].QR_ECLEVEL_M
        # Only the symbol's size is needed here (to fit the paper): best_fit() finds the
        # version without building the matrix, which is most of the cost of a receipt.
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(block.data)
        try:
            version = code.best_fit()
        except Exception as exc:  # noqa: BLE001 - qrcode raises DataOverflowError and friends
            raise DocumentError(f"QR data cannot be encoded: {exc}") from None
        modules = version * 4 + 17 + 2  # with a one-module quiet zone on each side
        size = min(block.size, self.pixels // modules)
        if size < 1:
            raise DocumentError(f"QR code of {modules} modules does not fit {self.pixels} dots of paper")
        if size < block.size:
            job.warnings.append(f"QR size {block.size} does not fit the paper; printed at size {size}")
        self._mode(job, align=block.align)
        p = job.printer
        if self.native_qr:
            p.qr(block.data, ec=qr_ec_m, size=size, native=True)  # type: ignore[attr-defined]
        else:
            p.qr(block.data, ec=qr_ec_m, size=size, native=False,  # type: ignore[attr-defined]
                 image_arguments={"impl": self.image_impl, "center": block.align == "center"})

    # -- lines --------------------------------------------------------------------------

    def _line(self, job: _Job, pieces: list[ImagePiece], *, align: str, bold: bool, size: int, fill: str,
              what: str) -> None:
        """Print one laid-out line, natively when possible, else as an image, else with "?"."""
        route = self.router.route
        text = "".join(piece.text for piece in pieces)
        if any(route(ch) is Route.MISSING for ch in text):
            missing = sum(1 for ch in text if route(ch) is Route.MISSING)
            pieces = [ImagePiece("".join("?" if route(ch) is Route.MISSING else ch for ch in piece.text), piece.align)
                      for piece in pieces]
            text = "".join(piece.text for piece in pieces)
            job.substituted += missing
            job.warnings.append(f"{what}: {missing} control character(s) printed as '?'")
        unprintable = [ch for ch in text if route(ch) is Route.IMAGE]
        if unprintable:
            font = self.fonts.font_for(text) if self.cjk != "none" else None
            covered = set(unprintable) if font else set()
            if font is None and self.cjk != "none":
                font, covered = self.fonts.best_for("".join(unprintable))
                if font is not None and not font_covers(font, "".join(ch for ch in text if route(ch) is not Route.IMAGE)):
                    font, covered = None, set()
            lost = [ch for ch in unprintable if ch not in covered]
            if lost:
                pieces = [ImagePiece("".join("?" if ch in lost else ch for ch in piece.text), piece.align)
                          for piece in pieces]
                job.substituted += len(lost)
                shown = "".join(dict.fromkeys(lost))
                if self.cjk == "none":
                    advice = "use cjk=gb18030 for a printer with Chinese fonts, or cjk=image with font="
                else:
                    advice = "set font= to a font file that has them"
                    if self.cjk == "image":
                        advice += ", or use cjk=gb18030 for a printer with Chinese fonts"
                job.warnings.append(
                    f"{what}: {len(lost)} character(s) {shown!r} cannot be printed on profile "
                    f"{self.profile.name!r} with cjk={self.cjk}; printed as '?' ({advice})"
                )
            if font is not None and covered:
                self._image_line(job, pieces, font=font, bold=bold, size=size, fill=fill)
                return
        if len(pieces) == 1:
            line = pieces[0].text
            self._mode(job, align=align, bold=bold, size=size)
        else:
            line = pad_columns(pieces[0].text, pieces[1].text, self.width, fill, self.router.measure)
            self._mode(job, align="left", bold=bold, size=size)
        self._write_text(job, line)
        job.printer.text("\n")  # type: ignore[attr-defined]

    def _write_text(self, job: _Job, line: str) -> None:
        """Send `line`: Chinese runs in Chinese mode, the rest through escpos' code pages."""
        p = job.printer
        run: list[str] = []
        run_gb = False

        def flush() -> None:
            if not run:
                return
            chunk = "".join(run)
            if run_gb:
                p._raw(CHINESE_ON + chunk.encode("gb18030") + CHINESE_OFF)  # type: ignore[attr-defined]
            else:
                p.text(chunk)  # type: ignore[attr-defined]
            run.clear()

        for ch in line:
            route = self.router.route(ch)
            if route not in (Route.CODEPAGE, Route.GB):  # the callers prevent this; never send it blind
                job.substituted += 1
                job.warnings.append(f"character {ch!r} cannot be printed as text; printed as '?'")
                ch, route = "?", Route.CODEPAGE
            is_gb = route is Route.GB
            if ch.isascii() and run:  # ASCII is single-byte in either mode: keep the run going
                run.append(ch)
                continue
            if is_gb != run_gb:
                flush()
                run_gb = is_gb
            run.append(ch)
        flush()

    def _image_line(self, job: _Job, pieces: list[ImagePiece], *, font: str, bold: bool, size: int, fill: str) -> None:
        image = self.fonts.render_line(pieces, font_path=font, width_px=self.pixels, size=size, bold=bold, fill=fill)
        self._mode(job, align="left")
        job.printer.image(image, impl=self.image_impl, center=False)  # type: ignore[attr-defined]
        job.image_lines += 1

    def _mode(self, job: _Job, *, align: str | None = None, bold: bool | None = None, size: int | None = None) -> None:
        """Send only the mode changes the printer needs. GS ! sets the size of all characters,
        Chinese included (ESC ! would leave Chinese text at normal size)."""
        p = job.printer
        if align is not None and align != job.align:
            p.set(align=align)  # type: ignore[attr-defined]
            job.align = align
        if size is not None and size != job.size:
            p.set(custom_size=True, width=size, height=size)  # type: ignore[attr-defined]
            job.size = size
        if bold is not None and bold != job.bold:
            p.set(bold=bold)  # type: ignore[attr-defined]
            job.bold = bold

    def _needs_single_byte_mode(self, doc: PrintDocument) -> bool:
        for block in doc.blocks:
            texts: tuple[str, ...] = ()
            if isinstance(block, Text):
                texts = (block.text,)
            elif isinstance(block, Columns):
                texts = (block.left, block.right)
            elif isinstance(block, Rule):
                texts = (block.char,)
            for text in texts:
                if any(not ch.isascii() and self.router.route(ch) is Route.CODEPAGE for ch in text):
                    return True
        return False

    def font_covers(self, text: str) -> bool:
        """Whether an image font is available for all of `text` (used by diagnostics)."""
        return any(font_covers(path, text) for path in self.fonts.candidates())


def render_document(doc: PrintDocument, options: RenderOptions | None = None) -> RenderResult:
    """Render `doc` once (a `Renderer` is cheaper when rendering many documents)."""
    return Renderer(options).render(doc)
