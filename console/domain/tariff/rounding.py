"""Rounding of amounts in minor units, without floats."""

from __future__ import annotations


def round_to_step(amount: int, step: int, mode: str) -> int:
    """Round a non-negative amount (minor units) to a multiple of `step`.

    Modes: "half-up" (0.025 -> 0.05 for a 0.05 step), "half-even", "half-down",
    "up" (always to the next multiple), "down" (always to the previous one).
    """
    if step <= 1:
        return amount
    q, r = divmod(amount, step)
    if r == 0:
        return amount
    if mode == "down":
        return q * step
    if mode == "up":
        return (q + 1) * step
    twice = 2 * r
    if twice > step:
        return (q + 1) * step
    if twice < step:
        return q * step
    if mode == "half-up" or (mode == "half-even" and q % 2 == 1):
        return (q + 1) * step
    return q * step


def percent_of(amount: int, percent: int) -> int:
    """`percent` % of a non-negative amount, rounded half up to a minor unit."""
    return (amount * percent * 2 + 100) // 200
