"""Helpers for users' own test suites.

>>> import admodes.numpy as anp, numpy as np
>>> from admodes.testing import assert_grads_close
>>> assert_grads_close(lambda x: anp.sum(anp.exp(x) * x), np.array([0.5, -1.0]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .check import check_grads

__all__ = ["assert_grads_close"]


def assert_grads_close(fun: Callable[..., Any], *args: Any, order: int = 2,
                       modes: Sequence[str] = ("forward", "reverse"), eps: float | None = None,
                       rtol: float | None = None, atol: float | None = None, n_dirs: int = 3,
                       seed: int = 0) -> None:
    """Assert that ``fun``'s derivatives at ``args`` match numerical ones (pytest-friendly).

    A thin layer over :func:`admodes.check.check_grads` taking the arguments
    positionally; on failure pytest shows the check's table, not this frame.

    Args:
        fun: the function; every positional argument is differentiated.
        *args: the point (floats, float arrays, or pytrees of them).
        order, modes, eps, rtol, atol, n_dirs, seed: as in ``check_grads``.

    Returns:
        None.

    Raises:
        AssertionError: with the table of mismatches.

    >>> import admodes.numpy as anp
    >>> assert_grads_close(lambda x, y: anp.sin(x) * y, 0.3, 2.0, order=1)
    """
    __tracebackhide__ = True
    check_grads(fun, args, order=order, modes=modes, eps=eps, rtol=rtol, atol=atol,
                n_dirs=n_dirs, seed=seed)
