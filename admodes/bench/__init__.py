"""Benchmark problems, timing and memory helpers, shared by ``admodes report`` and the
pytest-benchmark suite in ``benchmarks/`` (so both measure exactly the same code)."""

from .problems import *  # noqa: F401,F403
from .problems import __all__ as _problems_all
from .tape import tape_size
from .timing import Stats, calibrate, interleaved, peak_memory, ratio_stats, summarize

__all__ = list(_problems_all) + ["Stats", "calibrate", "interleaved", "peak_memory",
                                 "ratio_stats", "summarize", "tape_size"]
