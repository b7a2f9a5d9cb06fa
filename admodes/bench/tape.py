"""How long a reverse-mode tape gets: the memory price of reverse mode, in entries."""

from __future__ import annotations

import numpy as np

from ..reverse import ReverseLevel

__all__ = ["tape_size"]


def tape_size(fun, *args):
    """Record ``fun(*args)`` on a reverse-mode tape (differentiating every argument) and
    return ``(entries, bytes)``: the number of tape entries (inputs included) and the
    bytes of the distinct arrays the entries keep alive for the backward sweep.

    >>> import numpy as np
    >>> tape_size(lambda x: np.sum(np.sin(x) * x), np.ones(4))[0]
    4
    """
    level = ReverseLevel()
    try:
        boxed = [level.leaf(np.asarray(a, dtype=float)) for a in args]
        fun(*boxed)
    finally:
        level.close()
    seen = set()
    total = 0
    stack = [e for e in level.tape if e is not None]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            base = item if item.base is None else item.base
            if id(base) not in seen and isinstance(base, np.ndarray):
                seen.add(id(base))
                total += base.nbytes
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return len(level.tape), total
