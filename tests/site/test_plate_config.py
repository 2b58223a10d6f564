"""The site file's plate regions and home province: checked on start, key and allowed
values named; sites that say nothing read letters and digits as before."""

from __future__ import annotations

import pytest

from console.site.config import ConfigError, default_site, parse_site
from tests.conftest import site_text


def _with_site_keys(keys: str) -> str:
    text = site_text()
    assert 'currency = "EUR"\n' in text
    return text.replace('currency = "EUR"\n', f'currency = "EUR"\n{keys}\n', 1)


def _problems(keys: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_site(_with_site_keys(keys), "site.toml")
    return str(info.value).splitlines()


def test_sites_that_say_nothing_read_letters_and_digits() -> None:
    for config in (default_site(), parse_site(site_text(), "t.toml")):
        assert config.site.plate_regions == ("latin",)
        assert config.site.plate_province is None
        assert config.site.plates.normalize("b-ab 123") == "BAB123"


def test_regions_and_home_province_reach_the_plate_rules() -> None:
    config = parse_site(_with_site_keys('plate_regions = ["cn", "hk", "mo", "cn"]\nplate_province = "粤"'), "t.toml")
    assert config.site.plate_regions == ("cn", "hk", "mo")
    rules = config.site.plates
    assert rules.regions == ("cn", "hk", "mo") and rules.home_province == "粤"
    assert rules.normalize("粤B·D12345") == "粤BD12345"
    assert rules.province_candidates("")[0].abbreviation == "粤"
    assert config.site.plates is rules  # shared, not rebuilt per call


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ('plate_regions = ["cn", "tw"]', "site.plate_regions: unknown plate region 'tw' (allowed: cn, hk, mo, latin)"),
        ("plate_regions = []", "site.plate_regions: name at least one plate region (allowed: cn, hk, mo, latin)"),
        ('plate_regions = "cn"', "site.plate_regions: "),
        ('plate_regions = ["cn"]\nplate_province = "泸"', "site.plate_province: unknown province '泸'"),
        ('plate_province = "粤"', 'site: plate_province: 粤 is a mainland province, but "cn" is not among plate_regions'),
    ],
)
def test_bad_plate_settings_are_named(keys: str, words: str) -> None:
    problems = _problems(keys)
    assert any(words in p for p in problems), problems
