"""The API reference, written at build time from the code.

Each page of ``docs/api/`` is one idea of the article, and lists its public names
automatically: a builder that appears in ``convmat.__all__`` (or in the ``__all__`` of a
public submodule such as ``convmat.testing``) shows up on its page at the next build, with
no edit here. :data:`GROUPS` says which modules feed which page; two rules keep twins
together whatever module they live in:

* a matrix-free operator (``*_operator``, or a ``LinearOperator`` class) goes to the
  operators page;
* a shape helper ``<op>_output_shape`` goes to the page of its builder (``<op>_matrix`` or
  ``..._selection``).

A module that is not importable yet (being written) is skipped; a public name whose module
no group lists goes to the page "More", so that nothing public is ever left out.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

from sphinx.ext.autodoc.mock import mock
from sphinx.util import logging

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Group:
    slug: str
    title: str
    intro: str
    #: Modules re-exported by ``convmat``: their names in ``convmat.__all__`` are listed.
    modules: tuple[str, ...] = ()
    #: Public submodules used by their own name (``convmat.testing.dottest``): every name
    #: of their ``__all__`` is listed.
    namespaces: tuple[str, ...] = ()
    #: Names of ``convmat.__all__`` this page takes whatever module defines them.
    claims: tuple[str, ...] = ()
    #: Free text (reStructuredText) after the tables.
    outro: str = ""


GROUPS = [
    Group("convolution", "Convolution and its transpose", """
A convolution of one sample is a matrix ``C``; the transposed convolution is literally
``C.T`` (:func:`conv_transpose_matrix` builds it directly, entry for entry). The tap
patterns write the matrix as :math:`\\sum_k w_k E_k`, one 0/1 matrix per filter weight:
they label the entries with the filter's letters, and give the gradient with respect to
the weights. :func:`conv_weight_matrix` turns the convolution around: for a fixed input,
a matrix acting on the weight.""",
          modules=("convmat.convolution", "convmat.weights"), claims=("conv_weight_matrix",)),
    Group("pooling", "Pooling and unpooling", """
Max pooling is a 0/1 selection matrix ``S`` (one 1 per row, at each window's maximum) and
the pooling indices torch returns; average pooling is a fixed matrix. The unpoolings go
back up: max unpooling puts each value where its maximum came from (``S.T`` for
non-overlapping windows), bed of nails puts it at one corner of its block, pixel shuffle
rearranges channels into space. Nearest-neighbour unpooling is
:func:`~convmat.interpolate_matrix` (see :doc:`resampling`).""",
          modules=("convmat.pooling", "convmat.adaptive", "convmat.unpooling")),
    Group("resampling", "Resampling", """
Interpolation (nearest, linear, bicubic, area), grid sampling and affine grids, padding,
and the im2col / col2im rearrangement (unfold / fold): each as the matrix of
``torch.nn.functional``'s op on one sample.""",
          modules=("convmat.interpolation", "convmat.sampling", "convmat.padding",
                   "convmat.unfolding")),
    Group("network", "Whole networks", """
A ``torch.nn.Module`` at one sample, as a product of the sparse matrices above, and its
receptive fields. This module needs PyTorch.""", namespaces=("convmat.network",)),
    Group("testing", "Adjoint testing", """
Is a hand-written backward the adjoint of its forward? The dot-product test, an assertion,
where the two disagree, and the exact sparse matrix of a black-box linear function found by
probing it.""", namespaces=("convmat.testing",)),
    Group("operators", "Matrix-free operators and spectra", """
Every builder has a matrix-free twin: a ``scipy.sparse.linalg.LinearOperator`` equal to the
matrix and to its adjoint, that never builds it. Spectra of convolutions (exact through the
FFT for circular padding), and the size limit above which a builder refuses to build a
matrix and points to its operator.""",
          modules=("convmat.operators", "convmat.spectral", "convmat._sparse")),
    Group("pictures", "Pictures", """
Sparsity patterns, matrices labelled by filter tap, a convolution beside its transpose,
coverage maps of the checkerboard artefact, animations, and the article's figures. Every
plotting function takes ``ax=None`` and returns what it drew; none calls ``plt.show()``.
See the :doc:`/auto_examples/index` for each one at work.""",
          namespaces=("convmat.plot", "convmat.animation", "convmat.explore",
                      "convmat.figures")),
]

