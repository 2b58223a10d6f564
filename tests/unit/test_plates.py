from console.domain.plates import match_plate, shape_key


def test_exact_match_wins() -> None:
    found = match_plate("AB1234C", ["AB1234C", "A81234C"])
    assert found[0].plate == "AB1234C" and found[0].exact


def test_reader_confusions_give_near_matches() -> None:
    assert [m.plate for m in match_plate("AB1234C", ["A81234C"])] == ["A81234C"]
    assert [m.plate for m in match_plate("KO5512", ["K05512", "KOS512", "XX0000"])] == ["K05512", "KOS512"]
    assert match_plate("K05512", ["KO5512"])[0].differences == 1


def test_other_differences_never_match() -> None:
    assert match_plate("AB1234C", ["AB1234D", "AB12345", "AB123C"]) == []


def test_near_matches_order_by_fewest_differences() -> None:
    found = match_plate("B0B1", ["808I", "B0BI"])
    assert [m.plate for m in found] == ["B0BI", "808I"]
    assert shape_key("B0B1") == shape_key("808I")
