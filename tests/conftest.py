import numpy as np
import pytest

import admodes.ops.special  # noqa: F401  (registered on first use; the tests cover it)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _exercise_residual_declarations(monkeypatch):
    """Drop every undeclared residual from the tape, however small, so that a wrong
    ``keep`` declaration shows up as NaN in the tests instead of hiding below the size
    threshold."""
    from admodes import reverse
    monkeypatch.setattr(reverse, "PLACEHOLDER_MIN_SIZE", 0)
