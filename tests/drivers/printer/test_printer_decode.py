"""The ESC/POS decoder: hand-made byte streams, python-escpos output, and hostile input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.document import QR, Columns, Cut, Feed, PrintDocument, Rule, Text
from drivers.printer.escpos_decode import (
    CutMark,
    JobStart,
    Tokenizer,
    decode,
    render_text,
    tokens,
)
from drivers.printer.render import Renderer, RenderOptions

ESC, GS = b"\x1b", b"\x1d"


def test_text_lines_alignment_and_styles() -> None:
    data = (ESC + b"@" + ESC + b"a\x01" + ESC + b"E\x01" + b"TITLE\n" + ESC + b"E\x00" + ESC + b"a\x00"
            + b"plain " + GS + b"!\x11" + b"BIG" + GS + b"!\x00" + b"\n")
    decoded = decode(data)
    first, second = decoded.lines
    assert (first.text, first.align, first.bold) == ("TITLE", "center", True)
    assert second.text == "plain BIG"
    assert [(s.text, s.width, s.height) for s in second.spans] == [("plain ", 1, 1), ("BIG", 2, 2)]
    assert second.columns == 6 + 3 * 2


def test_esc_bang_sets_bold_and_size_together() -> None:
    decoded = decode(ESC + b"!\x38" + b"X\n" + ESC + b"!\x00" + b"y\n")
    big, small = decoded.lines
    assert big.spans[0].bold and big.spans[0].width == 2 and big.spans[0].height == 2
    assert not small.spans[0].bold and small.size == 1


def test_code_pages_follow_esc_t() -> None:
    data = ESC + b"t\x00" + b"Caf\x82 " + ESC + b"t\x11" + b"\x86" + ESC + b"t\x10" + b"\x80\n"
    assert decode(data).text_lines == ["Café Ж€"]  # CP437, CP866, CP1252


def test_chinese_mode_decodes_gb18030_including_four_byte_sequences() -> None:
    text = "停车场 A 𠀀"  # the last one is a four-byte GB18030 sequence
    data = b"\x1c&" + text.encode("gb18030") + b"\x1c." + b"\n"
    line = decode(data).lines[0]
    assert line.text == text
    assert line.columns == 2 * 3 + 3 + 2


def test_bytes_outside_chinese_mode_are_not_read_as_chinese() -> None:
    data = "停".encode("gb18030") + b"\n"  # what python-escpos 3.1 sends on its own
    assert decode(data).text_lines != ["停"]


def test_qr_code_data_comes_from_the_store_command() -> None:
    payload = "https://pay.example.com/r/1?a=b&c=停".encode("utf-8")
    store = GS + b"(k" + bytes([len(payload) + 3, 0]) + b"1P0" + payload
    data = (ESC + b"a\x01" + GS + b"(k\x04\x001A2\x00" + GS + b"(k\x03\x001C\x07" + GS + b"(k\x03\x001E3"
            + store + GS + b"(k\x03\x001Q0")
    (qr,) = decode(data).qr_codes
    assert (qr.data, qr.size, qr.ec, qr.model, qr.align) == (payload.decode(), 7, "H", 2, "center")


def test_qr_print_without_data_is_a_warning_not_a_crash() -> None:
    decoded = decode(GS + b"(k\x03\x001Q0")
    assert decoded.qr_codes == [] and "without stored data" in decoded.warnings[0]


def test_cuts() -> None:
    data = b"a\n" + GS + b"V\x00" + b"b\n" + GS + b"V\x01" + GS + b"VA\x05" + GS + b"VB\x03" + ESC + b"i"
    assert [c.partial for c in decode(data).cuts] == [False, True, False, True, True]


def test_raster_image_size_and_bits() -> None:
    bits = bytes([0xFF, 0x00]) * 3
    data = GS + b"v0\x00\x02\x00\x03\x00" + bits + b"after\n"
    decoded = decode(data)
    (image,) = decoded.images
    assert (image.kind, image.width, image.height, image.bits) == ("raster", 16, 3, bits)
    assert decoded.text_lines == ["after"]


def test_column_image_stripes_make_one_image() -> None:
    stripe = ESC + b"*\x21\x04\x00" + bytes(12)
    data = ESC + b"3\x10" + stripe + b"\n" + stripe + b"\n" + ESC + b"2" + b"text\n"
    decoded = decode(data)
    assert [(i.kind, i.width, i.height) for i in decoded.images] == [("column", 4, 48)]
    assert decoded.text_lines == ["text"]


def test_graphics_store_and_print() -> None:
    body = b"0p" + b"0" + b"\x01\x01" + b"1" + b"\x08\x00\x02\x00" + b"\xaa\x55"
    data = GS + b"(L" + bytes([len(body), 0]) + body + GS + b"(L\x02\x0002"
    (image,) = decode(data).images
    assert (image.kind, image.width, image.height) == ("graphics", 8, 2)


def test_feeds_make_blank_lines() -> None:
    assert decode(b"a" + ESC + b"d\x02" + b"b\n").text_lines == ["a", "", "", "b"]


def test_status_requests_are_collected_not_printed() -> None:
    decoded = decode(b"\x10\x04\x01\x10\x04\x04ok\n")
    assert decoded.status_requests == [1, 4]
    assert decoded.text_lines == ["ok"]


def test_unknown_commands_and_truncated_data_are_reported() -> None:
    decoded = decode(b"x\n" + ESC + b"\x99" + b"y\n" + GS + b"v0\x00\x10\x00\x10\x00\x01\x02")
    assert decoded.text_lines == ["x", "y"]
    assert decoded.unknown == [(2, "ESC 0x99")]
    assert decoded.truncated and "ends inside a command" in decoded.warnings[0]


def test_jobs_split_at_initialise() -> None:
    decoded = decode(ESC + b"@" + b"one\n" + GS + b"V\x00" + ESC + b"@" + b"two\n" + GS + b"V\x00")
    jobs = decoded.jobs()
    assert [job.text_lines for job in jobs] == [["one"], ["two"]]
    assert all(isinstance(job.items[0], JobStart) and isinstance(job.items[-1], CutMark) for job in jobs)


def test_tokenizer_waits_for_the_rest_of_a_split_command() -> None:
    tokenizer = Tokenizer()
    assert [t.kind for t, _ in tokenizer.feed(b"ab\x10")] == ["text"]
    assert tokenizer.pending == 1
    assert [(t.kind, raw) for t, raw in tokenizer.feed(b"\x04")] == []
    assert [(t.kind, raw, t.start) for t, raw in tokenizer.feed(b"\x02cd")] == [
        ("DLE EOT", b"\x10\x04\x02", 2), ("text", b"cd", 5)]


def test_status_request_inside_image_data_is_not_a_request() -> None:
    bits = b"\x10\x04\x01" * 2
    assert [t.kind for t in tokens(GS + b"v0\x00\x01\x00\x06\x00" + bits)] == ["GS v"]


def test_render_text_view_aligns_and_marks_cut_and_qr() -> None:
    renderer = Renderer(RenderOptions(width=20))
    data = renderer.render(PrintDocument([Text("Hi", align="center"), Text("R", align="right"),
                                          QR("abc", size=3), Cut()])).data
    view = render_text(decode(data), width=20).splitlines()
    assert view[0].startswith("=== job 1")
    assert view[1] == " " * 9 + "Hi"
    assert view[2] == " " * 19 + "R"
    assert any("[QR size 3 ec M: abc]" in line for line in view)
    assert view[-1].strip("-") == " cut "


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    decoded = decode(data)
    render_text(decoded)
    assert isinstance(decoded.text_lines, list)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10", b"(k", b"v0", b"*", b"\x00", b"\xff", b"\x04",
                                 b"\n", b"A", b"\x1d(L", b"\x1dV", b"\x1d8L"]), max_size=60))
def test_command_soup_never_crashes_the_decoder(parts: list[bytes]) -> None:
    decode(b"".join(parts))


_printable = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
                     max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["text", "columns", "rule", "qr", "feed", "cut"]), _printable,
                          _printable), max_size=8))
def test_any_document_renders_and_decodes(blocks: list[tuple[str, str, str]]) -> None:
    built = []
    for kind, a, b in blocks:
        if kind == "text":
            built.append(Text(a))
        elif kind == "columns":
            built.append(Columns(a, b))
        elif kind == "rule":
            built.append(Rule())
        elif kind == "qr" and a:
            built.append(QR(a))
        elif kind == "feed":
            built.append(Feed(2))
        elif kind == "cut":
            built.append(Cut())
    renderer = _renderer()
    result = renderer.render(PrintDocument(built))
    decoded = decode(result.data)
    assert not decoded.unknown and not decoded.truncated
    assert [q.data for q in decoded.qr_codes] == [b.data for b in built if isinstance(b, QR)]
    assert len(decoded.cuts) == sum(isinstance(b, Cut) for b in built)
    for block in built:
        if isinstance(block, Text) and block.text.isascii() and block.text.strip() and len(block.text) <= 42 \
                and "\n" not in block.text:
            assert block.text.rstrip() in decoded.text_lines


_RENDERER: Renderer | None = None


def _renderer() -> Renderer:
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = Renderer(RenderOptions(cjk="gb18030"))
    return _RENDERER
