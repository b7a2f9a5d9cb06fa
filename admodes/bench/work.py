"""How much arithmetic a gradient does, measured: the array elements every primitive
evaluation produces.

:func:`admodes.counting` counts primitive evaluations and rule applications, which is
the same for reverse mode and vectorised forward mode (one pass each).  What differs is
the size of what flows through that pass: forward mode's tangents carry one row per
direction.  :func:`counting_elements` measures that, by summing the sizes of the outputs
of every primitive evaluation (rules evaluate primitives too, so a rule's work is
counted where it happens).
"""

from __future__ import annotations

import contextlib

import numpy as np

from admodes.registry import registry

__all__ = ["counting_elements"]


@contextlib.contextmanager
def counting_elements():
    """Count the array elements produced by primitive evaluations inside the block.

    Yields a function returning the total so far.  The registry's value functions are
    wrapped for the duration of the block and restored afterwards (also on error); the
    block is for measurement only and is not thread-safe.

    Returns:
        A context manager yielding ``total() -> int``.

    >>> import admodes as ad
    >>> import numpy as np
    >>> with counting_elements() as total:
    ...     _ = ad.grad(lambda x: ad.numpy.sum(ad.numpy.sin(x)))(np.ones(10))
    >>> total() >= 20   # sin and cos of 10 elements, at least
    True
    """
    count = [0]
    saved = {}

    def wrap(impl):
        def counted(*args, **params):
            out = impl(*args, **params)
            if isinstance(out, tuple):
                count[0] += sum(int(np.size(o)) for o in out)
            else:
                count[0] += int(np.size(out))
            return out
        return counted

    try:
        for p in list(registry.values()):
            saved[p] = p.impl
            p.impl = wrap(p.impl)
        yield lambda: count[0]
    finally:
        for p, impl in saved.items():
            p.impl = impl
