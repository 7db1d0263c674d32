"""Finding reference cycles: what only Python's cyclic collector would free."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_garbage() -> Iterator[list[object]]:
    """The objects that only the cyclic collector would have freed, made inside the block."""
    found: list[object] = []
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)


def kinds(objects: list[object]) -> Counter[str]:
    """How many objects of each type, to say what a cycle is made of."""
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
