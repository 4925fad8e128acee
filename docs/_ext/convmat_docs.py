"""Small Sphinx additions for convmat's site.

* ``.. convmat-run:: show conv --input 2 --kernel 3 --stride 2 --transpose``: runs the
  ``convmat`` command line in-process at build time (``convmat.cli.main``) and shows the
  command and what it printed, so that the CLI page can never go stale (``--help`` works
  too: argparse's own text, from ``convmat.cli.build_parser()``).
* ``:test:`test_pooling.py::test_max_pool_rules_by_hand```: names the test that pins a
  fact down, and warns at build time when ``tests/`` has no such test.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: argparse wraps its help to the terminal's width: fix it, so the page is reproducible.
HELP_COLUMNS = "82"


class ConvmatRun(SphinxDirective):
    """The text ``convmat ARGS`` prints, computed now."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        from convmat.cli import main

        argv = shlex.split(self.arguments[0])
        out = io.StringIO()
        old = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = HELP_COLUMNS
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    status = main(argv)
                except SystemExit as stop:  # --help and usage errors exit
                    status = stop.code
        finally:
            if old is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = old
        if status not in (0, None):
            logger.warning(f"convmat {self.arguments[0]} exited with status {status}: "
                           f"{out.getvalue().strip()}", location=self.get_location())
        text = f"$ convmat {self.arguments[0]}\n{out.getvalue().rstrip()}"
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        block["classes"].append("convmat-cli")
        return [block]


def test_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``tests/<file>::<test>`` as literal text, checked to exist."""
    env = inliner.document.settings.env
    tests = Path(env.srcdir).parent / "tests"
    file, _, func = text.partition("::")
    path = tests / file
    found = path.is_file() and (not func or re.search(
        rf"^\s*def {re.escape(func)}\(", path.read_text(), re.MULTILINE))
    if not found:
        logger.warning(f"the test tests/{text} cited here does not exist",
                       location=(env.docname, lineno))
    node = nodes.literal(rawtext, f"tests/{text}", classes=["convmat-test"])
    return [node], []


#: numpydoc sections whose entries are ``name : type`` lines.
TYPED_SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Receives",
                  "Attributes", "Raises", "Warns"}
_ENTRY = re.compile(r"^(\S[^:]*?) : (.*)$")
_LITERAL = re.compile(r"(``.*?``)")


def escape_star_in_types(app, what, name, obj, options, lines):
    """``x : array_like, shape (C, *spatial)`` is numpydoc's way of writing a shape, but
    reST reads ``*spatial)`` as the start of an emphasis: escape the star in the type of a
    parameter line (outside literals), before numpydoc turns the entry into markup."""
    section = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and set(nxt.strip()) == {"-"} and len(nxt.strip()) >= 3:
            section = line.strip()
            continue
        if section not in TYPED_SECTIONS or not line.strip() or line[0].isspace():
            continue
        m = _ENTRY.match(line)
        if m:  # "name : type"
            lines[i] = f"{m.group(1)} : {_escape(m.group(2))}"
        elif section in ("Returns", "Yields", "Receives"):  # a type alone
            lines[i] = _escape(line)


def _escape(text: str) -> str:
    parts = _LITERAL.split(text)
    return "".join(p if p.startswith("``") else re.sub(r"(?<!\\)\*(?=\S)", r"\\*", p)
                   for p in parts)


def run_page_doctests(app):
    """The ``>>>`` examples of the pages in ``convmat_doctest_pages`` must hold: run them
    as doctests (a second or so) and warn on a failure, so that the site never shows an
    output the code does not give."""
    import doctest

    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    for page in app.config.convmat_doctest_pages:
        path = Path(app.srcdir) / page
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            failed, _ = doctest.testfile(str(path), module_relative=False, optionflags=flags,
                                         report=True, verbose=False)
        if failed:
            logger.warning(f"{failed} example(s) on this page do not hold:\n"
                           f"{out.getvalue()}", location=page)


def class_signature(app, what, name, obj, options, signature, return_annotation):
    """A ``LinearOperator`` subclass shows its own ``__init__`` arguments, not the
    ``(*args, **kwargs)`` of scipy's ``LinearOperator.__new__``."""
    import inspect

    if what != "class" or signature != "(*args, **kwargs)":
        return None
    owner = next(c for c in obj.__mro__ if "__init__" in vars(c))
    if not owner.__module__.startswith("convmat"):
        return None
    params = list(inspect.signature(owner.__init__).parameters.values())[1:]
    params = [p.replace(annotation=inspect.Parameter.empty) for p in params]
    return str(inspect.Signature(params)), None


def setup(app):
    app.connect("autodoc-process-signature", class_signature)
    app.add_config_value("convmat_doctest_pages", [], "env")
    app.connect("builder-inited", run_page_doctests)
    app.connect("autodoc-process-docstring", escape_star_in_types, priority=400)
    app.add_directive("convmat-run", ConvmatRun)
    app.add_role("test", test_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def gallery_scraper(block, block_vars, gallery_conf, **kwargs):
    """sphinx-gallery scraper for convmat's figures, which pyplot does not manage: save
    every figure made since the last code block, oldest first, and drop it."""
    from sphinx_gallery.scrapers import figure_rst

    from convmat import plot_layout

    figures = list(plot_layout.MADE_FIGURES)
    plot_layout.MADE_FIGURES.clear()
    paths = []
    for fig, path in zip(figures, block_vars["image_path_iterator"]):
        fig.savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
