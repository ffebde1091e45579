"""Pacing CPython's cyclic garbage collector for runs that build many objects at once.

A sync all of 10,000 users makes about a million short-lived objects (SCView's pages,
FIS's snapshots, the plan). At CPython's default threshold (a young collection every
700 allocations, and a full one whenever the survivors grow by a quarter) the collector
traversed the growing heap again and again: about 0.3 s of CPU of a 0.85 s no-op run.
While a run is on, the young generation is collected every ``YOUNG`` allocations
instead. Reference counting still frees every object that is not in a cycle at once,
so only cyclic garbage waits longer; the run itself makes little of it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 100_000

_lock = threading.Lock()
_runs = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect less often while the body runs. Thresholds are process-wide, so
    concurrent runs share one setting: the first in saves the thresholds, the last out
    restores them."""
    global _runs, _saved
    with _lock:
        if _runs == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG, _saved[0]), *_saved[1:])
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_saved)
