"""Argument coercion: every size, flag and array a builder takes, checked in one place.

One rule for every builder, so that each inherits it:

* an integer is a Python ``int`` or a numpy integer; a bool (Python or numpy) or a float
  is a ``TypeError``, even when it looks whole (torch refuses ``stride=2.0`` and
  ``stride=True`` too);
* an integer must fit torch's ``int64``, or it is a ``ValueError`` (torch: "Overflow when
  unpacking long long"); sizes are then multiplied as Python ints, which never overflow;
* a range (``at_least=``, ``at_most=``) is checked in the same call, and its message
  echoes the value as the caller wrote it: ``stride must be positive, got stride=(1, 0)``;
* an array is a numpy array, a (nested) list or a torch tensor, read without importing
  torch; ``None``, strings and object arrays are a ``TypeError`` naming the argument.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["as_array", "as_bool", "as_int", "as_output_size", "as_sample_shape", "as_shape",
           "as_tuple", "is_int", "is_real", "shape_of"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def is_int(value) -> bool:
    """An integer, and not a bool (``True`` is an ``int`` in Python, not a size)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """A real number (int or float, Python or numpy), and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_sequence(value) -> bool:
    # a numpy array or torch tensor is a sequence only when 1-D: a 0-d one has __len__
    # and __iter__ but neither works (a raw "iteration over a 0-d tensor")
    if isinstance(value, np.ndarray) or hasattr(value, "ndim"):
        return getattr(value, "ndim", 0) == 1
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__") and hasattr(
        value, "__iter__")


def _int64(value: int, name: str, given) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(
            f"{name} does not fit in a 64-bit integer (torch cannot convert it either; "
            f"allowed: -2**63 <= {name} < 2**63), got {name}={given!r}"
        )
    return value


def _check_range(values, name: str, given, at_least, at_most) -> None:
    if at_least is not None and any(v < at_least for v in values):
        what = "positive" if at_least == 1 else f"at least {at_least}"
        raise ValueError(f"{name} must be {what}, got {name}={given!r}")
    if at_most is not None and any(v > at_most for v in values):
        raise ValueError(f"{name} must be at most {at_most}, got {name}={given!r}")


def as_int(value, name: str, *, at_least: int | None = None,
           at_most: int | None = None) -> int:
    """``value`` as a Python int in ``[at_least, at_most]``.

    Examples
    --------
    >>> as_int(np.int8(3), "groups", at_least=1)
    3
    >>> as_int(0, "groups", at_least=1)
    Traceback (most recent call last):
    ...
    ValueError: groups must be positive, got groups=0
    >>> as_int(2.0, "groups")
    Traceback (most recent call last):
    ...
    TypeError: groups must be an integer, got groups=2.0
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an integer, got {name}={value!r}")
    result = _int64(int(value), name, value)
    _check_range((result,), name, value, at_least, at_most)
    return result


def as_tuple(value, n: int, name: str, *, at_least: int | None = None,
             at_most: int | None = None) -> tuple[int, ...]:
    """An int or a sequence of 1 or ``n`` ints, as an ``n``-tuple (torch's expansion).

    Examples
    --------
    >>> as_tuple(2, 3, "stride"), as_tuple([np.int64(2)], 2, "stride")
    ((2, 2, 2), (2, 2))
    >>> as_tuple((1, 0), 2, "stride", at_least=1)
    Traceback (most recent call last):
    ...
    ValueError: stride must be positive, got stride=(1, 0)
    """
    wrong_type = TypeError(
        f"{name} must be an integer or a sequence of {n} integers, got {name}={value!r}")
    if is_int(value):
        items = (value,) * n
    elif not _is_sequence(value):
        raise wrong_type
    else:
        items = tuple(value)
        if len(items) == 1:
            items = items * n
        if len(items) != n:
            raise ValueError(
                f"{name} must be a single integer or a sequence of {n} integers (one per "
                f"spatial dimension), got {name}={value!r}"
            )
        if not all(is_int(v) for v in items):
            raise wrong_type
    result = tuple(_int64(int(v), name, value) for v in items)
    _check_range(result, name, value, at_least, at_most)
    return result


def as_shape(shape, name: str = "input_shape", *, min_ndim: int = 1) -> tuple[int, ...]:
    """A shape as a tuple of non-negative ints, at least ``min_ndim`` of them.

    Examples
    --------
    >>> as_shape([np.int32(1), 4])
    (1, 4)
    >>> as_shape((1, 4.0))
    Traceback (most recent call last):
    ...
    TypeError: input_shape[1] must be an integer, got input_shape=(1, 4.0)
    """
    if not _is_sequence(shape):
        raise TypeError(f"{name} must be a sequence of integers, got {name}={shape!r}")
    items = tuple(shape)
    for i, item in enumerate(items):
        if not is_int(item):
            raise TypeError(f"{name}[{i}] must be an integer, got {name}={shape!r}")
    items = tuple(_int64(int(v), name, shape) for v in items)
    if len(items) < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} entries, got {name}={shape!r}")
    if any(v < 0 for v in items):
        raise ValueError(f"{name} must hold non-negative sizes, got {name}={shape!r}")
    return items


