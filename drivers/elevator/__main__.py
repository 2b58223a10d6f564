"""`python -m drivers.elevator`: run a simulated building on a pseudo-terminal."""

from drivers.elevator.simulator import main

main()
