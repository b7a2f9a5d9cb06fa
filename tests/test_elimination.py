"""Path sums and vertex elimination on traced scalar graphs (admodes.graph.paths)."""

import sys

import numpy as np
import pytest

import admodes as ad
import admodes.numpy as anp
from admodes.bench.reuse_report import diamonds, fan_in, fan_out
from admodes.graph.paths import (
    count_paths,
    eliminate,
    intermediates,
    op_count_offset,
    path_sum,
    path_sum_cost,
)

ORDERS = ("forward", "reverse", "markowitz")


def colah(a, b):
    c = a + b
    d = b + 1.0
    return c * d



def chain(L):
    def f(x):
        for _ in range(L):
            x = anp.tanh(x)
        return x
    return f




def ref_matrix(jac, g, xs):
    """The reference Jacobian of a tuple-returning graph as an (outputs, inputs) matrix."""
    J = jac(g, argnums=tuple(range(len(xs))))(*xs)
    return np.array([[float(J[k][t]) for t in range(len(xs))] for k in range(len(J))])


# ---------------------------------------------------------------- colah ----------------


def test_colah_paths_and_both_eliminations():
    g = ad.trace(colah, 2.0, 1.0)
    assert (g.count_paths(input="a"), g.count_paths(input="b"), g.count_paths()) == (1, 2, 3)
    assert g.count_paths(output=0, input=1) == 2 == count_paths(g, "out", "b")
    ps = path_sum(g)
    assert ps.jacobian.tolist() == [[2.0, 5.0]]
    assert (ps.paths, ps.mults, ps.adds) == (3, 3, 1)  # 1·2, 1·2, 1·3; 2 + 3
    assert path_sum_cost(g) == {"paths": 3, "mults": 3, "adds": 1}
    assert intermediates(g) == [2, 3]
    fwd, rev = g.eliminate("forward"), eliminate(g, "reverse")
    assert fwd.sequence == (2, 3) and rev.sequence == (3, 2)
    for r in (fwd, rev):
        assert r.jacobian.tolist() == [[2.0, 5.0]]
        assert (r.mults, r.adds) == (3, 1)
    # forward: eliminate c (preds a, b; succ e) = 2 products, then d (b; e) = 1,
    # added onto the b→e edge: 2·1 + 3·1 = 5
    assert [(s.vertex, s.preds, s.succs, s.mults, s.adds) for s in fwd.steps] == \
        [(2, (0, 1), (4,), 2, 0), (3, (1,), (4,), 1, 1)]
    # the op counts of the modes = elimination + products with the unit seeds
    assert g.op_counts("forward")["rules"] == 6 == fwd.mults + 3  # 3 slots read a or b
    assert g.op_counts("reverse")["rules"] == 5 == rev.mults + 2  # e = c·d has 2 slots


def test_a_named_order_and_an_explicit_one_agree():
    g = ad.trace(colah, 2.0, 1.0)
    assert g.eliminate([3, 2]).jacobian.tolist() == [[2.0, 5.0]]
    assert g.eliminate([3, 2]).order == "custom"
    r = g.eliminate("markowitz", 3.0, 2.0)
    assert r.jacobian.tolist() == [[3.0, 8.0]]


# ---------------------------------------------------------------- closed forms ---------


@pytest.mark.parametrize("d", [1, 2, 3, 6])
def test_diamond_chain_closed_forms(d):
    g = ad.trace(diamonds(d), 0.3)
    assert g.count_paths() == 2 ** d
    # each path has 2d labelled edges: 2d - 1 products; 2^d terms: 2^d - 1 additions
    want = {"paths": 2 ** d, "mults": 2 ** d * (2 * d - 1), "adds": 2 ** d - 1}
    assert path_sum_cost(g) == want
    ps = path_sum(g)
    assert (ps.paths, ps.mults, ps.adds) == (want["paths"], want["mults"], want["adds"])
    ref = float(ad.jacfwd(g)(0.3))
    assert abs(ps.jacobian[0, 0] - ref) <= 1e-12 * abs(ref)
    for order in ("forward", "reverse"):
        r = g.eliminate(order)
        assert (r.mults, r.adds) == (4 * d - 2, d)  # linear in depth
        assert abs(r.jacobian[0, 0] - ref) <= 1e-12 * abs(ref)
    assert g.op_counts("forward")["rules"] == 4 * d == g.op_counts("reverse")["rules"]


def test_path_count_is_exact_beyond_floats():
    g = ad.trace(diamonds(70), 0.3)
    assert g.count_paths() == 2 ** 70 and type(g.count_paths()) is int
    assert path_sum_cost(g)["mults"] == 2 ** 70 * 139


def test_path_limit_states_the_count():
    g = ad.trace(diamonds(18), 0.3)
    with pytest.raises(ValueError, match=r"262144 input→output paths, more than max_paths=1000"):
        g.jacobian_by_paths(max_paths=1000)
    g.eliminate("forward")  # no limit: linear cost


