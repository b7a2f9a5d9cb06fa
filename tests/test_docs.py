"""The documentation's code runs: every ``{code-cell}`` of every tutorial, how-to and
reference page is executed in order, in a fresh namespace, as myst-nb does when the site is built —
so a broken page fails ``pytest`` even where Sphinx is not installed.

Figures are drawn with the Agg backend and closed after each page; the working
directory is a temporary folder, so a page that writes a file leaves nothing behind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for sub in ("tutorial", "howto", "reference") for p in (DOCS / sub).glob("*.md"))
_FENCE = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)


def code_cells(text):
    """The source of each ``{code-cell}`` of a MyST page, in order (cell options — lines
    ``:key: value`` or a ``---`` block at the top of a cell — removed)."""
    cells = []
    for m in _FENCE.finditer(text):
        lines = m.group(2).splitlines()
        if lines and lines[0].strip() == "---":
            end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
            lines = lines[end + 1:]
        while lines and re.match(r"^:\w[\w-]*:", lines[0]):
            lines = lines[1:]
        cells.append("\n".join(lines))
    return cells


def test_pages_are_found():
    names = {p.name for p in PAGES}
    assert len([p for p in PAGES if p.parent.name == "tutorial" and p.stem[:2].isdigit()]) == 8
    assert {"custom-primitive.md", "convert-numpy.md", "choose-mode.md", "report.md",
            "compare.md"} <= names


def test_code_cells_parser():
    page = ("text\n```{code-cell} ipython3\n:tags: [hide-input]\nx = 1\n```\n"
            "```python\nnot a cell\n```\n````{code-cell} ipython3\n---\ntags: [a]\n---\n"
            "y = x + 1\n````\n")
    assert code_cells(page) == ["x = 1", "y = x + 1"]


@pytest.mark.parametrize("page", [p for p in PAGES if "code-cell" in p.read_text()],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_page_runs(page, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    try:
        for k, cell in enumerate(code_cells(page.read_text(encoding="utf-8"))):
            code = compile(cell, f"{page.relative_to(DOCS)} [cell {k}]", "exec")
            exec(code, namespace)  # noqa: S102 - the page's own code, as myst-nb runs it
    finally:
        plt.close("all")
