"""The ``convmat`` command: the figures of *Unsampling: Unpooling and Transpose
Convolution*, small matrices in the terminal, and animations.

* ``convmat figures [--out DIR]`` renders the article's figures as PNG files.
* ``convmat show OP [options]`` prints the matrix of one small operation, each entry
  labelled by the filter tap it holds (``x, y, z`` for a 3-tap filter, as the article
  names them) or by its value, with the output each row computes and the maps.
* ``convmat animate OP [options] --out FILE.gif`` draws it step by step
  (:mod:`convmat.animation`): row by row of ``C``, or column by column of ``C.T``.

Each subcommand is one entry of :data:`COMMANDS`, each operation one of :data:`SHOW_OPS`
with the options it takes (any other is refused, never ignored). matplotlib is imported
only by the commands that draw, so that ``show`` starts fast. Bad input ends in one line
on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .show import SHOW_OPS, UsageError

EPILOG = """\
examples:
  convmat figures --out figs
  convmat show conv --input 2 --kernel 3 --stride 2 --transpose   # transposed conv, 2 -> 5
  convmat show conv --input 4 --kernel 3 --padding 1              # conv, 4 -> 4
  convmat show maxpool --input 4x4 --kernel 2
  convmat show nearest --input 2x2 --scale 2
  convmat animate conv --transpose --stride 2 --out transposed.gif
"""

def _one_line(message) -> str:
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    """argparse, with every error on one line (``convmat show: error: ...``), status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------- argument types
def _sizes(text: str) -> tuple[int, ...]:
    """``"4"``, ``"4x4"`` or ``"4,4"`` as a tuple of non-negative integers."""
    parts = text.replace("x", ",").replace("X", ",").split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes like 4, 4x4 or 2,3, got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must not be negative, got {text!r}")
    return values


