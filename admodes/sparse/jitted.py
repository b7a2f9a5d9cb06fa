"""``ad.jit`` of a sparse Jacobian or Hessian.

``ad.jit(ad.sparse_jacobian(f))`` cannot trace the whole call: its result is a scipy
array, which holds no traced values, and its pattern and colourings are structural
(plain numpy on index arrays, nothing to differentiate or compile).  So the call is
split where :mod:`.compressed` splits it:

1. the plan (pattern, colourings, seeds, gather indices) is computed outside any trace,
   once per input structure, exactly as without jit;
2. the compressed evaluation — one batched forward pass over the column colours, one
   recorded pass and one batched reverse sweep over the row colours, or the batched
   forward-over-reverse Hessian-vector products — and the gather of the CSR data are
   traced and compiled by :class:`admodes.graph.jit.Jitted`, one program per plan (the
   seeds and gather indices are constants of that program, so the parts of the tangents
   that do not depend on ``x`` — a linear stencil's — are folded at compile time);
3. the scipy array is assembled around the program's output (no copy: it shares the
   plan's read-only index arrays).

A pattern that detection marks value-dependent is re-detected at every call (as without
jit); each distinct pattern then gets its own program (at most ``max_variants`` kept).
"""

from __future__ import annotations

from ..graph.jit import Jitted

__all__ = ["JittedSparse"]


class JittedSparse:
    """A sparse Jacobian or Hessian compiled by ``ad.jit``: call it on ``x`` for a scipy
    CSR array; ``.source(x)`` shows the compiled program, ``.info(x)`` what a call does.

    Attributes:
        sparse: the :class:`~admodes.sparse.SparseJacobian` or
            :class:`~admodes.sparse.SparseHessian` it compiles.
        n_traces: how many programs were traced.

    >>> import admodes as ad, admodes.numpy as anp, numpy as np
    >>> f = lambda u: u[1:-1] ** 3 - (u[2:] - 2 * u[1:-1] + u[:-2])
    >>> fast = ad.jit(ad.sparse_jacobian(f))
    >>> fast(np.arange(5.0)).toarray()
    array([[-1., 5., -1.,  0.,  0.],
           [ 0., -1., 14., -1.,  0.],
           [ 0.,  0., -1., 29., -1.]])
    >>> fast.n_traces, fast.info(np.arange(5.0))["n_colors"]
    (1, 3)
    """

    def __init__(self, sparse, static_argnums=(), optimize=True, max_variants=8):
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if tuple(static_argnums):
            raise TypeError(f"jit of {sparse.fname}: static_argnums={tuple(static_argnums)} "
                            f"given, but a {sparse.fname} takes one argument, which is "
                            "differentiated (fix other arguments of f with a closure)")
        self.sparse = sparse
        self.optimize = optimize
        self.max_variants = max_variants
        self._programs = {}  # id(plan) -> (plan, mode, Jitted); the plan is held, so its id stays
        self.__name__ = f"{sparse.fname}_{getattr(sparse.f, '__name__', 'f')}"
        self.__doc__ = sparse.__doc__

    def __repr__(self):
        return f"<ad.jit of {self.__name__}: {len(self._programs)} program(s)>"

    @property
    def n_traces(self):
        return sum(j.n_traces for _, _, j in self._programs.values())

    def _program(self, x):
        plan, mode = self.sparse._prepare(x)
        got = self._programs.get(id(plan))
        if got is None or got[0] is not plan or got[1] != mode:
            sparse = self.sparse

            def values(x, plan=plan, mode=mode):
                return sparse._values(x, plan, mode)

            values.__name__ = self.__name__.replace("-", "_")
            got = (plan, mode, Jitted(values, (), self.optimize, self.max_variants))
            self._programs[id(plan)] = got
            while len(self._programs) > self.max_variants:
                del self._programs[next(iter(self._programs))]
        return got

    def __call__(self, x):
        plan, _, program = self._program(x)
        return plan.assemble(program(x))

    def source(self, x):
        """The generated source of the compressed evaluation at ``x``'s structure.

        Args:
            x: an input of the structure to ask about.

        Returns:
            The source text (the assembly of the scipy array is not part of it).
        """
        _, _, program = self._program(x)
        return program.source(x)

    def info(self, x):
        """As the uncompiled ``info(x)``: mode, colour counts, nnz, caching facts.

        Args:
            x: an input of the structure to ask about.

        Returns:
            A dict.
        """
        return self.sparse.info(x)
