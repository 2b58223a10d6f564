"""The fee lines and refusals the site writes itself, in a Chinese site's words and dates:
an earlier unpaid exit added to the fee ("2026-03-02 欠费（…）") and a double exit
("已于 03-02 18:05 离场"), with the plate as it is written."""

from __future__ import annotations

from typing import Iterator

import pytest

from console.i18n import set_language
from console.site.build import build_site
from console.site.errors import AlreadyLeft
from console.site.events import ExitPending
from console.store import visits
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder
from tests.ui.chinese_site import GARAGE_TARIFF, chinese_site


@pytest.fixture
def site(store, clock) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    set_language("zh_CN")
    site = build_site(chinese_site(tariff=GARAGE_TARIFF), store, clock=clock, traffic=Traffic(seed=4))
    site.recorder = Recorder()  # type: ignore[attr-defined]
    site.bus.subscribe(site.recorder)  # type: ignore[attr-defined]
    site.start()
    site.staff.open_shift("ann", "0")
    try:
        yield site
    finally:
        site.stop()
        set_language("en")


def _waiting(site, clock, plate: str, minutes: int):  # type: ignore[no-untyped-def]
    rec = site.recorder
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)
    clock.advance(minutes=minutes)
    before = len(rec.of(ExitPending))
    site.lanes.gates["OUT1"].arrive(plate)
    rec.wait_for(lambda: len(rec.of(ExitPending)) > before)
    return rec.of(ExitPending)[-1].ticket


def test_an_earlier_debt_is_a_fee_line_with_its_chinese_day(site, clock) -> None:  # type: ignore[no-untyped-def]
    ticket = _waiting(site, clock, "粤BD12345", 125)  # 16:00-18:05 Shanghai: ¥12.50
    site.desk.unpaid_exit(ticket.id, reason="没带钱", actor="ann")
    clock.advance(days=1)
    again = _waiting(site, clock, "粤BD12345", 20)  # 2.50 now + 12.50 owed
    assert again.due.minor == 1500
    labels = [item.label for item in again.quote.items]
    assert "2026-03-02 欠费（没带钱）" in labels, labels


def test_a_double_exit_says_when_in_chinese(site, clock) -> None:  # type: ignore[no-untyped-def]
    ticket = _waiting(site, clock, "粤BD12345", 125)
    site.desk.pay_cash(ticket.id, "20", attendant="ann")
    clock.advance(minutes=3)
    with pytest.raises(AlreadyLeft) as refused:
        site.exits.open_exit("OUT1", "粤B D12345")
    assert str(refused.value) == "粤B·D12345 已于 03-02 18:05 离场：重复出场"


def test_a_changed_fee_is_a_chinese_fee_line(site, clock) -> None:  # type: ignore[no-untyped-def]
    ticket = _waiting(site, clock, "京A12345", 125)  # ¥12.50
    changed = site.desk.override(ticket.id, "fee_change", new_amount_text="10.00", reason="道闸故障耽误", actor="ann")
    assert changed.due.minor == 1000
    assert [(i.label, i.amount.minor) for i in changed.quote.items][-1] == ("ann 改费：道闸故障耽误", -250)
