"""Fixtures for the receipt printer tests: simulators on real transports and sample documents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.printer.document import PrintDocument
from drivers.printer.simulator import NetworkPrinterSimulator, SerialPrinterSimulator
from tests.drivers.printer.printer_samples import SITE_CJK, make_receipt


@pytest.fixture
def network_sim() -> Iterator[NetworkPrinterSimulator]:
    """A printer on a loopback TCP port."""
    with NetworkPrinterSimulator() as sim:
        yield sim


@pytest.fixture
def serial_sim() -> Iterator[SerialPrinterSimulator]:
    """A printer on the far side of a pseudo-terminal."""
    with SerialPrinterSimulator() as sim:
        yield sim


@pytest.fixture
def receipt() -> PrintDocument:
    return make_receipt()


@pytest.fixture
def cjk_receipt() -> PrintDocument:
    return make_receipt(SITE_CJK)
