"""Four lane panels at 80x24 (Pilot, real site, real SQLite), in English and in Chinese
(double-width text): the barrier's state, the loop, the plate and the fee owed are drawn
whole, on lines of their own, in every state a lane can be in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.strip import Strip

from console.domain.clock import FixedClock
from console.i18n import _, set_language
from console.site.events import LaneSnapshot
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.widgets.lane_panel import GATE_STATES, HEALTH, LanePanel
from tests.ui.screen_sites import PLATE, T0, screen_site
from tests.ui.test_console_ui import until

LANGUAGES = {"en": "en", "zh": "zh_CN"}
OTHER_PLATE = {"en": "XY9876Z", "zh": "京A88888"}  # as stored; shown 京A·88888


def panel_lines(app: BoothApp, panel: LanePanel) -> list[str]:
    """What the screen shows inside the panel's border, row by row, cropped by cells."""
    region = panel.region
    strips = app.screen._compositor.render_strips()
    rows = strips[region.y + 1:region.bottom - 1]
    return [Strip.crop(strip, region.x + 1, region.right - 1).text.strip() for strip in rows]


def _whole(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_lane_state_plate_and_fee_are_whole_at_80x24(store, language: str) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(T0)
    site = screen_site(store, language, clock)
    set_language(LANGUAGES[language])
    try:
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.dashboard.site is not None)
            site.lanes.gates["IN1"].arrive(PLATE[language])  # type: ignore[attr-defined]
            await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
            clock.advance(hours=2, minutes=5)
            site.lanes.gates["OUT1"].arrive(PLATE[language])  # type: ignore[attr-defined]
            await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
            await pilot.press("escape")  # the vehicle keeps waiting; the dashboard shows it
            await until(pilot, lambda: app.screen is app.dashboard)

            panel = app.dashboard.query_one("#lane-OUT1", LanePanel)
            await until(pilot, lambda: panel.lane.pending is not None and panel.lane.health == "ok")
            lane = panel.lane
            assert lane.pending is not None
            due = str(lane.pending.due)
            plate = site.config.site.plates.display(PLATE[language])
            assert panel.region.bottom <= 24
            for other in app.dashboard.query(LanePanel).results(LanePanel):
                assert other.region.height == panel.region.height  # one row, one height

            def check(state: LaneSnapshot, *must: str) -> None:
                lines = panel_lines(app, panel)
                for text in (_(GATE_STATES[state.gate]), _("VEHICLE") if state.vehicle_present else _("free"), due, *must):
                    assert _whole(lines, text), f"{text!r} not whole in {lines}"

            check(lane, plate)

            # States harder to come by at a real lane, drawn by the same panel at the same size:
            # each keeps the gate, the loop, the plate and the fee whole.
            other = OTHER_PLATE[language]
            states = [
                replace(lane, health="offline"),
                replace(lane, gate="opening", health="degraded"),
                replace(lane, gate="unknown", health="connecting", status=_("barrier fault: {detail}").format(detail="E42 " * 8)),
                # Another plate read since the ticket: whose fee it is must show as well.
                replace(lane, last_plate=other, health="fault"),
            ]
            for state in states:
                panel.show(state)
                await pilot.pause()
                expected = [plate]
                if state.health != "ok":
                    expected.append(_(HEALTH[state.health]))
                if state.last_plate != lane.last_plate:
                    expected.append(site.config.site.plates.display(state.last_plate or ""))
                check(state, *expected)
                assert panel.region.bottom <= 24
    finally:
        set_language("en")


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_long_status_is_cut_last_and_says_so(store, language: str) -> None:  # type: ignore[no-untyped-def]
    site = screen_site(store, language)
    set_language(LANGUAGES[language])
    try:
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.dashboard.site is not None)
            panel = app.dashboard.query_one("#lane-IN1", LanePanel)
            await until(pilot, lambda: panel.lane.health == "ok")
            long_status = _("anti-passback: {plate} already inside").format(plate=PLATE[language]) * 4
            panel.show(replace(panel.lane, status=long_status, last_plate=PLATE[language], health="offline"))
            await pilot.pause()
            lines = panel_lines(app, panel)
            assert _whole(lines, _(GATE_STATES[panel.lane.gate])) and _whole(lines, _(HEALTH["offline"]))
            assert any("…" in line for line in lines)  # what did not fit is marked, not silently dropped
    finally:
        set_language("en")


async def test_the_lock_screen_panels_keep_every_line_at_80x24(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(T0)
    site = screen_site(store, "zh", clock)
    set_language("zh_CN")
    try:
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.dashboard.site is not None)
            site.lanes.gates["IN1"].arrive(PLATE["zh"])  # type: ignore[attr-defined]
            await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
            clock.advance(hours=2, minutes=5)
            site.lanes.gates["OUT1"].arrive(PLATE["zh"])  # type: ignore[attr-defined]
            await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
            due = str(app.screen.ticket.due)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)
            height = app.dashboard.query_one("#lane-OUT1", LanePanel).region.height
            await pilot.press("ctrl+l")
            await until(pilot, lambda: app.screen.id == "sign-in")
            panel = app.screen.query_one("#lane-OUT1", LanePanel)
            await until(pilot, lambda: panel.lane.pending is not None)
            panel.show(replace(panel.lane, health="degraded"))  # the sixth line: the device's health
            await pilot.pause()
            assert panel.region.height == height
            lines = panel_lines(app, panel)
            for text in (_("CLOSED"), _("VEHICLE"), due, _("degraded")):
                assert _whole(lines, text), f"{text!r} not whole in {lines}"
    finally:
        set_language("en")