OTHER = Group("more", "More", """
Public names whose module is not yet filed under one of the pages above.""")

SECTIONS = [  # (title, test on (name, object)), first match wins
    ("Matrices", lambda n, o: n.endswith(("_matrix", "_selection"))),
    ("Matrix-free operators", lambda n, o: _is_operator(n, o)),
    ("Shape arithmetic", lambda n, o: n.endswith("_output_shape")),
    ("Functions", lambda n, o: inspect.isfunction(o) or inspect.isbuiltin(o)),
    ("Classes", lambda n, o: inspect.isclass(o)),
    ("Data", lambda n, o: True),
]


def _is_operator(name, obj) -> bool:
    if name.endswith("_operator"):
        return True
    if not inspect.isclass(obj):
        return False
    return any(base.__name__ == "LinearOperator" for base in inspect.getmro(obj))


@dataclass
class Page:
    group: Group
    #: section title -> (module used as currentmodule, names), in order
    tables: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: re-exported modules whose home this page is (namespaces get one in their section)
    modules: list[str] = field(default_factory=list)

    def add(self, module: str, name: str, obj) -> None:
        section = next(title for title, test in SECTIONS if test(name, obj))
        if module != "convmat":
            section = f"``{module}``"  # a namespace keeps its own table
        self.tables.setdefault((section, module), []).append(name)

    def render(self) -> str:
        g = self.group
        lines = [g.title, "=" * len(g.title), ""]
        for m in self.modules:  # link targets of :mod:`convmat.pooling` and the like
            lines += [f".. module:: {m}", ""]
        lines += [".. currentmodule:: convmat", "", g.intro.strip(), ""]
        order = {title: i for i, (title, _) in enumerate(SECTIONS)}
        keys = sorted(self.tables, key=lambda k: (k[1] != "convmat", order.get(k[0], 0)))
        for section, module in keys:
            lines += [section, "-" * len(section), ""]
            if module != "convmat":
                lines += [f".. module:: {module}", ""]
            lines += [f".. currentmodule:: {module}", ""]
            if module != "convmat":
                summary = _first_paragraph(importlib.import_module(module).__doc__)
                lines += [summary, ""] if summary else []
            lines += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
            lines += [f"   {name}" for name in self.tables[(section, module)]] + [""]
        if g.outro:
            lines += [g.outro.strip(), ""]
        return "\n".join(lines)