@pytest.mark.parametrize("L", [1, 2, 7])
def test_chain_costs_one_product_per_intermediate(L):
    g = ad.trace(chain(L), 0.4)
    for order in ORDERS:
        r = g.eliminate(order)
        assert (r.mults, r.adds) == (L - 1, 0)
    assert g.count_paths() == 1 and path_sum_cost(g)["mults"] == L - 1


@pytest.mark.parametrize("n,L", [(2, 1), (3, 2), (6, 3)])
def test_fan_in_closed_forms(n, L):
    xs = [0.1 * (i + 1) for i in range(n)]
    g = ad.trace(fan_in(n, L), *xs)
    fwd, rev = g.eliminate("forward"), g.eliminate("reverse")
    # forward: sin_k 1 each, t_j depends on j inputs, then L - 1 tanh on n inputs
    assert fwd.mults == n * (n + 1) // 2 + n * L - 1
    # reverse: one output, so each vertex costs its in-degree
    assert rev.mults == 3 * n + L - 3
    ref = ref_matrix(ad.jacrev, ad.trace(lambda *x: (fan_in(n, L)(*x),), *xs), xs)
    for r in (fwd, rev, g.eliminate("markowitz")):
        np.testing.assert_allclose(r.jacobian, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("m,L", [(2, 1), (3, 2), (6, 3)])
def test_fan_out_closed_forms(m, L):
    g = ad.trace(fan_out(m, L), 0.3)
    fwd, rev = g.eliminate("forward"), g.eliminate("reverse")
    assert fwd.mults == L - 1 + 2 * m
    assert rev.mults == (L + 1) * m
    ref = ref_matrix(ad.jacfwd, g, [0.3])
    for r in (fwd, rev, g.eliminate("markowitz")):
        np.testing.assert_allclose(r.jacobian, ref, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- random programs ------

UNARY = [anp.sin, anp.cos, anp.tanh, lambda v: anp.exp(0.3 * v), lambda v: v * v,
         lambda v: anp.log(1.0 + v * v), lambda v: -v]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
          lambda a, b: a / (1.5 + anp.sin(b)), lambda a, b: anp.maximum(a, b) + 0.0 * b]


def random_program(rng):
    n = int(rng.integers(1, 5))
    steps = []
    for _ in range(int(rng.integers(1, 14))):
        if rng.random() < 0.45:
            steps.append((UNARY[rng.integers(len(UNARY))], (int(rng.integers(1 << 30)),)))
        else:
            steps.append((BINARY[rng.integers(len(BINARY))],
                          (int(rng.integers(1 << 30)), int(rng.integers(1 << 30)))))
    n_out = int(rng.integers(1, 4))
    picks = [int(rng.integers(1 << 30)) for _ in range(n_out)]
    const_out = rng.random() < 0.15

    def f(*xs):
        vals = list(xs)
        for op, refs in steps:
            vals.append(op(*[vals[r % len(vals)] for r in refs]))
        outs = [vals[p % len(vals)] for p in picks]  # may repeat, may be an input
        return tuple(outs) + ((2.0,) if const_out else ())

    xs = [float(v) for v in rng.uniform(-1.5, 1.5, n)]
    return f, xs


@pytest.mark.parametrize("seed", range(40))
def test_every_order_equals_jacfwd_and_jacrev(seed):
    rng = np.random.default_rng(seed)
    f, xs = random_program(rng)
    g = ad.trace(f, *xs)
    ref = ref_matrix(ad.jacfwd, g, xs)
    np.testing.assert_allclose(ref_matrix(ad.jacrev, g, xs), ref, rtol=1e-12, atol=1e-12)
    order = list(intermediates(g))
    rng.shuffle(order)
    results = [g.eliminate(o) for o in ORDERS + (order,)]
    results.append(path_sum(g))
    for r in results:
        np.testing.assert_allclose(r.jacobian, ref, rtol=1e-12, atol=1e-12)
    ps = results[-1]
    assert {"paths": ps.paths, "mults": ps.mults, "adds": ps.adds} == path_sum_cost(g)
    assert ps.paths == g.count_paths()
    for mode, r in zip(("forward", "reverse"), results):
        assert g.op_counts(mode)["rules"] == r.mults + op_count_offset(g, mode)
    # at another point of the same branch the labels follow the values
    ys = [x * 0.9 for x in xs]
    try:
        ref2 = ref_matrix(ad.jacfwd, g, ys)
    except ad.RetraceRequired:
        return
    np.testing.assert_allclose(g.eliminate("markowitz", *ys).jacobian, ref2,
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- bad input ------------


def test_array_graphs_are_refused_by_name():
    g = ad.trace(lambda x: anp.sum(anp.sin(x)), np.ones(3))
    with pytest.raises(ValueError, match=r"eliminate: node input x has shape \(3,\).*scalar"):
        g.eliminate()
    with pytest.raises(ValueError, match=r"jacobian_by_paths: node input x has shape"):
        g.jacobian_by_paths()
    assert g.count_paths() == 1  # structural: fine on arrays


def test_bad_orders_and_ends():
    g = ad.trace(colah, 2.0, 1.0)
    with pytest.raises(ValueError, match="unknown order 'sideways'"):
        g.eliminate("sideways")
    with pytest.raises(ValueError, match=r"missing \[3\], not intermediate \[4\]"):
        g.eliminate([2, 4])
    with pytest.raises(ValueError, match=r"repeated \[2\]"):
        g.eliminate([2, 2, 3])
    with pytest.raises(ValueError, match="no input named 'z'"):
        g.count_paths(input="z")
    with pytest.raises(ValueError, match="output 3 is out of range"):
        g.count_paths(output=3)
    with pytest.raises(TypeError, match="takes 2 argument"):
        g.eliminate("forward", 1.0)


def test_joint_rules_are_refused_by_the_offset():
    class Cube(ad.Operation):
        name = "cube_elim_test"

        def forward(self, x):
            return x ** 3

        def backward(self, g):
            (x,) = self.inputs
            return (3 * x ** 2 * g,)

        def jvp(self, t):
            (x,) = self.inputs
            return 3 * x ** 2 * t

    cube = Cube()
    g = ad.trace(lambda x: anp.sin(cube(x)), 2.0)
    assert g.eliminate("reverse").jacobian[0, 0] == pytest.approx(
        float(ad.grad(lambda x: anp.sin(cube(x)))(2.0)), rel=1e-12)
    with pytest.raises(ValueError, match="joint rule"):
        op_count_offset(g, "forward")


# ---------------------------------------------------------------- drawings -------------


def test_drawings(tmp_path):
    pytest.importorskip("matplotlib")
    g = ad.trace(colah, 2.0, 1.0)
    fig = g.draw_paths(tmp_path / "paths.png", names={2: "c", 3: "d"})
    assert len(fig.axes) == 3 and (tmp_path / "paths.png").stat().st_size > 0
    assert "∂e/∂b = 5" in fig.texts[0].get_text() or "= 5" in fig.texts[0].get_text()
    titles = [ax.get_title() for ax in fig.axes]
    assert "b → d → out\n1 · 3 = 3" in titles
    for order in ORDERS:
        fig = g.draw_elimination(order, tmp_path / f"{order}.png")
        assert len(fig.axes) == len(intermediates(g)) + 1
    assert len(ad.trace(diamonds(3), 0.3).draw_paths().axes) == 8
    with pytest.raises(ValueError, match="32 paths, more than max_panels=16"):
        ad.trace(diamonds(5), 0.3).draw_paths()


def test_drawings_use_the_report_palette():
    """Each order is drawn in its colour of every report figure (forward orange, reverse
    blue, Markowitz green; paths in the path sum's grey), and no panel titles overlap."""
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_hex
    from matplotlib.patches import Circle

    from admodes.bench.style import layout_problems, style

    def ring_colours(fig):
        return {to_hex(p.get_edgecolor()) for ax in fig.axes for p in ax.patches
                if isinstance(p, Circle) and p.get_linewidth() > 1.5}

    g = ad.trace(colah, 2.0, 1.0)
    for order in ORDERS:
        fig = g.draw_elimination(order)
        assert ring_colours(fig) == {style(order)["color"]}, order
        assert layout_problems(fig) == []
    assert ring_colours(g.draw_elimination("reverse", color="#123456")) == {"#123456"}
    assert ring_colours(g.draw_paths()) == {style("path sum")["color"]}
    fig = ad.trace(diamonds(3), 0.3).draw_paths()  # long titles are wrapped, not overlapped
    assert layout_problems(fig) == []
    assert max(ax.get_title().count("\n") for ax in fig.axes) >= 2


def test_drawings_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    g = ad.trace(colah, 2.0, 1.0)
    with pytest.raises(ImportError, match="draw_elimination needs matplotlib"):
        g.draw_elimination()


def test_reuse_report_section(tmp_path):
    pytest.importorskip("matplotlib")
    from admodes.bench.reuse_report import reuse_section
    md, nums = reuse_section(tmp_path, depths=(1, 2, 3, 4, 5), timed_depths=(2,), repeats=3,
                             size=4, depth=2)
    dia = nums["diamonds"]
    assert dia["paths"] == [2, 4, 8, 16, 32]
    assert dia["forward"] == dia["reverse"] == [4 * d - 2 for d in range(1, 6)]
    assert dia["slope_paths_per_depth"] == pytest.approx(1.0)
    fam = nums["family"]
    neck = next(v for k, v in fam.items() if k.startswith("bottleneck"))
    assert neck["markowitz"] < min(neck["forward"], neck["reverse"])
    for row in fam.values():
        assert max(row["max_abs_diff_vs_jacfwd"].values()) <= 1e-12 * max(
            1.0, row["jacobian_scale"])
    for f in nums["files"]:
        assert (tmp_path / f).stat().st_size > 0 and f"({f})" in md
    assert "## Why reuse wins" in md and "| bottleneck" in md