def _count(text: str) -> int:
    """A number of channels, groups or dots per inch: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _numbers(text: str) -> np.ndarray:
    try:
        return np.array([float(p) for p in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 1,2,3, got {text!r}") from None


def _finite_numbers(text: str) -> np.ndarray:
    """Filter values: a NaN or infinite weight makes every entry it touches meaningless."""
    values = _numbers(text)
    if not np.isfinite(values).all():
        raise argparse.ArgumentTypeError(
            f"expected finite numbers like 1,-2,0.5 (no nan or inf), got {text!r}")
    return values


def _directory(text: str) -> Path:
    # Path("") is ".": an empty --out (say, an unset shell variable) must not write the
    # figures into the current directory.
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a directory name, got {text!r}")
    return Path(text)


# --------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convmat",
        description=textwrap.fill(
            "Convolution, pooling and unpooling of neural networks as sparse matrices: "
            "render the figures of 'Unsampling: Unpooling and Transpose Convolution', "
            "print a small matrix with its filter taps, or animate it.", 78),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convmat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_parser(sub, name, command.help)
    return parser


def _add_figures_parser(sub, name, help):
    fig = sub.add_parser(
        name, help=help,
        description="Render the figures of 'Unsampling: Unpooling and Transpose "
                    "Convolution' as PNG files (pooling and unpooling, convolutions and "
                    "their transposes, sparsity patterns, coverage maps) and print their "
                    "paths.")
    fig.add_argument("--out", type=_directory, default=Path("convmat-figures"),
                     metavar="DIR", help="directory to write into, created if needed "
                                         "(default: ./convmat-figures)")
    fig.add_argument("--dpi", type=_count, default=120, help="resolution (default: 120)")


def _op_help() -> str:
    ops = "\n".join(f"  {name:13} {op.summary}" for name, op in SHOW_OPS.items())
    return f"operations (and the options each takes):\n{ops}"


def _add_show_parser(sub, name, help):
    about = textwrap.fill(
        "Print the matrix of one small operation for one sample. Entries are labelled by "
        "the filter tap they hold (x, y, z for a 3-tap filter, as the article names them) "
        "or by their value; '.' is no entry (a structural zero), '0' a stored entry whose "
        "value is 0. Rows are output positions, columns input positions, both flattened "
        "in C order. An option that the operation does not take is refused.", 78)
    show = sub.add_parser(
        name, help=help, description=f"{about}\n\n{_op_help()}",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_op_arguments(show)


def _add_animate_parser(sub, name, help):
    about = textwrap.fill(
        "Animate one small operation, with the options of 'convmat show', as a GIF: a "
        "convolution's window sliding over its padded input (one frame per output, row by "
        "row of C), or with --transpose a transposed convolution's stamps adding up (one "
        "frame per input, column by column of C.T).", 78)
    anim = sub.add_parser(
        name, help=help, description=f"{about}\n\n{_op_help()}",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_op_arguments(anim)
    anim.add_argument("--out", type=_gif_path, required=True, metavar="FILE.gif",
                      help="the GIF file to write")
    anim.add_argument("--interval", type=_count, default=1000, metavar="MS",
                      help="milliseconds per frame (default: 1000)")
    anim.add_argument("--dpi", type=_count, default=100, help="resolution (default: 100)")


def _add_op_arguments(parser):
    """The operation and its options, shared by ``show`` and ``animate``. Every option
    defaults to ``None`` (not given), so that one an operation does not take is refused
    even when it repeats the default; each operation fills in its own defaults."""
    parser.add_argument("op", choices=tuple(SHOW_OPS), metavar="OP",
                        help="one of: " + ", ".join(SHOW_OPS))
    add = parser.add_argument
    add("--input", type=_sizes, metavar="SIZE",
        help="spatial input size: 4, 4x4 or 2x3x3 (default: 4 for conv, 4x4 for pooling, "
             "2x2 for unpooling)")
    add("--channels", type=_count, help="input channels (default: 1)")
    add("--out-channels", type=_count, help="output channels of conv (default: 1)")
    add("--kernel", type=_sizes, metavar="SIZE",
        help="kernel size (default: 3 for conv, 2 for pooling)")
    add("--stride", type=_sizes, metavar="SIZE",
        help="stride (default: 1 for conv, the kernel size for pooling)")
    add("--padding", type=_sizes, metavar="SIZE", help="padding (default: 0)")
    add("--dilation", type=_sizes, metavar="SIZE",
        help="dilation of conv and maxpool (default: 1)")
    add("--output-padding", type=_sizes, metavar="SIZE",
        help="output padding of a transposed conv (default: 0)")
    add("--groups", type=_count, help="conv groups (default: 1)")
    add("--transpose", action="store_true", default=None,
        help="conv: the transposed convolution of an input of --input size (its matrix is "
             "the transpose of a conv matrix)")
    add("--names", metavar="NAMES",
        help="conv: filter tap names, one letter each (xyz) or comma-separated (default: "
             "xyz for a 3-tap filter)")
    add("--weight", type=_finite_numbers, metavar="W1,W2,...",
        help="conv: print these filter values instead of tap names")
    add("--values", type=_numbers, metavar="V1,V2,...",
        help="the input map, flattened (default: for pooling of a 4x4 input the map of the "
             "article's max pooling figure, else random integers; 1, 2, 3, ... for "
             "unpooling; conv prints the outputs as sums of these values times the taps)")
    add("--scale", type=_sizes, metavar="SIZE",
        help="nearest/interpolate/bed-of-nails: scale factor (default: 2)")
    add("--mode", help="interpolate: nearest, nearest-exact, linear, bilinear, bicubic, "
                       "trilinear (default: nearest)")
    add("--offset", type=_sizes, metavar="SIZE",
        help="bed-of-nails: position inside each block (default: 0)")
    add("--seed", type=int, help="pooling: random seed of the default input (default: 0)")


def _gif_path(text: str) -> Path:
    if not text.strip() or not text.lower().endswith(".gif"):
        raise argparse.ArgumentTypeError(f"expected a file name ending in .gif, got {text!r}")
    return Path(text)


# --------------------------------------------------------------------------- running
def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad arguments, 1 failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command].run(args)
    except (UsageError, ValueError, TypeError) as err:
        # The library's messages name the argument and the rule: they are the whole story.
        parser.exit(2, f"convmat {args.command}: error: {_one_line(err)}\n")
    except OSError as err:
        parser.exit(1, f"convmat {args.command}: error: {_one_line(err)}\n")
    return 0


def _figures(args) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, and no display needed
    from .figures import render_figures  # matplotlib is loaded here, not for `show`

    for path in render_figures(args.out, dpi=args.dpi):
        print(path)


def show(args) -> str:
    """The text ``convmat show`` prints."""
    check_options(args)
    for dest, default in OPTIONS.items():  # each op's own defaults come in its handler
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    return SHOW_OPS[args.op].handler(args)


def _animate(args) -> None:
    check_options(args)
    given = {dest: getattr(args, dest) for dest in OPTIONS if getattr(args, dest) is not None}
    import matplotlib

    matplotlib.use("Agg")
    from .animation import ANIMATED_OPS, animate, save_animation

    if args.op not in ANIMATED_OPS:
        raise UsageError(f"animate draws {', '.join(ANIMATED_OPS)} (with --transpose, the "
                         f"transposed convolution), got {args.op}; try convmat show "
                         f"{args.op}")
    anim = animate(args.op, **given, interval=args.interval)
    print(save_animation(anim, args.out, dpi=args.dpi))


# --------------------------------------------------------------------------- options
#: Every option of an operation, by its ``dest``, and its default where one is needed
#: (the rest depend on the operation, or ``None`` means "not given").
OPTIONS = {
    "input": None, "channels": 1, "out_channels": 1, "kernel": None, "stride": None,
    "padding": (0,), "dilation": (1,), "output_padding": (0,), "groups": 1,
    "transpose": False, "names": None, "weight": None, "values": None, "scale": (2,),
    "mode": "nearest", "offset": (0,), "seed": 0,
}


def _flag(dest) -> str:
    return "--" + dest.replace("_", "-")


def check_options(args) -> None:
    """Refuse an option the operation does not take, naming the option and the op."""
    allowed = SHOW_OPS[args.op].options
    for dest in OPTIONS:
        if getattr(args, dest) is not None and dest not in allowed:
            takes = ", ".join(_flag(d) for d in OPTIONS if d in allowed)
            raise UsageError(f"{_flag(dest)} does not apply to {args.op} (the options of "
                             f"{args.op}: {takes})")
    if args.op == "conv" and args.output_padding is not None and not args.transpose:
        raise UsageError("--output-padding applies to a transposed conv only (add "
                         "--transpose)")


@dataclass(frozen=True)
class Command:
    """One subcommand: its one-line help, what adds its arguments, and what runs it."""

    help: str
    add_parser: Callable[..., None]
    run: Callable[[argparse.Namespace], None]


#: The subcommands, in the order ``convmat --help`` lists them.
COMMANDS = {
    "figures": Command("render the figures of the article as PNG files",
                       _add_figures_parser, _figures),
    "show": Command("print a small operation's matrix with tap labels", _add_show_parser,
                    lambda args: print(show(args))),
    "animate": Command("animate a convolution or transposed convolution as a GIF",
                       _add_animate_parser, _animate),
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
