"""Sites for the screen-layout and snapshot tests: four lanes (two entries, two exits, as
the demo has), an e-bike pile with nothing plugged in, a fixed clock and instant simulated
barriers with no traffic of their own, in English (EUR, a German garage) and in Chinese
(CNY, a Guangzhou garage with mainland plates). Everything on screen is then decided by
the test, so a screen drawn twice is the same screen."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from console.domain.clock import FixedClock
from console.site.build import build_site
from console.site.config import SiteConfig, parse_site
from console.site.site import Site
from console.store.database import Store
from drivers.gate.simworld import Traffic

ROOT = Path(__file__).resolve().parents[2]
# A Monday morning; the exit comes 2 h 5 min after the entry.
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)

_LANES = {
    "en": [("IN1", "Entry 1", "entry"), ("IN2", "Entry 2", "entry"), ("OUT1", "Exit 1", "exit"), ("OUT2", "Exit 2", "exit")],
    "zh": [("IN1", "入口1", "entry"), ("IN2", "入口2", "entry"), ("OUT1", "出口1", "exit"), ("OUT2", "出口2", "exit")],
}

_HEAD = {
    "en": f"""
[site]
name = "Test Garage"
timezone = "Europe/Berlin"
currency = "EUR"

[tariff]
file = "{ROOT / 'tests' / 'fixtures' / 'hourly.toml'}"

[[zones]]
id = "P1"
name = "Deck"
capacity = 200

[ui]
language = "en"
""",
    "zh": f"""
[site]
name = "天河商业广场停车场"
timezone = "Asia/Shanghai"
currency = "CNY"
plate_regions = ["cn", "hk", "mo"]
plate_province = "粤"

[tariff]
file = "{ROOT / 'tariffs' / 'cn_guangzhou_onstreet.toml'}"

[[zones]]
id = "B1"
name = "地下一层"
capacity = 200

[ui]
language = "zh-CN"
""",
}

_CHARGING = """
[[charging.plans]]
id = "ebike-kwh"
basis = "energy"
rate = 150

[[charging.epiles]]
id = "EB1"
url = "sim://?plugged=0"
ports = 4
plan = "ebike-kwh"
"""

# The plate that enters and then waits at an exit, per language.
PLATE = {"en": "AB1234C", "zh": "粤BD12345"}
ZONE = {"en": "P1", "zh": "B1"}


def site_config(language: str, printer: Path | None = None) -> SiteConfig:
    """The four-lane site in `language` ("en" or "zh"), printing to the file `printer`."""
    text = _HEAD[language]
    if printer is not None:
        text += f'\n[printer]\nurl = "file://{printer}"\n'
    for lane_id, name, direction in _LANES[language]:
        text += (f'\n[[lanes]]\nid = "{lane_id}"\nname = "{name}"\ndirection = "{direction}"\n'
                 f'zone = "{ZONE[language]}"\ngate = "sim://?timing=fast&rate=0"\n')
    text += _CHARGING
    return parse_site(text, f"screens-{language}.toml")


def screen_site(store: Store, language: str, clock: FixedClock | None = None, printer: Path | None = None) -> Site:
    """The site built on `store` with a fixed clock at T0 and ann's drawer open."""
    site = build_site(site_config(language, printer), store, clock=clock or FixedClock(T0), traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")
    return site