def as_sample_shape(input_shape, name: str = "input_shape",
                    ndims=(1, 2, 3)) -> tuple[int, tuple[int, ...]]:
    """``(C, spatial)`` of a sample with ``ndims`` spatial axes and no empty axis."""
    shape = as_shape(input_shape, name)
    if len(shape) - 1 not in ndims:
        allowed = " or ".join(str(n) for n in ndims)
        raise ValueError(
            f"{name} must be (C, *spatial) with {allowed} spatial dimension(s), got "
            f"{name}={shape}"
        )
    if any(v < 1 for v in shape):
        raise ValueError(f"{name} must hold positive sizes (torch refuses empty inputs), got "
                         f"{name}={shape}")
    return shape[0], shape[1:]


def as_output_size(output_size, n: int, *, leading=(1, 2)) -> tuple[int, ...]:
    """The ``n`` spatial sizes of an ``output_size`` argument, as torch reads it.

    ``output_size`` is a sequence of ``n`` integers, or of ``n + m`` for ``m`` in
    ``leading``, whose first ``m`` entries (channels; batch and channels) are dropped.
    Used by transposed convolution (``leading=(1, 2)``: unbatched or batched input) and
    max unpooling (``leading=(2,)``). The range of each size is the caller's to check.
    """
    if not _is_sequence(output_size):
        raise TypeError(f"output_size must be a sequence of integers, got "
                        f"output_size={output_size!r}")
    sizes = tuple(output_size)
    if len(sizes) - n in leading:
        sizes = sizes[len(sizes) - n:]
    if len(sizes) != n:
        front = {1: "the channels", 2: "batch and channels"}
        longer = ", or ".join(f"{n + m} with {front[m]} in front" for m in sorted(leading))
        raise ValueError(
            f"output_size must have {n} entries (or {longer}), got "
            f"output_size={tuple(output_size)}"
        )
    return tuple(as_int(v, "output_size") for v in sizes)


