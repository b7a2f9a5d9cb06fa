"""Custom operations shared by the tests (the seed-style Operation from DESIGN.md)."""

import admodes as ad


class Cube(ad.Operation):
    """x ** 3 with both rules written by hand."""

    name = "cube_test"

    def forward(self, x):
        return x ** 3

    def backward(self, output_grad):
        (x,) = self.inputs
        return (3 * x ** 2 * output_grad,)

    def jvp(self, x_dot):
        (x,) = self.inputs
        return 3 * x ** 2 * x_dot
