"""Receipt printer figures: render, decode and print times.

    .venv/bin/python tests/perf/bench_printer.py [--runs 200]

- import: first `open_printer` in a fresh process (python-escpos loaded, pickle cached).
- render: a full exit receipt (Latin, and with a Chinese site name), and a line drawn as an image.
- decode: the same receipt's bytes back to lines.
- print over TCP: one receipt to the loopback simulator, status asked before and after
  (connect + 2 x 2 status round trips + send + orderly close).
- print over a serial pty at 115200 baud with status.
- status(): one live status check over TCP.
Goals: a receipt reaches the printer well under 100 ms on a LAN; rendering is not the bottleneck.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from drivers.printer import open_printer  # noqa: E402
from drivers.printer.document import Text  # noqa: E402
from drivers.printer.escpos_decode import decode  # noqa: E402
from drivers.printer.render import Renderer, RenderOptions  # noqa: E402
from drivers.printer.simulator import NetworkPrinterSimulator, SerialPrinterSimulator  # noqa: E402
from tests.drivers.printer.printer_samples import SITE_CJK, make_receipt  # noqa: E402


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def show(label: str, figures: tuple[float, float], extra: str = "") -> None:
    print(f"{label:<44} median {figures[0]:8.2f} ms   p95 {figures[1]:8.2f} ms  {extra}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs

    script = "import time; t=time.perf_counter(); import drivers.printer as p; p.open_printer('dummy://'); " \
             "print((time.perf_counter()-t)*1000)"
    cold = [float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                                 check=True).stdout) for _ in range(3)]
    print(f"{'first open_printer in a new process':<44} median {statistics.median(cold):8.2f} ms")

    renderer = Renderer(RenderOptions())
    latin, cjk = make_receipt(), make_receipt(SITE_CJK)
    data = renderer.render(latin).data
    show("render receipt (Latin)", timed(lambda: renderer.render(latin), runs), f"{len(data)} bytes")
    show("render receipt (Chinese site name)", timed(lambda: renderer.render(cjk), runs))
    image_doc = type(latin)([Text("Ĉefa parkejo", align="center", size=2)])
    show("render one line as an image", timed(lambda: renderer.render(image_doc), max(runs // 4, 5)))
    show("decode receipt", timed(lambda: decode(data), runs))

    with NetworkPrinterSimulator() as sim:
        printer = open_printer(sim.url)
        show("print receipt over TCP (with status)", timed(lambda: printer.print_document(latin), runs))
        show("status() over TCP", timed(printer.status, runs))
        quiet = open_printer(sim.url + "?status=none")
        show("print receipt over TCP (status=none)", timed(lambda: quiet.print_document(latin), runs))
    with SerialPrinterSimulator() as serial_sim:
        printer = open_printer(serial_sim.url + "?baud=115200")
        show("print receipt over serial pty (with status)", timed(lambda: printer.print_document(latin),
                                                                  max(runs // 4, 5)))


if __name__ == "__main__":
    main()
