"""The cyclic garbage collector's pauses, in one place: start-up, an analysis and bulk reads build long-lived
objects that collections would only walk again and again (keys stalled 0.05-0.1 s on a long document)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused(*, keep: bool = False, resume: bool = False) -> Iterator[None]:
    """No cyclic collection inside; what was built is then frozen (`keep`: it lives as long as the app) or moved to
    the oldest generation (freeze + unfreeze), out of the next scans. Collection resumes if it ran (or `resume`)."""
    enabled = gc.isenabled() or resume
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            if not keep:
                gc.unfreeze()
            gc.enable()


keep = gc.freeze  # what exists now is out of the collector's scans: it lives as long as the screen that keeps it
release = gc.unfreeze  # what was kept can be collected again (its screen closed)
