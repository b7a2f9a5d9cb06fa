"""ad.jit: results equal the dynamic ones, guards retrace, each pass has an effect."""

import warnings

import numpy as np
import pytest

import admodes as ad
from admodes.graph import passes
from admodes.graph.jit import JitFallbackWarning, JitRetraceWarning

RNG = np.random.default_rng(0)


def mlp_loss(W1, W2, x):
    h = np.tanh(x @ W1)
    return np.sum((h @ W2) ** 2) / 2.0


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def kinks(x):
    return np.sum(np.abs(x) * np.maximum(x, 0.5) + np.clip(x, -1, 1))


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f, args", [
    (rosen, (RNG.normal(size=7),)),
    (kinks, (RNG.normal(size=5),)),
    (mlp_loss, (RNG.normal(size=(4, 6)), RNG.normal(size=(6, 3)), RNG.normal(size=(5, 4)))),
])
def test_jit_grad_equals_dynamic(f, args, optimize):
    n = len(args)
    vg = ad.value_and_grad(f, argnums=tuple(range(n)))
    jitted = ad.jit(vg, optimize=optimize)
    for _ in range(3):  # new values at the same shapes: the compiled program is reused
        args = tuple(RNG.normal(size=np.shape(a)) for a in args)
        want, got = vg(*args), jitted(*args)
        assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-12)
        for a, b in zip(got[1], want[1]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert jitted.n_traces == 1


def test_random_programs_equal_dynamic():
    ops = [np.sin, np.cos, np.tanh, lambda v: v * v, lambda v: v * 1.5 + 0.25, np.exp]
    for seed in range(12):
        r = np.random.default_rng(seed)
        chosen = [ops[i] for i in r.integers(0, len(ops), size=8)]

        def f(x, chosen=chosen):
            y = x
            for op in chosen:
                y = op(y) * 0.5 + y * 0.25
            return np.sum(y * x)

        x = r.normal(size=4)
        np.testing.assert_allclose(ad.jit(ad.grad(f))(x), ad.grad(f)(x), rtol=1e-12,
                                   atol=1e-12)


def test_scalar_code_and_grad_of_jit():
    f = lambda a: a * a * 3.0  # noqa: E731
    assert ad.jit(ad.grad(f))(2.0) == 12.0
    assert isinstance(ad.jit(ad.grad(f))(2.0), float)
    assert ad.grad(ad.jit(f))(2.0) == 12.0
    g = ad.jit(lambda x: np.sum(np.sin(x)))
    x = RNG.normal(size=3)
    np.testing.assert_allclose(ad.grad(g)(x), np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(g)(x), np.cos(x), rtol=1e-12)


def test_guard_retraces_and_warns():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x * x)
        return np.sum(np.sin(x))

    j = ad.jit(ad.grad(f), max_variants=2)
    p, m = np.ones(3), -np.ones(3)
    np.testing.assert_allclose(j(p), 2 * p)
    np.testing.assert_allclose(j(m), np.cos(m))
    np.testing.assert_allclose(j(p), 2 * p)
    assert j.n_traces == 2
    k = ad.jit(lambda x: x ** int(x), max_variants=2)  # a value guard on the input
    with pytest.warns(JitRetraceWarning):
        for x in (1.5, 2.5, 3.5, 1.5):
            assert k(x) == pytest.approx(x ** int(x), rel=1e-12)


def test_static_argnums():
    def f(x, n):
        for _ in range(n):
            x = np.sin(x)
        return np.sum(x)

    j = ad.jit(ad.grad(f), static_argnums=1)
    x = RNG.normal(size=3)
    for n in (1, 3, 1):
        np.testing.assert_allclose(j(x, n), ad.grad(f)(x, n), rtol=1e-12)
    assert j.n_traces == 2
    with pytest.raises(TypeError, match="hashable"):
        j(x, [1])


