"""The notebooks in notebooks/: each one's source is a py:percent text file paired with its
.ipynb through jupytext (notebooks/jupytext.toml), the committed .ipynb is that source,
executed, without errors, and it runs from top to bottom in a fresh kernel.

After editing notebooks/NN_name.py:

    jupytext --sync notebooks/NN_name.py
    jupyter nbconvert --to notebook --execute --inplace notebooks/NN_name.ipynb
"""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9]*.py"))
ids = [p.stem for p in NOTEBOOKS]


def test_every_notebook_has_its_text_source_and_back():
    assert len(NOTEBOOKS) >= 7, NOTEBOOKS
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]
    config = (NOTEBOOK_DIR / "jupytext.toml").read_text()
    assert re.search(r'^formats\s*=\s*"ipynb,py:percent"', config, re.M), config
    assert not (NOTEBOOK_DIR / "_build.py").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_pair_agrees(path):
    jupytext = pytest.importorskip("jupytext")
    text = jupytext.read(path.with_suffix(".py"))
    committed = jupytext.read(path)
    assert [(c.cell_type, c.source) for c in committed.cells] == \
        [(c.cell_type, c.source) for c in text.cells], (
        f"{path.name} differs from {path.stem}.py: run `jupytext --sync "
        f"notebooks/{path.stem}.py` and execute it again")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_notebook_is_executed_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells and all(c.execution_count for c in code_cells), (
        f"{path.name} was not executed: run `jupyter nbconvert --to notebook --execute "
        f"--inplace notebooks/{path.name}`")
    counts = [c.execution_count for c in code_cells]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: run top to bottom once"
    assert any(c.outputs for c in code_cells), f"{path.name} has no outputs"
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_the_article_is_cited_by_its_title(path):
    text = path.read_text()
    assert not re.search(r"\bseed\b", text, re.I), "cite the article by its title"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_runs_in_a_fresh_kernel(path):
    from nbclient import NotebookClient

    source = path.with_suffix(".py").read_text()
    if "convmat.network" in source and importlib.util.find_spec("torch") is None:
        pytest.skip(f"{path.name} runs torch networks: pip install \"convmat[torch]\"")
    nb = nbformat.read(path, as_version=4)
    # Raises CellExecutionError, naming the cell and the traceback, on any error.
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
