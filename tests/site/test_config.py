"""Site files: every problem named with its file and key, nothing half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.site.config import (
    ConfigError,
    default_site,
    default_site_text,
    load_site,
    parse_site,
)

GOOD = default_site_text()


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_site(text, "site.toml")
    lines = str(info.value).splitlines()
    assert all(line.startswith("site.toml: ") for line in lines)
    return lines


def test_embedded_default_is_the_simulated_site() -> None:
    site = default_site()
    assert [lane.direction for lane in site.lanes].count("entry") == 2
    assert [lane.direction for lane in site.lanes].count("exit") == 2
    assert [(z.id, z.capacity) for z in site.zones] == [("P1", 200)]


def test_not_toml() -> None:
    assert "not valid TOML" in _problems("[site\nname=")[0]


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (('timezone = "Europe/Berlin"', 'timezone = "Europe/Atlantis"'), "site.timezone", "unknown time zone"),
        (('currency = "EUR"', 'currency = "EURO"'), "site.currency", "unknown currency"),
        (("capacity = 200", "capacity = -5"), "zones[0].capacity", "greater than or equal"),
        (('direction = "exit"', 'direction = "out"'), "lanes[2].direction", "'entry' or 'exit'"),
        (('zone = "P1"\n# Device', 'zone = "P9"\n# Device'), "lanes[0].zone", "unknown zone 'P9'"),
        (('file = "default.toml"', 'file = "default.toml"\nfree_for_all = true'), "tariff.free_for_all", "unknown key"),
        (('name = "Riverside Garage"', "name = 7"), "site.name", "valid string"),
        (('id = "IN2"', 'id = "IN1"'), "lanes", "used twice"),
        # No lax coercions: a flag is not a number, a number is not a flag or a name.
        (("capacity = 200", "capacity = true"), "zones[0].capacity", "valid integer"),
        (("capacity = 200", 'capacity = "200"'), "zones[0].capacity", "valid integer"),
        (("capacity = 200", "capacity = 200.5"), "zones[0].capacity", "valid integer"),
        (('override_pin_above = "5.00"', 'override_pin_above = "abc"'), "operations.override_pin_above", "not an amount"),
        (('override_pin_above = "5.00"', 'override_pin_above = 5'), "operations.override_pin_above", "valid string"),
        (("members_enter_when_full = true", "members_enter_when_full = 1"), "operations.members_enter_when_full", "valid boolean"),
    ],
)
def test_each_bad_value_is_named(change: tuple[str, str], key: str, words: str) -> None:
    old, new = change
    assert old in GOOD
    problems = _problems(GOOD.replace(old, new, 1))
    assert any(key in p and words in p for p in problems), problems


def test_several_problems_are_all_reported() -> None:
    text = GOOD.replace('currency = "EUR"', 'currency = "XXX"').replace("capacity = 200", "capacity = -1")
    assert len(_problems(text)) == 2


def test_missing_sections() -> None:
    problems = _problems('[site]\nname = "x"\n')
    assert any("zones: required key is missing" in p for p in problems)
    assert any("lanes: required key is missing" in p for p in problems)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_site(tmp_path / "nope.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_site(binary)
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_site(folder)


def test_tariff_file_missing_or_invalid_stops_the_site(tmp_path: Path) -> None:
    missing = GOOD.replace('file = "default.toml"', 'file = "nowhere.toml"')
    assert "tariff.file: no tariff file 'nowhere.toml'" in _problems(missing)[0]
    bad = tmp_path / "bad.toml"
    bad.write_text('[tariff]\nid = "x"\nversion = 1\ncurrency = "EUR"\ntimezone = "Europe/Berlin"\n[windows.day]\nfrom = "00:00"\nto = "00:00"\n[classes.car.rates.day]\nunit = "0min"\nprice = "-1"\n')
    site = tmp_path / "site.toml"
    site.write_text(GOOD.replace('file = "default.toml"', 'file = "bad.toml"'))
    with pytest.raises(ConfigError) as info:
        load_site(site)  # relative names are found next to the site file
    text = str(info.value)
    assert "is not a valid tariff; the site was not started" in text
    assert "price" in text and "unit" in text


def test_tariff_in_another_currency_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(GOOD.replace('currency = "EUR"', 'currency = "USD"'))
    with pytest.raises(ConfigError, match="the tariff is in EUR, the site in USD"):
        load_site(site)


def test_shipped_default_tariff_is_active() -> None:
    assert default_site().active_tariff.tariff_id == "default@1"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("bogus://x", "unsupported lane device URL scheme 'bogus'"),
        ("/dev/ttyUSB0?baud=abc", "baud must be a whole number"),
        ("modbus-rtu:///dev/ttyUSB1?unit=zz", "unit must be a whole number"),
        ("sim://?rate=fast", "rate must be a number"),
        ("sim://?wire=usb", "unknown simulated wire"),
    ],
)
def test_bad_lane_device_url_is_named_before_anything_opens(tmp_path: Path, url: str, words: str) -> None:
    site_file = tmp_path / "site.toml"
    lines = GOOD.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("gate = "))
    lines[first] = f'gate = "{url}"'
    site_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(site_file)
    assert f"{site_file}: lanes[0].gate: " in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(("cloud", "key", "words"), [
    ('url = "http://cloud.example.com"', "cloud.url", "must use https"),
    ('url = "ftp://cloud.example.com"', "cloud.url", "not an http(s) URL"),
    ('url = "https://cloud.example.com"\nca_bundle = "/nowhere/ca.pem"', "cloud.ca_bundle", "is not a file"),
])
def test_a_cloud_the_token_must_not_use_stops_the_site_at_load(cloud: str, key: str, words: str) -> None:
    from tests.conftest import site_text

    with pytest.raises(ConfigError) as refused:
        parse_site(site_text(200, f"\n[cloud]\n{cloud}\n"), "site.toml")
    assert f"site.toml: {key}:" in str(refused.value) and words in str(refused.value)
    assert parse_site(site_text(200, '\n[cloud]\nurl = "http://127.0.0.1:8080/"\n'), "site.toml").cloud.url == "http://127.0.0.1:8080"