_ROLE = re.compile(r":[\w:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


def _first_paragraph(doc) -> str:
    """A module's summary: its first paragraph, roles turned into literals (a reference
    that resolves in the module's own context may not from another page)."""
    if not doc:
        return ""
    first = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    return _ROLE.sub(r"``\1``", first)


def collect() -> list[Page]:
    """Every public name of convmat on one page, grouped as the article groups the ideas."""
    import convmat

    pages = {g.slug: Page(g) for g in GROUPS}
    for g in GROUPS:  # namespaces: every name of their __all__, under their own name
        for m in g.namespaces:
            mod = _import(m)
            for name in getattr(mod, "__all__", ()) if mod else ():
                pages[g.slug].add(m, name, getattr(mod, name))
    owner = {m: g.slug for g in GROUPS for m in g.modules if _import(m) is not None}
    for m, slug in owner.items():
        if not m.split(".")[-1].startswith("_"):
            pages[slug].modules.append(m)

    exported = list(dict.fromkeys(convmat.__all__))
    home: dict[str, str] = {}  # name -> page slug
    for name in exported:
        obj = getattr(convmat, name)
        claimed = [g.slug for g in GROUPS if name in g.claims]
        where = (claimed[0] if claimed else "operators" if _is_operator(name, obj)
                 else _module_page(name, obj, owner))
        if where is not None:
            home[name] = where
    for name in exported:  # a shape helper goes where its builder is
        if name.endswith("_output_shape"):
            op = name[: -len("_output_shape")]
            exact = [b for b in (f"{op}_matrix", f"{op}_selection") if b in home]
            near = [b for b in home if b.endswith((f"_{op}_matrix", f"_{op}_selection"))]
            for builder in exact + near:  # pool_output_shape: max_pool_selection's page
                home[name] = home[builder]
                break
    other = Page(OTHER)
    for name in exported:
        (pages[home[name]] if name in home else other).add("convmat", name,
                                                           getattr(convmat, name))
    result = [p for p in pages.values() if p.tables]
    if other.tables:
        logger.info(f"[convmat api] not filed under a page: {sorted(other.tables)}")
        result.append(other)
    for p in result:
        for key in p.tables:
            p.tables[key].sort(key=str.lower)
    return result


def _module_page(name, obj, owner):
    """The page of the first listed module that exports ``name``, or that defines it."""
    for module, slug in owner.items():
        if name in getattr(_import(module), "__all__", ()):
            return slug
    return owner.get(getattr(obj, "__module__", None))


_imported: dict[str, object] = {}
#: ``autodoc_mock_imports``, set by conf.py.
MOCK_IMPORTS: list[str] = []


def _import(module: str):
    """The module, or None when it is not importable yet (being written: its page fills
    in when it lands)."""
    if module not in _imported:
        try:
            with mock(MOCK_IMPORTS):  # as autodoc will: convmat.network without torch
                _imported[module] = importlib.import_module(module)
        except ImportError as err:
            logger.info(f"[convmat api] skipping {module}: {err}")
            _imported[module] = None
    return _imported[module]


def _write(path: Path, text: str) -> None:
    """Write only a change, so that Sphinx rebuilds only what changed."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


#: Pages written by hand that are a module's home.
HAND_WRITTEN_HOMES = {"convmat.cli": "cli"}


def module_index(pages: list[Page]) -> str:
    """A table of convmat's modules, each with its summary and the page of its names, and
    an (invisible) link target for every other public module, so that ``:mod:`` references
    in docstrings resolve."""
    import convmat

    homes = {m: f"api/{p.group.slug}" for p in pages for m in p.modules}
    homes.update({m: f"api/{p.group.slug}" for p in pages for _, m in p.tables
                  if m != "convmat"})
    homes.update(HAND_WRITTEN_HOMES)
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 55 20", "",
             "   * - module", "     - what", "     - page"]
    hidden = []
    for info in pkgutil.iter_modules(convmat.__path__):
        name = f"convmat.{info.name}"
        if info.name.startswith("_") or _import(name) is None:
            continue
        if name not in homes:
            hidden.append(name)
            continue
        summary = _first_paragraph(_import(name).__doc__).split(". ")[0].rstrip(".")
        lines += [f"   * - :mod:`{name}`", f"     - {summary}", f"     - :doc:`/{homes[name]}`"]
    lines.append("")
    for name in hidden:  # helpers of the modules above, referred to by their docstrings
        lines += [f".. py:module:: {name}", "   :no-contents-entry:", ""]
    return "\n".join(lines)


def write_pages(out: Path) -> list[str]:
    """Write the API pages into ``out``: ``<slug>.rst`` for every page, ``toctree.inc``
    (their list, for the reference page), ``modules.inc`` (the table of modules) and
    ``torch_table.inc`` (for the torch page). Returns the slugs in order."""
    out.mkdir(parents=True, exist_ok=True)
    pages = collect()
    slugs = [p.group.slug for p in pages]
    for page in pages:
        _write(out / f"{page.group.slug}.rst", page.render())
    for stale in out.glob("*.rst"):
        if stale.stem not in slugs:
            stale.unlink()
    toc = ".. toctree::\n   :maxdepth: 2\n\n" + "".join(f"   api/{s}\n" for s in slugs)
    _write(out / "toctree.inc", toc + "   cli\n")
    _write(out / "modules.inc", module_index(pages))
    _write(out / "torch_table.inc", torch_table())
    return slugs


# --------------------------------------------------------------------------- convmat vs torch
#: ``(convmat names, torch counterpart, remark)``: one row of the table on the torch page.
#: A row appears as soon as one of its names is public, so the table follows the library.
TORCH_OPS = [
    (("conv_matrix", "conv_operator"),
     "``F.conv1d/2d/3d``; ``nn.Conv1d/2d/3d(padding_mode=...)``",
     "``padding`` also ``'valid'``, ``'same'``; padding modes zeros, reflect, replicate, "
     "circular"),
    (("conv_transpose_matrix", "conv_transpose_operator"),
     "``F.conv_transpose1d/2d/3d``; ``nn.ConvTranspose1d/2d/3d(...)(x, output_size=...)``",
     "equals ``conv_matrix(w, <its output shape>).T``"),
    (("conv_weight_matrix",), "the convolution as a function of its weight",
     "``X @ w.ravel() == conv(x, w)`` for the fixed input ``x``"),
    (("max_pool_selection", "max_pool_operator"),
     "``F.max_pool1d/2d/3d(..., return_indices=True)``",
     "returns ``(S, indices)``; ``S.T`` is the gradient"),
    (("avg_pool_matrix", "avg_pool_operator"), "``F.avg_pool1d/2d/3d``", ""),
    (("adaptive_avg_pool_matrix", "adaptive_avg_pool_operator"),
     "``F.adaptive_avg_pool1d/2d/3d``", ""),
    (("adaptive_max_pool_selection",),
     "``F.adaptive_max_pool1d/2d/3d(..., return_indices=True)``", "returns ``(S, indices)``"),
    (("max_unpool_matrix", "max_unpool_operator"), "``F.max_unpool1d/2d/3d``",
     "takes the indices of the max pooling"),
    (("bed_of_nails_matrix", "bed_of_nails_operator"), "none",
     "each value at position ``offset`` of its block, zeros elsewhere"),
    (("pixel_shuffle_matrix", "pixel_shuffle_operator"), "``F.pixel_shuffle``", ""),
    (("pixel_unshuffle_matrix", "pixel_unshuffle_operator"), "``F.pixel_unshuffle``", ""),
    (("interpolate_matrix", "interpolate_operator"), "``F.interpolate``, ``nn.Upsample``",
     "nearest, nearest-exact, (bi/tri)linear, bicubic"),
    (("pad_matrix", "pad_operator"), "``F.pad``",
     "constant (value 0), reflect, replicate, circular; negative widths crop"),
    (("unfold_matrix", "unfold_operator"), "``F.unfold`` (im2col)", ""),
    (("fold_matrix", "fold_operator"), "``F.fold`` (col2im)", "``unfold_matrix(...).T``"),
    (("grid_sample_matrix", "grid_sample_operator"), "``F.grid_sample``",
     "one sample: ``grid`` is ``(*out_spatial, ndim)``"),
    (("affine_grid",), "``F.affine_grid``", "returns a numpy grid for grid_sample_matrix"),
]


def torch_table() -> str:
    """The table of builders beside their torch ops, as reStructuredText."""
    import convmat

    public = set(convmat.__all__)
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 32 38 30", "",
             "   * - convmat", "     - ``torch.nn.functional`` (``F``)", "     - remark"]
    for names, op, remark in TORCH_OPS:
        shown = [f":func:`~convmat.{n}`" for n in names if n in public]
        if shown:
            lines += [f"   * - {', '.join(shown)}", f"     - {op}", f"     - {remark}"]
    return "\n".join(lines) + "\n"
