"""THE table of primitives, grouped: elementwise, reductions, shape, linear algebra.

Importing this package registers every primitive in :data:`admodes.registry`."""

from .. import forward, reverse
from . import elementwise, linalg, reductions, shape  # noqa: F401  (registers)

forward._install(shape.reshape.primitive, elementwise.add.primitive,
                 shape.broadcast_to.primitive)
reverse._install(reductions.sum.primitive, shape.reshape.primitive,
                 elementwise.add.primitive, elementwise._sweeping)

from . import complex, fft, special  # noqa: E402,F401  (complex intermediates, fft, scipy.special)

reverse._real = complex.real.primitive
