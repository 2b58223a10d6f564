"""A booth whose files may not grow (RLIMIT_FSIZE, as a quota or a full disk does to
one process): run by test_file_faults in its own process, since the limit is the
process's. Prints one JSON line: what the attendant was told and the books before,
during and after the limit."""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(folder: Path, lang: str) -> int:
    from console.i18n import set_language
    from console.site.errors import SiteError
    from tests.faults.files import Books
    from tests.faults.test_file_faults import Booth

    set_language(lang)
    booth = Booth(folder / "booth.sqlite3")
    ticket = booth.at_exit("A12345")
    before = Books.of(booth.store)
    # Writing past the limit fails with EFBIG instead of killing the process (SIGXFSZ).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sizes = [p.stat().st_size for p in folder.iterdir() if p.is_file()]
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max(sizes) + 1, hard))
    seen = len(booth.of_log())
    booth.enter("B12345")
    entry_said = booth.said_since(seen)
    try:
        booth.site.desk.pay_cash(ticket, "10", attendant="ann")
        paid_said = "(paid)"
    except SiteError as exc:
        paid_said = str(exc)
    during = Books.of(booth.store)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # room again
    booth.site.desk.pay_cash(ticket, "10", attendant="ann")
    booth.enter("C12345")
    after = Books.of(booth.store)
    inside = {plate: booth.inside(plate) for plate in ("B12345", "C12345")}
    booth.stop()
    print(json.dumps({"entry": entry_said, "payment": paid_said, "before": asdict(before), "during": asdict(during),
                      "after": asdict(after), "inside": inside}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("BOOTH_DATA_DIR", str(Path(sys.argv[1]) / "data"))
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
