"""The notebooks in notebooks/ run from top to bottom in a fresh kernel, and the committed
files are those that notebooks/_build.py writes, executed (outputs included)."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _builder():
    spec = importlib.util.spec_from_file_location("_build", NOTEBOOK_DIR / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5, NOTEBOOKS


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_a_fresh_kernel(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # Raises CellExecutionError, naming the cell and the traceback, on any error.
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_matches_its_source_and_has_outputs(path):
    cells = _builder().NOTEBOOKS[path.name]
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert [c.source for c in nb.cells] == [c.source for c in cells], (
        f"{path.name} differs from notebooks/_build.py: run `python notebooks/_build.py`"
    )
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), f"{path.name} was not executed"
    assert not [o for c in code_cells for o in c.outputs if o.output_type == "error"]
