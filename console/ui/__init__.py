"""The Textual user interface: renders site events, sends commands to the site."""
