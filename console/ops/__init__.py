"""Running a booth PC: backups, restore and the `booth doctor` checks."""
