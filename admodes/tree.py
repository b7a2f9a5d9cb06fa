"""Pytrees: nested tuples, lists and dicts of leaves, flattened and rebuilt.

Dict keys are visited in sorted order (as JAX does), so two dicts with the same keys
flatten alike whatever their insertion order; a rebuilt dict has the user's key order.
Namedtuples and ``OrderedDict`` s are containers too, rebuilt with their type (an
``OrderedDict`` is visited in its own order).  ``None`` is an empty subtree.
"""

from __future__ import annotations

import collections

__all__ = ["flatten", "unflatten", "tree_map", "leaf_paths"]

_LEAF = "*"


_CONTAINERS = (tuple, list, dict, type(None))
LEAF_DEF = (_LEAF, None, ())


class _Keys(tuple):
    """A dict's keys in sorted order (what treedefs compare), remembering the order in
    which the user's dict held them (what ``unflatten`` rebuilds)."""

    def __new__(cls, d):
        self = super().__new__(cls, sorted(d))
        self.order = tuple(d) if tuple(d) != tuple(self) else None
        return self

    def __getnewargs__(self):
        return (dict.fromkeys(self.order or self),)


def _dict_keys(d):
    if type(d) is collections.OrderedDict:
        return tuple(d)  # visited in its own order, as JAX does
    return _Keys(d)


def flatten(tree):
    """Return ``(leaves, treedef)``; iterative, so deep trees do not recurse."""
    if not isinstance(tree, _CONTAINERS):  # the common case: one array or float
        return [tree], LEAF_DEF
    if type(tree) is dict and not any(isinstance(v, _CONTAINERS) for v in tree.values()):
        keys = _Keys(tree)  # a flat dict of parameters
        return [tree[k] for k in keys], ("dict", keys, (LEAF_DEF,) * len(keys))
    leaves = []
    # treedef: (kind, dict keys or None, children), built in post-order.
    def build(node):
        work = [(node, False)]
        built = []
        while work:
            n, done = work.pop()
            if done:
                kind, keys, k = n
                children = built[len(built) - k:] if k else []
                del built[len(built) - k:]
                built.append((kind, keys, tuple(children)))
                continue
            if isinstance(n, (tuple, list)):
                if _is_namedtuple(n):
                    kind, keys = "namedtuple", type(n)
                else:
                    kind, keys = ("tuple" if isinstance(n, tuple) else "list"), None
                work.append(((kind, keys, len(n)), True))
                for child in reversed(n):
                    work.append((child, False))
            elif isinstance(n, dict):
                keys = _dict_keys(n)
                kind = collections.OrderedDict if type(keys) is tuple else "dict"
                work.append(((kind, keys, len(keys)), True))
                for key in reversed(keys):
                    work.append((n[key], False))
            elif n is None:
                built.append(("none", None, ()))
            else:
                leaves.append(n)
                built.append((_LEAF, None, ()))
        return built[0]

    return leaves, build(tree)


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def unflatten(treedef, leaves):
    """Rebuild a tree of ``treedef``'s structure from ``leaves`` (in flatten order)."""
    it = iter(leaves)

    def build(td):
        kind, keys, children = td
        if kind == _LEAF:
            return next(it)
        if kind == "none":
            return None
        parts = [build(c) for c in children]
        if kind == "tuple":
            return tuple(parts)
        if kind == "list":
            return parts
        if kind == "namedtuple":
            return keys(*parts)
        d = dict(zip(keys, parts))
        order = getattr(keys, "order", None)
        if order is not None:
            d = {k: d[k] for k in order}
        return d if kind == "dict" else kind(d)

    out = build(treedef)
    rest = list(it)
    if rest:
        raise ValueError(f"unflatten: {len(rest)} leaves left over")
    return out


def tree_map(f, tree, *rest):
    leaves, td = flatten(tree)
    others = [flatten(r)[0] for r in rest]
    return unflatten(td, [f(x, *ys) for x, *ys in zip(leaves, *others)])


def leaf_paths(tree, prefix=""):
    """Readable paths of the leaves (``[0]['w']``), in flatten order."""
    out = []
    stack = [(tree, prefix)]
    while stack:
        node, path = stack.pop()
        if _is_namedtuple(node):
            for i in reversed(range(len(node))):
                stack.append((node[i], f"{path}.{node._fields[i]}"))
        elif isinstance(node, (tuple, list)):
            for i in reversed(range(len(node))):
                stack.append((node[i], f"{path}[{i}]"))
        elif isinstance(node, dict):
            for k in reversed(_dict_keys(node)):
                stack.append((node[k], f"{path}[{k!r}]"))
        elif node is None:
            continue
        else:
            out.append(path)
    return out
