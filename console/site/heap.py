"""Short full collections: what lives from start-up to exit is kept out of the collector's walk.

A booth holds about 200,000 objects that never die (the functions, classes and modules of
its imports, the parsed site file and tariffs, the UI's widgets and style caches). Every
full (generation 2) collection walks them all and stops every thread meanwhile, the lanes'
among them: about 0.1 s in a booth without its UI, up to 1.9 s with it. Moved once into
the permanent generation, a full collection walks only what the running booth creates.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Collect once, then freeze everything still alive out of later collections' reach.

    Called when the booth has built what it keeps (the site started; again once the
    console's screens exist). Each call adds what was made since. A frozen object that
    later becomes garbage is still freed when nothing refers to it, but a cycle among
    frozen objects stays until the process ends: so this is for what a process keeps to
    its end (one site per booth process), not for what it builds and drops."""
    gc.collect()
    gc.freeze()