def as_bool(value, name: str) -> bool:
    """``value`` as a bool; ``TypeError`` for anything else (torch refuses ints here)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {name}={value!r}")
    return bool(value)


def shape_of(array_or_shape, name: str) -> tuple[int, ...]:
    """The shape of an array (or tensor), or a shape given as a tuple or list of ints.

    Examples
    --------
    >>> shape_of((1, 1, 3), "weight"), shape_of(np.ones((2, 1, 3)), "weight")
    ((1, 1, 3), (2, 1, 3))
    """
    if isinstance(array_or_shape, (tuple, list)) and all(is_int(v) for v in array_or_shape):
        return as_shape(array_or_shape, name)
    shape = getattr(array_or_shape, "shape", None)
    if shape is None or isinstance(array_or_shape, (str, bytes)):
        shape = as_array(array_or_shape, name).shape
    return tuple(int(v) for v in shape)


def _from_tensor(value) -> np.ndarray:
    """A torch tensor (or any object with torch's ``detach``/``cpu``/``numpy``) as numpy."""
    t = value.detach().cpu()
    if hasattr(t, "resolve_conj"):  # a lazily conjugated or negated view
        t = t.resolve_conj().resolve_neg()
    try:
        return t.numpy()
    except TypeError:  # bfloat16 and other types numpy lacks: float32 holds them exactly
        return t.float().numpy()


def as_array(value: Any, name: str, *, kinds: str = "biufc") -> np.ndarray:
    """``value`` as a numpy array: an array, a (nested) list, or a torch tensor.

    A tensor is detached and moved to the CPU (``requires_grad=True`` is fine), without
    importing torch. ``kinds`` lists the numpy dtype kinds allowed (default: bool, ints,
    floats, complex); ``None``, strings, object arrays and ragged lists are refused.

    Examples
    --------
    >>> as_array([[1, 2]], "weight")
    array([[1, 2]])
    >>> as_array("abc", "weight")
    Traceback (most recent call last):
    ...
    TypeError: weight must hold numbers, got weight='abc'
    """
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must hold numbers, got {name}={value!r}")
    if not isinstance(value, np.ndarray) and all(
            callable(getattr(value, a, None)) for a in ("detach", "cpu", "numpy")):
        value = _from_tensor(value)
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged nesting, or an unreadable object
        raise ValueError(
            f"{name} must be a rectangular array of numbers, got a {type(value).__name__} "
            f"numpy cannot read as one ({err})"
        ) from None
    if arr.dtype.kind not in kinds:
        if arr.dtype.kind in "OUSVMm":
            raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
        allowed = {"b": "bool", "i": "int", "u": "unsigned int", "f": "float",
                   "c": "complex"}
        names = ", ".join(allowed[k] for k in kinds if k in allowed)
        raise TypeError(f"{name} must hold {names} values, got an array of dtype {arr.dtype}")
    return arr


# --------------------------------------------------------------------------- plotting
def brief(value, limit: int = 60) -> str:
    """``repr(value)`` on one short line, for a message: an array or tensor whose repr
    runs long or over several lines is told by its type and shape.

    Examples
    --------
    >>> brief(1.5), brief(np.zeros((40, 40)))
    ('1.5', 'ndarray of shape (40, 40)')
    """
    text = repr(value)
    if "\n" not in text and len(text) <= limit:
        return text
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (str, bytes)):
        return f"{type(value).__name__} of shape {tuple(shape)}"
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def as_positive_real(value, name: str, *, at_least: float | None = None,
                     at_most: float | None = None, why: str = "") -> float:
    """``value`` as a finite float, positive and in ``[at_least, at_most]``.

    A bool, a string, an array or a tensor is a ``TypeError``; nan, inf, 0, a negative or
    a value out of range a ``ValueError``; both name the argument and echo its value
    (``why`` says what the number is, in the message).

    Examples
    --------
    >>> as_positive_real(np.float32(0.5), "cell")
    0.5
    >>> as_positive_real(float("nan"), "fps", at_most=100)
    Traceback (most recent call last):
    ...
    ValueError: fps must be a finite number greater than 0 and at most 100, got fps=nan
    """
    low = "greater than 0" if at_least is None else f"at least {at_least:g}"
    rule = low if at_most is None else f"{low} and at most {at_most:g}"
    if not is_real(value):
        raise TypeError(f"{name} must be a real number {rule}{why}, got {name}={brief(value)}")
    try:
        result = float(value)
    except OverflowError:  # an int beyond float's range
        result = math.inf
    if (not math.isfinite(result) or result <= 0 or (at_least is not None and result < at_least)
            or (at_most is not None and result > at_most)):
        raise ValueError(f"{name} must be a finite number {rule}{why}, got {name}={brief(value)}")
    return result


def as_path(value, name: str) -> Path:
    """A file or directory name, a ``str`` or an ``os.PathLike``, as a ``Path``; ``''``,
    bytes and anything else (a bool, a number, an array) are refused, naming ``name``.

    Examples
    --------
    >>> as_path("figs", "out")
    PosixPath('figs')
    >>> as_path(True, "out")
    Traceback (most recent call last):
    ...
    TypeError: out must be a str or os.PathLike naming a file or directory, got out=True
    """
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str or os.PathLike naming a file or directory, "
                        f"got {name}={brief(value)}")
    if not text.strip() or "\0" in text:
        raise ValueError(f"{name} must name a file or directory (not empty, no NUL "
                         f"character), got {name}={brief(value)}")
    return Path(text)


#: The resolutions the figure and animation writers accept, in dots per inch: below 20 the
#: smallest labels are under half a pixel (FreeType cannot draw them), and at 1000 a
#: 12-inch figure is already 12000 pixels wide.
DPI_RANGE = (20, 1000)


def as_dpi(value, name: str = "dpi") -> int:
    """A resolution: an integer number of dots per inch in :data:`DPI_RANGE`.

    Examples
    --------
    >>> as_dpi(np.int64(100))
    100
    >>> as_dpi(5)
    Traceback (most recent call last):
    ...
    ValueError: dpi must be an integer from 20 to 1000 (dots per inch), got dpi=5
    """
    low, high = DPI_RANGE
    rule = f"an integer from {low} to {high} (dots per inch)"
    if not is_int(value):
        raise TypeError(f"{name} must be {rule}, got {name}={brief(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be {rule}, got {name}={brief(value)}")
    return int(value)


@contextlib.contextmanager
def shape_read_from(name: str, shape):
    """A geometry validated on the shape of the array ``name``: an error that does not
    name it gets ``(from x of shape S)`` appended, so the caller knows which argument
    to change (``x`` too small for the kernel reads "the input is too small" otherwise).
    """
    try:
        yield
    except ValueError as err:
        if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", str(err)):
            raise
        raise ValueError(f"{err} (from {name} of shape {tuple(shape)})") from err

