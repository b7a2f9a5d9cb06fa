"""Per-primitive cost: the recording (forward) pass, the backward sweep and a JVP, each
timed alone, for every built-in primitive on its tiny test domain (dispatch overhead)."""

import numpy as np
import pytest

from admodes.bench.primitives import primitive_cases

CASES = primitive_cases()


@pytest.mark.benchmark(group="primitive: forward (record)")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_forward(benchmark, case):
    vjp_fun = benchmark(case.forward)
    assert callable(vjp_fun)


@pytest.mark.benchmark(group="primitive: backward (sweep)")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backward(benchmark, case):
    vjp_fun = case.forward()
    cts = benchmark(case.backward, vjp_fun)
    assert len(cts) == len(case.xs)
    assert all(np.shape(c) == np.shape(x) for c, x in zip(cts, case.xs))


@pytest.mark.benchmark(group="primitive: jvp")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_jvp(benchmark, case):
    out, tan = benchmark(case.jvp)
    assert np.shape(out) == np.shape(tan)
