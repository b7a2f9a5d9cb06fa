"""THE table of primitives, grouped: elementwise, reductions, shape (with indexing),
contractions (matmul, einsum), linear algebra (``numpy.linalg``: linalg, decompositions),
complex intermediates (complex), ``numpy.fft`` (fft) and ``scipy.special`` (special).

Importing this package registers every primitive in :data:`admodes.registry`."""

from . import (  # noqa: F401  (registers)
    complex,
    contractions,
    decompositions,
    elementwise,
    fft,
    linalg,
    reductions,
    shape,
    special,
)
