"""THE table of primitives, grouped: elementwise (and the rest of numpy's ufuncs in
ufuncs), reductions, shape (with indexing; numpy's array-manipulation composites in
manipulation), numeric helpers,
contractions (matmul, einsum), linear algebra (``numpy.linalg``: linalg, norms, decompositions),
complex intermediates (complex), ``numpy.fft`` (fft); ``scipy.special`` (special) is
registered on first use of a scipy ufunc on a traced value (importing scipy is slow).

Importing this package registers every primitive in :data:`admodes.registry`."""

from . import (  # noqa: F401  (registers)
    complex,
    contractions,
    decompositions,
    elementwise,
    fft,
    linalg,
    manipulation,
    norms,
    numeric,
    reductions,
    shape,
    ufuncs,
)
