"""A worker that fails is never silent: the app shows a notification in the attendant's
language and logs the traceback."""

from __future__ import annotations

import logging

import pytest

from console.i18n import set_language
from console.ui.app import BoothApp
from tests.ui.test_console_ui import _site, until


def _broken() -> None:
    raise RuntimeError("printer driver bug")


@pytest.mark.parametrize("lang, said", [("en", "internal error in print-receipt"), ("zh_CN", "print-receipt 内部错误")])
async def test_failed_worker_becomes_a_notification_and_a_log_line(store, clock, caplog, lang: str, said: str) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    set_language(lang)
    try:
        with caplog.at_level(logging.ERROR, logger="console.ui.app"):
            async with app.run_test(size=(130, 40)) as pilot:
                app.run_worker(_broken, name="print-receipt", thread=True, exit_on_error=False)
                await until(pilot, lambda: any(said in n.message for n in app._notifications))
                assert app.is_running  # the console stays up
                notice = next(n for n in app._notifications if said in n.message)
                assert notice.severity == "error" and "printer driver bug" in notice.message
    finally:
        set_language("en")
    failed = [r for r in caplog.records if "print-receipt" in r.getMessage()]
    assert failed and failed[0].exc_info is not None and "printer driver bug" in str(failed[0].exc_info[1])
