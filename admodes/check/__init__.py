"""Checking derivatives: numerical references (:mod:`.numerical`), ``check_grads``
(:mod:`.grads`) and ``crosscheck`` (:mod:`.crosscheck`)."""

from .crosscheck import CrossCheckReport, crosscheck
from .grads import check_grads
from .numerical import complex_step_problem, input_scale, numerical_jacobian

__all__ = ["numerical_jacobian", "check_grads", "crosscheck", "CrossCheckReport",
           "input_scale", "complex_step_problem"]
