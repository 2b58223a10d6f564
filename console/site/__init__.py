"""The running site: device events -> domain -> store -> effects -> listeners (the UI)."""
