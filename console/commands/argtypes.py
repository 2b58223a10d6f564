"""Argument types for the `booth` command: a value out of its range is refused by the
parser (one line, exit 2) before anything opens a file or a database."""

from __future__ import annotations

import argparse
import math
from typing import Callable

from console.i18n import _


def number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite decimal number from `low` to `high` (`low` itself refused when `low_open`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("{value!r} is not a number").format(value=text)) from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise argparse.ArgumentTypeError(_("{value!r} is out of range ({low:g} to {high:g})").format(
                value=text, low=low, high=high))
        return value

    return parse


def whole(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("{value!r} is not a whole number").format(value=text)) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(_("{value!r} is out of range ({low} to {high})").format(value=text, low=low, high=high))
        return value

    return parse


PORT = whole(0, 65535)
