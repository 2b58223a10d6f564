"""A small Chinese site for the interface tests: a Guangzhou garage in CNY that reads
mainland, Hong Kong and Macau plates, with 粤 as its own province."""

from __future__ import annotations

from pathlib import Path

from console.site.config import SiteConfig, parse_site

TARIFF = Path(__file__).resolve().parents[2] / "tariffs" / "cn_guangzhou_onstreet.toml"
# A garage's tariff with a lost-ticket fee and fen in its prices (the on-street one has neither).
GARAGE_TARIFF = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cn_garage.toml"

CHINESE_SITE = f"""
[site]
name = "天河商业广场停车场"
booth_id = "booth-1"
timezone = "Asia/Shanghai"
currency = "CNY"
plate_regions = ["cn", "hk", "mo"]
plate_province = "粤"

[tariff]
file = "{TARIFF}"

[[zones]]
id = "B1"
name = "地下一层"
capacity = 200

[[lanes]]
id = "IN1"
name = "入口1"
direction = "entry"
zone = "B1"
gate = "sim://?timing=fast&rate=0"

[[lanes]]
id = "OUT1"
name = "出口1"
direction = "exit"
zone = "B1"
gate = "sim://?timing=fast"

[ui]
language = "zh-CN"
"""


def chinese_site(*, tariff: Path = TARIFF, extra: str = "") -> SiteConfig:
    """The Chinese test site; `tariff` replaces its tariff file, `extra` is appended TOML
    (a printer, say)."""
    return parse_site(CHINESE_SITE.replace(str(TARIFF), str(tariff)) + extra, "cn-test-site.toml")
