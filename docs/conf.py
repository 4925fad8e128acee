"""Sphinx configuration of convmat's site.

    pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html

Three things are made at build time, none of them kept in git:

* ``docs/api/*.rst``: the API pages, one per idea, listing each module's public names
  (``_ext/convmat_api.py``), and ``docs/api/generated/``: autosummary's page per name;
* ``docs/auto_examples/``: the gallery, from the scripts in ``examples/`` (each run once);
* ``docs/notebooks/``: copies of ``notebooks/*.ipynb``, rendered from their committed
  outputs, never executed here.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")  # the gallery and autodoc draw into files only

import convmat  # noqa: E402

try:  # convmat.network needs torch; without it, autodoc still documents it
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    autodoc_mock_imports = ["torch"]
    HAVE_TORCH = False

# -- project -------------------------------------------------------------------------
project = "convmat"
author = "the convmat authors"
copyright = "convmat authors, MIT licence"
release = version = convmat.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
    "convmat_docs",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes a notebook beside each example, for download only: myst-nb
    # must not read them as pages.
    "auto_examples/**.ipynb",
]
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}

# Every cross-reference must resolve, except to the types of libraries whose inventories
# are not fetched here (no intersphinx: the build runs offline).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|scipy|torch|matplotlib|pathlib)(\..*)?"),
]

# The >>> examples of these pages run as doctests at every build (docs/_ext/convmat_docs.py).
convmat_doctest_pages = ["index.rst", "introduction.rst"] + (["torch.rst"] if HAVE_TORCH else [])

# -- autodoc, autosummary, numpydoc ---------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
# The numpydoc sections give every type; in the signature, numpy's ArrayLike would be
# spelled out as a union of private protocols.
autodoc_typehints = "none"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False  # the class template lists them once, not twice
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

import convmat_api  # noqa: E402

convmat_api.MOCK_IMPORTS = [] if HAVE_TORCH else ["torch"]
API_PAGES = convmat_api.write_pages(DOCS / "api")

# -- the gallery ---------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # run every example
    # ... but those that need torch only where it is installed (CI installs it).
    "ignore_pattern": "|".join([r"__init__\.py"] + ([] if HAVE_TORCH else [
        re.escape(p.name) for p in (ROOT / "examples").glob("*.py")
        if re.search(r"^import torch|^from torch", p.read_text(), re.MULTILINE)])),
    "download_all_examples": False,
    # convmat's plot functions make figures outside pyplot (no double display in Jupyter):
    # a scraper of their own saves those, the matplotlib one what an example makes itself.
    "image_scrapers": ("matplotlib", "convmat_docs.gallery_scraper"),
    "within_subsection_order": "FileNameSortKey",
}

# -- the notebooks: copied in, rendered from their committed outputs -------------------
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

RUN_LOCALLY = """\
```{{note}}
This page shows the notebook `notebooks/{name}` as committed, with its outputs; nothing was
re-run to build it. To run and edit it yourself, {{download}}`download it <{name}>`, or
from a clone of the repository:

    pip install ".[notebooks]"
    jupyter lab notebooks/{name}
```
"""


def copy_notebooks() -> list[str]:
    """``notebooks/*.ipynb`` into ``docs/notebooks/``, with a note on how to run each one
    put after its title (the files in git stay untouched)."""
    out = DOCS / "notebooks"
    out.mkdir(exist_ok=True)
    names = []
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(src.read_text(encoding="utf-8"))
        note = {"cell_type": "markdown", "metadata": {},
                "source": RUN_LOCALLY.format(name=src.name)}
        if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):  # cell ids from 4.5 on
            note["id"] = "convmat-run-locally"
        cells = nb["cells"]
        at = 1 if cells and cells[0]["cell_type"] == "markdown" else 0
        nb["cells"] = cells[:at] + [note] + cells[at:]
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        dst = out / src.name
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")
        names.append(src.stem)
    for stale in out.glob("*.ipynb"):
        if stale.stem not in names:
            stale.unlink()
    return names


NOTEBOOKS = copy_notebooks()

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"convmat {release}"
html_static_path = ["_static"]
html_css_files = ["convmat.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "introduction": [], "torch": []}
html_show_sourcelink = False