def test_forward_transformations_compile():
    x, v = RNG.normal(size=3), RNG.normal(size=3)
    transforms = [ad.jacfwd(kinks), ad.hessian(kinks), ad.grad(kinks, mode="forward"),
                  lambda x: ad.jvp(kinks, (x,), (v,))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no dynamic fallback
        for T in transforms:
            j = ad.jit(T)
            for _ in range(2):
                x = RNG.normal(size=3)
                for a, b in zip(np.atleast_1d(j(x)), np.atleast_1d(T(x))):
                    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
            assert j.n_traces == 1 and j.variant(x) is not None


def test_untraceable_rule_falls_back_dynamically():
    f = lambda x: np.prod(x) + np.sum(x * x)  # noqa: E731 - prod's VJP reads plain values
    x = np.array([0.5, 0.0, 1.5])
    with pytest.warns(JitFallbackWarning, match="vjp of prod"):
        got = ad.jit(ad.hessian(f))(x)
    np.testing.assert_allclose(got, ad.hessian(f)(x), rtol=1e-12)
    j = ad.jit(ad.grad(f))  # at first order it is an opaque call
    j(np.ones(3))
    np.testing.assert_allclose(j(x), ad.grad(f)(x), rtol=1e-12)
    assert "vjp_prod(" in j.source(x)


def test_mask_rules_are_traced_not_constants():
    j = ad.jit(ad.grad(kinks))
    x = np.array([1.0, -2.0, 0.3])
    j(x)
    assert "np.greater(x, 0.5)" in j.source(x)  # the tie mask is computed at every call
    y = np.array([-1.0, 2.0, -0.3])  # every mask flips
    np.testing.assert_allclose(j(y), ad.grad(kinks)(y), rtol=1e-12)


def test_source_reads_like_numpy():
    x = RNG.normal(size=(5, 4))
    src = ad.jit(ad.grad(mlp_loss, argnums=(0, 1)))
    W1, W2 = RNG.normal(size=(4, 6)), RNG.normal(size=(6, 3))
    text = src.source(W1, W2, x)
    assert text.startswith("def mlp_loss(W1, W2, x):")
    assert "np.tanh(" in text and " @ " in text and "# h = np.tanh(x @ W1)" in text
    compile(text, "<test>", "exec")


# ---------------------------------------------------------------- each pass -------------

def _prog(f, *args):
    j = ad.jit(f, optimize=False)
    return j.variant(*args).program


def _eq(f, args, passes_):
    j = ad.jit(f, optimize=passes_)
    want = ad.jit(f, optimize=False)(*args)
    got = j(*args)
    for a, b in zip(np.atleast_1d(got), np.atleast_1d(want)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    return j.variant(*args).program


def test_pass_dce():
    f = lambda x: np.sum(np.sin(x).T.T)  # noqa: E731
    x = np.ones((2, 3))
    p = passes.simplify(_prog(f, x))  # the inner transpose is left dead
    assert len(passes.dce(p.copy())) < len(p)
    _eq(f, (x,), ("simplify", "dce"))


def test_pass_cse():
    f = lambda x: np.sum(np.sin(x) * np.sin(x))  # noqa: E731
    x = np.ones(3)
    p = _prog(f, x)
    assert sum(i.op == "sin" for i in passes.cse(p.copy()).instrs) == 1
    assert sum(i.op == "sin" for i in p.instrs) == 2
    _eq(f, (x,), ("cse",))


def test_pass_fold_and_simplify():
    def f(x):
        y = np.negative(-(x * 1.0)) + 0.0
        return np.sum(y.T.T.reshape(6).reshape(2, 3) * (np.ones(3) * 2.0))
    x = RNG.normal(size=(2, 3))
    p = _prog(f, x)
    s = passes.dce(passes.simplify(passes.fold(p.copy())))
    ops = [i.op for i in s.instrs]
    assert "negative" not in ops and ops.count("transpose") < [i.op for i in p.instrs].count(
        "transpose")
    assert len(s) < len(p)
    assert "multiply" in ops  # the product with the folded constant [2, 2, 2] stays
    _eq(f, (x,), ("fold", "simplify", "dce"))


def test_pass_buffers_reuse_and_never_touch_inputs():
    def f(x):
        y = np.sin(x) * 2.0
        z = np.cos(y) + y
        return np.sum(np.exp(z) * z)
    x = RNG.normal(size=2000)
    keep = x.copy()
    p = _eq(ad.grad(f), (x,), passes.PASSES)
    marked = [i for i in p.instrs if i.inplace is not None or i.out_buf is not None]
    assert marked
    for i in marked:
        target = i.args[i.inplace] if i.inplace is not None else i.out_buf
        assert target not in p.inputs
    np.testing.assert_array_equal(x, keep)
    small = _prog(ad.grad(f), np.ones(3))
    assert not any(i.inplace is not None for i in passes.plan_buffers(small).instrs)


def test_jitted_outputs_do_not_share_buffers_across_calls():
    j = ad.jit(ad.grad(lambda x: np.sum(np.exp(np.sin(x)) * x)))
    a = j(np.ones(3000))
    b = j(np.zeros(3000))
    assert not np.shares_memory(a, b)
    np.testing.assert_allclose(a, ad.grad(lambda x: np.sum(np.exp(np.sin(x)) * x))(np.ones(3000)))


def test_no_warnings_on_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.jit(ad.grad(rosen))(np.ones(4))


# ---------------------------------------------------------------- ad.trace of a gradient --

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_trace_of_grad_does_not_freeze_masks(mode):
    # Before: the masks of abs/maximum/clip were computed with numpy on the trace-time
    # values, so the replay at other inputs gave [0, 2, 2.5] with no error.
    f = lambda x: np.sum(np.abs(x) * np.maximum(x, 1.0) + np.clip(x, 0, 1))  # noqa: E731
    g = ad.trace(ad.grad(f, mode=mode), np.array([0.5, -2.0, 0.3]))
    y = np.array([-0.5, 2.0, 1.5])
    np.testing.assert_allclose(g(y), [-1.0, 4.0, 3.0], rtol=1e-12)
    np.testing.assert_allclose(g(y), ad.grad(f)(y), rtol=1e-12)
    np.testing.assert_allclose(ad.jacrev(g)(y), ad.hessian(f)(y), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_trace_of_grad_with_an_untraceable_rule(mode):
    f = lambda x: np.prod(x) + np.sum(x * x)  # noqa: E731 - prod's rules read plain values
    g = ad.trace(ad.grad(f, mode=mode), np.array([0.5, -2.0, 0.3]))
    y = np.array([-0.5, 0.0, 1.5])
    np.testing.assert_allclose(g(y), ad.grad(f)(y), rtol=1e-12)
    with pytest.raises(TypeError, match="opaque call, which has no derivative"):
        ad.jacrev(g)(y)  # an opaque call is not differentiated as if it were constant
    with pytest.raises(TypeError, match="prod rule reads plain values"):
        ad.trace(ad.hessian(f), y)


# ---------------------------------------------------------------- measurable effects ----

def _allocated(fn, *args):
    """Bytes of numpy buffers allocated by one call (tracemalloc sees numpy's)."""
    import tracemalloc
    fn(*args)
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_pass_fanin_scatters_in_place_and_allocates_less():
    f = lambda x: np.sum(x[1:] * x[:-1] + np.sin(x[:-1]))  # noqa: E731
    x = RNG.normal(size=20_000)
    without = tuple(p for p in passes.PASSES if p != "fanin")
    p = _eq(ad.grad(f), (x,), passes.PASSES)
    q = _eq(ad.grad(f), (x,), without)
    ops_p, ops_q = [i.op for i in p.instrs], [i.op for i in q.instrs]
    assert ops_q.count("scatter_add") == 3 and ops_p.count("scatter_add") == 1
    assert ops_p.count("scatter_add_into") == 2 and len(p) < len(q)
    assert _allocated(ad.jit(ad.grad(f)), x) < _allocated(
        ad.jit(ad.grad(f), optimize=without), x) - 300_000  # two 160 kB buffers less


def test_pass_simplify_uniform_constants_and_negations():
    f = lambda x: np.sum(-(np.sin(x) * 3.0) * np.cos(x))  # noqa: E731
    x = RNG.normal(size=1000)
    p = _eq(ad.grad(f), (x,), ("fold", "simplify", "dce"))
    raw = _prog(ad.grad(f), x)

    def arrays(prog):
        return [a for i in prog.instrs for a in i.args
                if isinstance(a, passes.Const) and np.ndim(a.value)]

    def count(prog, op):
        return [i.op for i in prog.instrs].count(op)

    assert arrays(raw) and not arrays(p)  # the seed's broadcast ones became scalars (x1)
    assert count(raw, "negative") == 3 and count(p, "negative") == 1  # -(c*x) -> (-c)*x
    assert count(p, "multiply") < count(raw, "multiply")


def test_passes_reduce_instructions_and_allocations_of_a_gradient():
    x = RNG.normal(size=50_000)
    raw, opt = ad.jit(ad.grad(rosen), optimize=False), ad.jit(ad.grad(rosen))
    np.testing.assert_allclose(opt(x), raw(x), rtol=1e-12)
    assert len(opt.variant(x).program) <= len(raw.variant(x).program) - 4  # 13 vs 17
    assert _allocated(opt, x) < 0.5 * _allocated(raw, x)  # peak 1.2 MB vs 5.6 MB


def test_readme_shows_the_generated_code():
    from pathlib import Path

    from admodes.bench.jit_report import readme_blocks
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for key, block in readme_blocks().items():
        assert f"<!-- {key} -->\n{block}\n<!-- /{key} -->" in text, (
            f"README block {key} is stale: run update_readme() of admodes.bench.jit_report")


def test_plain_value_code_runs_dynamically_not_frozen():
    f = lambda x: np.sum(np.sort(x) * np.arange(1.0, 5.0))  # noqa: E731 - a sort order
    x, y = np.array([3.0, 1.0, 2.0, 0.0]), np.array([0.0, 2.0, 1.0, 3.0])
    j = ad.jit(ad.grad(f))
    with pytest.warns(JitFallbackWarning, match="plain values"):
        j(x)
    np.testing.assert_allclose(j(y), ad.grad(f)(y), rtol=1e-12)
    k = ad.jit(lambda x: np.sum(x * ad.value(x)))  # ad.value into admodes ops: compiled
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert k(3.0) == 9.0 and ad.grad(k)(3.0) == 3.0
    assert k.n_traces == 1  # the plain call's variant is replayed under grad


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_jit_with_static_arguments_and_guards(mode):
    def f(x, n):
        y = x
        for _ in range(n):
            y = np.sin(y) * 1.5
        if np.sum(y) > 0:  # a guard: the branch may change between calls
            return np.sum(y * y)
        return np.sum(np.cos(y))

    j = ad.jit(f, static_argnums=1)
    for x in (np.array([0.3, 0.2]), np.array([-0.3, -0.2]), np.array([0.5, 0.1])):
        for n in (1, 2):
            np.testing.assert_allclose(ad.grad(j, mode=mode)(x, n),
                                       ad.grad(f, mode=mode)(x, n), rtol=1e-12)
            np.testing.assert_allclose(ad.jit(ad.grad(j, mode=mode), static_argnums=1)(x, n),
                                       ad.grad(f, mode=mode)(x, n), rtol=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_differentiating_a_graph_respects_ad_value(mode):
    # Before: replaying the graph under ad.grad let a derivative flow through the node
    # that ad.value had stopped when tracing ([6, 6] instead of [3, 3], no error).
    f = lambda x: np.sum(x * ad.value(x))  # noqa: E731
    g = ad.trace(f, np.ones(2))
    x = np.array([3.0, -1.0])
    np.testing.assert_allclose(ad.grad(g, mode=mode)(x), x, rtol=1e-12)
    np.testing.assert_allclose(ad.grad(g, mode=mode)(x), ad.grad(f, mode=mode)(x))


def test_pass_buffers_allocates_less():
    def f(x):
        y = np.sin(x) * 2.0
        z = np.cos(y) + y
        return np.sum(np.exp(z) * z)

    x = RNG.normal(size=20_000)
    without = tuple(p for p in passes.PASSES if p != "buffers")
    a, b = ad.jit(ad.grad(f)), ad.jit(ad.grad(f), optimize=without)
    np.testing.assert_allclose(a(x), b(x), rtol=1e-12)
    assert _allocated(a, x) < 0.5 * _allocated(b, x)  # peak 0.48 MB vs 2.2 MB


def test_where_on_a_differentiable_condition():
    f = lambda x: np.sum(np.where(x, x * 2.0, x * 3.0))  # noqa: E731 - the condition is x
    x, y = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    g = ad.trace(f, x)
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(ad.grad(g, mode=mode)(y), [3.0, 2.0])
        j = ad.jit(ad.grad(f, mode=mode))
        j(x)
        np.testing.assert_allclose(j(y), [3.0, 2.0])
    np.testing.assert_allclose(g.grad(y), [3.0, 2.0])
