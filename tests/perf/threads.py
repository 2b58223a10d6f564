"""The threads of this process by name, with the CPU time each has used (Linux: read from
/proc/self/task), so a benchmark can tell the console's own threads from the simulated
devices running beside it, and list what runs."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Callable

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def thread_cpu() -> dict[int, tuple[str, float]]:
    """native thread id -> (name, CPU seconds so far) for every live Python thread."""
    found: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        tid = thread.native_id
        if tid is None:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[tid] = (thread.name, (int(fields[11]) + int(fields[12])) / _TICK)  # utime + stime
    return found


def cpu_by(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], is_device: Callable[[str], bool]) -> tuple[float, float]:
    """CPU seconds used between two `thread_cpu()` readings: (console threads, simulated devices)."""
    console = device = 0.0
    for tid, (name, cpu) in after.items():
        used = cpu - before.get(tid, (name, 0.0))[1]
        if is_device(name):
            device += used
        else:
            console += used
    return console, device


def names() -> str:
    """The live threads, grouped by name: "MainThread, charging, epile-sim-1 x10"."""
    counts = Counter(_group(t.name) for t in threading.enumerate())
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(counts.items()))


def _group(name: str) -> str:
    """A thread's name without a trailing number (pool workers, one thread per device)."""
    head = name.rstrip("0123456789").rstrip("-_ (")
    return head or name
