"""Timing and memory helpers shared by the report and the pytest-benchmark suite.

Machine noise (other processes on a shared core) hits every candidate alike when their
repeats are *interleaved*: repeat r times candidate A, then B, then C, then the next
repeat in a rotated order.  Ratios are taken per repeat (A_r / B_r) and summarised by
their median and interquartile range, so a slow spell inflates numerator and
denominator together instead of skewing one of them.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Stats", "summarize", "calibrate", "interleaved", "ratio_stats", "peak_memory"]


@dataclass
class Stats:
    """Median and spread of a sample (seconds, bytes or a ratio)."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    n: int

    def as_dict(self):
        return asdict(self)

    def fmt(self, unit="s"):
        """``median [q1–q3]`` with a readable unit."""
        if unit == "s":
            return f"{_fmt_time(self.median)} [{_fmt_time(self.q1)}–{_fmt_time(self.q3)}]"
        if unit == "B":
            return f"{_fmt_bytes(self.median)} [{_fmt_bytes(self.q1)}–{_fmt_bytes(self.q3)}]"
        return f"{self.median:.3g} [{self.q1:.3g}–{self.q3:.3g}]"


def summarize(samples):
    a = np.asarray(samples, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return Stats(float(med), float(q1), float(q3), float(a.min()), float(a.max()), int(a.size))


def _fmt_time(t):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def _fmt_bytes(b):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.0f} B"


def calibrate(fn, min_time):
    """Calls per sample so that one sample lasts about ``min_time`` seconds or more (the
    first, warm-up call also surfaces errors early)."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        t = time.perf_counter() - t0
        if t >= min_time:
            return number
        if t >= min_time / 4 or number >= 1 << 20:
            return int(np.ceil(number * min_time / max(t, 1e-9)))
        number *= 4


def interleaved(fns, repeats=7, min_time=0.01, max_time=None):
    """Time each callable in ``fns`` (name -> zero-argument callable), interleaving the
    repeats, and return ``name -> list of seconds per call`` (one entry per repeat).

    ``max_time`` (seconds, optional) caps the total: fewer repeats are made (at least
    three) when one round takes long.
    """
    names = list(fns)
    numbers = {k: calibrate(fns[k], min_time) for k in names}
    samples = {k: [] for k in names}
    start = time.perf_counter()
    gc_was = gc.isenabled()
    gc.collect()
    try:
        for r in range(repeats):
            order = names[r % len(names):] + names[:r % len(names)]
            for k in order:
                fn, number = fns[k], numbers[k]
                gc.disable()
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                t = time.perf_counter() - t0
                if gc_was:
                    gc.enable()
                samples[k].append(t / number)
            if max_time is not None and r >= 2 and time.perf_counter() - start > max_time:
                break
    finally:
        if gc_was:
            gc.enable()
    return samples


def ratio_stats(num, den):
    """Per-repeat ratios of two interleaved samples, summarised."""
    return summarize(np.asarray(num) / np.asarray(den))


def peak_memory(fn, repeats=1):
    """Peak bytes allocated (tracemalloc, which numpy reports its buffers to) while
    ``fn()`` runs, above what was allocated before; the median over ``repeats``."""
    peaks = []
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            out = fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        del out
        peaks.append(peak - base)
    return summarize(peaks)
