"""Random programs shared by the property tests: a list of steps, each applying a unary
or binary op to earlier values (chosen by index), interpreted over an op vocabulary that
each test file picks for what it checks."""

import hypothesis.strategies as st


def programs(max_size):
    """Hypothesis strategy: ``[(is_unary, op, i, j), ...]`` with 1 to ``max_size`` steps."""
    return st.lists(
        st.tuples(st.booleans(), st.integers(0, 100), st.integers(0, 100),
                  st.integers(0, 100)),
        min_size=1, max_size=max_size)


def interpret(prog, x, unary, binary):
    """Run ``prog`` on ``x`` with the ops ``unary`` / ``binary``; the last value."""
    vals = [x]
    for is_unary, op, i, j in prog:
        a = vals[i % len(vals)]
        if is_unary:
            vals.append(unary[op % len(unary)](a))
        else:
            vals.append(binary[op % len(binary)](a, vals[j % len(vals)]))
    return vals[-1]
