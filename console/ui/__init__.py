"""The Textual user interface: renders site events, sends commands to the site.

Importing it changes nothing in the process; the settings a booth needs while the UI
runs (repaint rate, thread switch interval) are made by `booth run` / `booth demo`
before Textual is imported (see `console.cli.tune_for_booth`).
"""
