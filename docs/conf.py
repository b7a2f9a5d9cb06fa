"""Sphinx configuration of the admodes documentation site.

Build (warnings are errors, nitpicky cross-references)::

    pip install -e '.[docs]'
    python -m sphinx -W -n --keep-going -b html docs docs/_build/html

The tutorial and how-to pages are MyST-markdown notebooks: myst-nb executes every code
cell at build time (a failing cell fails the build), so every figure on them is drawn
by the code on the page.  ``tests/test_docs.py`` runs the same cells without Sphinx.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # document (and execute) this checkout, not an installed copy
sys.path.insert(0, os.path.join(HERE, "_ext"))
# The notebook kernels are separate processes: they find this checkout the same way.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

# The kernels draw figures inline from the start, so a matplotlib Figure returned by a
# cell (ad.trace(...).draw()) is shown as a picture even before pyplot has drawn anything.
_IPYTHONDIR = os.path.join(HERE, "_build", "ipython")
os.makedirs(os.path.join(_IPYTHONDIR, "profile_default"), exist_ok=True)
with open(os.path.join(_IPYTHONDIR, "profile_default", "ipython_kernel_config.py"), "w") as _f:
    _f.write('c.IPKernelApp.matplotlib = "inline"\n')
os.environ["IPYTHONDIR"] = _IPYTHONDIR

import admodes  # noqa: E402

project = "admodes"
author = "the admodes authors"
copyright = "the admodes authors"
release = version = admodes.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "admodes_docs",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "_ext",
                    "jupyter_execute", "reference/_generated", "numpy-coverage.md"]
source_suffix = {".md": "myst-nb"}
root_doc = "index"

# MyST: ``$...$`` maths, ``:::`` fences, heading anchors for [text](page.md#anchor) links.
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# myst-nb: run every notebook page on every build; a cell that raises fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
nb_merge_streams = True

# autodoc + napoleon: the Google-style Args / Returns docstrings.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Nitpicky mode checks every cross-reference.  The build runs offline, so there is no
# intersphinx inventory for numpy / scipy / the standard library: names from those are
# not linked.  A few docstrings also name internals for readers of the source (the
# tape, the sweep, the jit passes); they are not part of the public reference and are
# listed here one by one, so any other broken reference still fails the build.
nitpick_ignore_regex = [
    ("py:class", r"(numpy|np|scipy|collections|typing|types|matplotlib)\..*"),
    ("py:class", r"(Callable|Any|Sequence|Iterable|Iterator|Mapping|ArrayLike|NDArray)(\[.*\])?"),
]
nitpick_ignore = [
    ("py:class", "admodes.reverse.ReverseLevel"),
    ("py:func", "admodes.reverse.backward"),
    ("py:mod", "admodes.sparse.detect"),
    ("py:func", "admodes.ops.complex.split_complex"),
    ("py:data", "admodes.graph.passes.PASSES"),
]

html_theme = "furo"
html_title = f"admodes {release}"
html_static_path = []
