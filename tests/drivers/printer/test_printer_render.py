"""Rendering documents to ESC/POS: exact bytes for small documents, layout, text encodings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer import open_printer
from drivers.printer.document import QR, Columns, Cut, Feed, PrintDocument, Rule, Text
from drivers.printer.errors import DocumentError, PrinterConfigError
from drivers.printer.escpos_decode import decode
from drivers.printer.layout import Route, clean_text, wrap
from drivers.printer.render import Renderer, RenderOptions, render_document

REPO = Path(__file__).resolve().parents[3]
INIT = b"\x1b@"
CP437 = b"\x1bt\x00"
CUT = b"\x1bd\x06\x1dV\x00"


def doc(*blocks: object) -> PrintDocument:
    return PrintDocument(list(blocks))  # type: ignore[arg-type]


def test_plain_line_and_cut_exact_bytes() -> None:
    result = render_document(doc(Text("Hello"), Cut()))
    assert result.data == INIT + CP437 + b"Hello\n" + CUT
    assert result.warnings == () and result.substituted == 0


def test_styles_are_sent_only_when_they_change() -> None:
    data = render_document(doc(Text("Hi", align="center", bold=True, size=2), Text("Hi", align="center", bold=True,
                                                                                     size=2), Text("x"))).data
    center, big, bold = b"\x1ba\x01", b"\x1d!\x11", b"\x1bE\x01"
    left, normal, plain = b"\x1ba\x00", b"\x1d!\x00", b"\x1bE\x00"
    assert data == INIT + center + big + bold + CP437 + b"Hi\n" + b"Hi\n" + left + normal + plain + b"x\n"


def test_columns_fill_to_the_width() -> None:
    data = render_document(doc(Columns("Total", "12.00", fill="."), Columns("Cash", "20.00")),
                           RenderOptions(width=20)).data
    assert data == INIT + CP437 + b"Total ........ 12.00\n" + b"Cash           20.00\n"


def test_native_qr_exact_bytes() -> None:
    data = render_document(doc(QR("abc", size=4))).data
    k = b"\x1d(k"
    assert data == (INIT + b"\x1ba\x01" + k + b"\x04\x001A2\x00" + k + b"\x03\x001C\x04" + k + b"\x03\x001E1"
                    + k + b"\x06\x001P0abc" + k + b"\x03\x001Q0")


def test_feed_rule_and_partial_cut() -> None:
    data = render_document(doc(Rule("="), Feed(3), Cut(partial=True)), RenderOptions(width=16)).data
    assert data == INIT + CP437 + b"=" * 16 + b"\n" + b"\x1bd\x03" + b"\x1bd\x06\x1dV\x01"


def test_chinese_text_uses_chinese_mode_with_gb18030() -> None:
    data = render_document(doc(Text("停车 A1"))).data
    assert data == INIT + b"\x1c&" + "停车 A1".encode("gb18030") + b"\x1c." + CP437 + b"\n"


def test_codepage_text_turns_chinese_mode_off_first() -> None:
    # Printers that power up in Chinese mode would read 0x82 as half a Chinese character.
    data = render_document(doc(Text("Café"))).data
    assert data == INIT + b"\x1c." + CP437 + b"Caf\x82\n"
    assert render_document(doc(Text("Café")), RenderOptions(cjk="none")).data == INIT + CP437 + b"Caf\x82\n"


def test_code_page_switches_for_cyrillic() -> None:
    result = render_document(doc(Text("Ж")), RenderOptions(cjk="none"))
    assert result.data == INIT + b"\x1bt\x11" + bytes([0x86]) + b"\n"  # CP866 is page 17 on the default profile
    assert decode(result.data).text_lines == ["Ж"]


def test_mixed_scripts_round_trip_through_the_decoder() -> None:
    text = "停车场·东区 Café Ж №5 €3"
    result = render_document(doc(Text(text)))
    assert result.substituted == 0
    assert decode(result.data).text_lines == [text]


def test_wide_characters_count_two_columns_when_wrapping() -> None:
    lines = decode(render_document(doc(Text("停车场" * 10)), RenderOptions(width=20)).data).text_lines
    assert lines == ["停车场停车场停车场停", "车场停车场停车场停车", "场停车场停车场停车场"]


def test_long_text_wraps_at_words() -> None:
    lines = decode(render_document(doc(Text("Thank you for parking with us today, drive safely")),
                                   RenderOptions(width=20)).data).text_lines
    assert lines == ["Thank you for", "parking with us", "today, drive safely"]
    assert all(len(line) <= 20 for line in lines)


def test_double_size_text_wraps_at_half_width() -> None:
    lines = decode(render_document(doc(Text("ABCDEFGHIJKLMNOP", size=2)), RenderOptions(width=20)).data).lines
    assert [line.text for line in lines] == ["ABCDEFGHIJ", "KLMNOP"]
    assert lines[0].size == 2 and lines[0].columns == 20


def test_columns_that_do_not_fit_wrap_the_label_and_keep_the_value_right() -> None:
    lines = decode(render_document(doc(Columns("Validation from the shopping mall ground floor", "-3.00")),
                                   RenderOptions(width=24)).data).text_lines
    assert lines[-1].endswith("-3.00") and len(lines[-1]) == 24
    assert " ".join(line.strip() for line in lines).replace(" -3.00", "").split() == \
        "Validation from the shopping mall ground floor".split()


def test_characters_nothing_can_print_become_question_marks_with_a_warning() -> None:
    result = render_document(doc(Text("Zone ﷺ")), RenderOptions(cjk="none"))
    assert decode(result.data).text_lines == ["Zone ?"]
    assert result.substituted == 1
    assert "ﷺ" in result.warnings[0] and "'?'" in result.warnings[0]


def test_cjk_none_prints_question_marks_and_says_so() -> None:
    result = render_document(doc(Text("停车场")), RenderOptions(cjk="none"))
    assert decode(result.data).text_lines == ["???"]
    assert result.substituted == 3 and "cjk=gb18030" in result.warnings[0]


def test_control_characters_never_reach_the_printer() -> None:
    result = render_document(doc(Text("A\x1b@B\tC\x07")))
    decoded = decode(result.data)
    assert decoded.text_lines == ["A?@B C?"]
    assert len([i for i in decoded.items if type(i).__name__ == "JobStart"]) == 1
    assert result.substituted == 2


def test_text_without_code_page_is_drawn_as_an_image_with_a_font() -> None:
    # Esperanto letters are in no code page of the default profile but in DejaVu Sans Mono,
    # which python-barcode ships (so this holds on every machine).
    renderer = Renderer(RenderOptions(width=42))
    result = renderer.render(doc(Text("Ĉu ĝi?"), Text("plain")))
    decoded = decode(result.data)
    assert result.image_lines == 1 and result.substituted == 0
    assert [(i.kind, i.width, i.height) for i in decoded.images] == [("raster", 504, 30)]
    assert decoded.text_lines == ["plain"]
    # the image really has ink on it
    assert any(decoded.images[0].bits)


def test_image_mode_without_a_cjk_font_degrades_to_question_marks(tmp_path: Path) -> None:
    renderer = Renderer(RenderOptions(cjk="image"))
    if renderer.fonts.font_for("停"):
        pytest.skip("this machine has a CJK font")
    result = renderer.render(doc(Text("停车 OK")))
    assert result.substituted == 2
    assert "font=" in result.warnings[0]
    rendered = decode(result.data)
    assert rendered.text_lines == ["?? OK"] or len(rendered.images) == 1


def test_profile_without_native_qr_prints_the_qr_as_an_image() -> None:
    result = render_document(doc(QR("https://example.com/r/1", size=4)), RenderOptions(profile="POS-5890"))
    decoded = decode(result.data, profile="POS-5890")
    assert decoded.qr_codes == []
    assert len(decoded.images) == 1 and decoded.images[0].width <= 384


def test_image_qr_can_be_read_back() -> None:
    np = pytest.importorskip("numpy")
    cv2 = pytest.importorskip("cv2")
    result = render_document(doc(QR("R-000123", size=6)), RenderOptions(profile="POS-5890"))
    image = decode(result.data).images[0]
    row = (image.width + 7) // 8
    bits = np.unpackbits(np.frombuffer(image.bits, dtype=np.uint8)).reshape(image.height, row * 8)
    pixels = np.where(bits[:, : image.width] == 1, 0, 255).astype(np.uint8)
    pixels = cv2.copyMakeBorder(pixels, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(pixels)
    assert text == "R-000123"


def test_qr_too_big_for_the_paper_is_shrunk_with_a_warning() -> None:
    result = render_document(doc(QR("x" * 1000, size=16)))
    qr = decode(result.data).qr_codes[0]
    assert qr.data == "x" * 1000 and qr.size < 16
    assert "does not fit" in result.warnings[0]


def test_profile_sets_the_width() -> None:
    assert Renderer(RenderOptions(profile="TM-T20II")).width == 48
    assert Renderer(RenderOptions(profile="TM-T20II", width=42)).width == 42
    assert Renderer(RenderOptions()).width == 42


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(PrinterConfigError, match="unknown printer profile"):
        Renderer(RenderOptions(profile="TM-NOPE"))


def test_rendering_a_non_document_is_a_document_error() -> None:
    with pytest.raises(DocumentError) as info:
        Renderer().render("hello")  # type: ignore[arg-type]
    assert info.value.retryable is False


def test_dummy_backend_receives_exactly_the_rendered_bytes() -> None:
    printer = open_printer("dummy://?status=none")
    document = doc(Text("Hello"), Cut())
    printer.print_document(document)
    assert printer.transport.output == printer.render(document).data  # type: ignore[attr-defined]


def test_importing_the_driver_leaves_logging_and_stdout_alone(tmp_path: Path) -> None:
    script = (
        "import logging, sys\n"
        "import drivers.printer as p\n"
        "assert 'escpos' not in sys.modules, 'escpos imported eagerly'\n"
        "assert 'textual' not in sys.modules\n"
        "pr = p.open_printer('dummy://', profile='default')\n"
        "pr.print_document(p.PrintDocument([p.Text('x'), p.QR('y'), p.Text('Ĉ'), p.Cut()]))\n"
        "assert 'escpos' in sys.modules\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "print('ok')\n"
    )
    env = {**os.environ, "ESCPOS_CAPABILITIES_PICKLE_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "ok\n"  # escpos printed nothing of its own
    assert out.stderr == ""
    assert list(tmp_path.glob("*.capabilities.pickle"))  # the pickle went where we said


ROUTER = Renderer().router


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab cd停车场·é\n")), max_size=80), st.integers(min_value=2, max_value=30))
def test_wrapped_lines_fit_and_keep_every_character(text: str, width: int) -> None:
    router = ROUTER
    lines = wrap(text, width, router.columns)
    assert all(router.measure(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_unprintable_fill_and_rule_characters_fall_back_visibly() -> None:
    result = render_document(doc(Columns("Fee", "12.00", fill="・"), Rule("😀")), RenderOptions(width=20))
    assert decode(result.data).text_lines == ["Fee .......... 12.00", "-" * 20]
    assert len(result.warnings) == 2


TEXT_ONLY = Renderer(RenderOptions(cjk="none"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_every_character_prints_as_itself_or_as_a_reported_question_mark(text: str) -> None:
    result = TEXT_ONLY.render(doc(Text(text)))
    printed = "".join(decode(result.data).text_lines).replace(" ", "")
    router = TEXT_ONLY.router
    expected = "".join(c if router.route(c) is Route.CODEPAGE else "?" for c in clean_text(text) if c != "\n")
    assert printed == expected.replace(" ", "")
    assert printed.count("?") == text.count("?") + result.substituted


CHINESE = Renderer(RenderOptions(cjk="gb18030"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                                  st.sampled_from(list("AZaz09 -.,:¥é"))), max_size=60))
def test_chinese_text_round_trips_in_chinese_mode(text: str) -> None:
    result = CHINESE.render(doc(Text(text)))
    assert result.substituted == 0 and result.image_lines == 0
    assert "".join(decode(result.data).text_lines).replace(" ", "") == text.replace(" ", "")
