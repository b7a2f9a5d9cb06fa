"""``ad.jit`` against the dynamic engine, the ``ad.trace`` replay and hand-written numpy
(issue 11), on the report's programs:
``pytest benchmarks/test_jit_static_dynamic.py --benchmark-enable``.
Without ``--benchmark-enable`` each candidate runs once, as a plain test.

The issue's target ratios, every one measured in one interleaved run (BLAS at one
thread)::

    PYTHONPATH=$PWD python benchmarks/test_jit_static_dynamic.py [repeats] [--pin-malloc]

``--pin-malloc`` fixes glibc's allocator thresholds first (see
``admodes.bench.jit_report.pin_malloc``): without it, numpy temporaries of a few hundred
kB are mapped afresh on every call in some processes and not in others, which moves the
hand-written spiral step between ~0.2 and ~0.6 ms from run to run.
"""

import functools

import pytest

from admodes.bench.jit_report import problem_candidates

PROBLEMS = [("chain", None), ("rosenbrock", 10), ("rosenbrock", 1_000_000), ("mlp", None),
            ("spiral", None)]
CANDIDATES = ["dynamic", "trace replay", "jit", "jit (no passes)", "numpy"]


@functools.cache
def _candidates(name, n):
    return problem_candidates(name, n)[0]  # every candidate checked against dynamic


@pytest.mark.parametrize("candidate", CANDIDATES)
@pytest.mark.parametrize("name, n", PROBLEMS, ids=[p if n is None else f"{p}-{n}"
                                                   for p, n in PROBLEMS])
def test_static_vs_dynamic(benchmark, name, n, candidate):
    cands = _candidates(name, n)
    if candidate not in cands:
        pytest.skip(f"no {candidate} candidate for {name}")
    benchmark.group = f"static vs dynamic: {name}" + ("" if n is None else f" n={n}")
    benchmark(cands[candidate])


if __name__ == "__main__":
    import sys

    from admodes.bench.jit_report import markdown_section, pin_malloc, sweep_static_dynamic
    from admodes.bench.report import limit_threads
    from admodes.bench.sweeps import Progress

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 15
    pinned = "--pin-malloc" in sys.argv and pin_malloc()
    ctx, how = limit_threads(1)
    with ctx:
        res = sweep_static_dynamic(dict(repeats=repeats, min_time=0.02,
                                        jit_rosen_n=[10, 1_000_000],
                                        jit_compile_ops=[1_000]), Progress())
    print(f"BLAS threads: {how}; glibc malloc thresholds pinned: {pinned}\n")
    print(markdown_section(res))
