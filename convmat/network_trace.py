"""Run a torch model on one sample, call by call, and turn each call into sparse factors.

:func:`graph_calls` lists a model's calls: a ``torch.fx`` trace, or for an ``nn.Sequential``
its children in order (a child that is neither a torch layer nor a Sequential is traced
and inlined). :func:`run` executes the calls on the real sample, keeps every value, tells
apart what depends on the sample from constants (parameters, shapes, scalars), and asks the
rules of :mod:`convmat.network_rules` for the matrices of each call that does.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx
from torch import nn

from . import network_rules as R
from .network_layers import Call, PoolIndices


@dataclass(frozen=True)
class Ref:
    """An argument that is the value of an earlier call."""

    name: str


@dataclass
class GraphCall:
    """One call of the model: ``kind`` is placeholder, get_attr, call_module,
    call_function, call_method or output; ``target`` the module, function or name."""

    name: str
    kind: str
    target: Any
    args: tuple = ()
    kwargs: dict | None = None


@dataclass
class Value:
    """A value of the run: ``src`` is the node that produced it when it depends on the
    sample, else ``None``; ``info`` the :class:`PoolIndices` of a pooling's indices."""

    value: Any
    src: str | None = None
    info: PoolIndices | None = None


# --------------------------------------------------------------------------- graphs
def _leaf(module: nn.Module) -> bool:
    return type(module) in R.MODULES or (
        module.__module__.startswith("torch.nn") and not isinstance(module, nn.Sequential))


def _fx_calls(module: nn.Module, prefix: str, source: str | None) -> tuple[list, str]:
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as err:  # torch.fx raises many kinds: say what we need instead
        raise ValueError(
            f"torch.fx could not trace {type(module).__name__} ({type(err).__name__}: {err}). "
            f"linearize needs a model that torch.fx.symbolic_trace can trace (no Python "
            f"control flow on tensor values) or an nn.Sequential of such layers"
        ) from err
    calls, rename, placeholders = [], {}, 0
    for node in gm.graph.nodes:
        name = prefix + node.name
        rename[node.name] = name
        args = torch.fx.node.map_arg(node.args, lambda n: Ref(rename[n.name]))
        kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: Ref(rename[n.name]))
        if node.op == "placeholder":
            placeholders += 1
            if placeholders == 1 and source is not None:
                rename[node.name] = source
                continue
            if placeholders > 1:
                if not node.args:
                    raise ValueError(
                        f"{type(module).__name__}.forward takes more than one input "
                        f"({node.name!r} too); linearize maps one sample x")
                calls.append(GraphCall(name, "constant", node.args[0]))
                continue
            calls.append(GraphCall(name, "placeholder", None))
        elif node.op == "get_attr":
            calls.append(GraphCall(name, "constant", _fetch(gm, node.target)))
        elif node.op == "call_module":
            calls.append(GraphCall(name, "call_module", gm.get_submodule(node.target),
                                   args, kwargs))
        elif node.op == "output":
            out = args[0]
            return calls, out
        else:
            calls.append(GraphCall(name, node.op, node.target, args, kwargs))
    raise ValueError(f"the traced graph of {type(module).__name__} has no output")


def _fetch(root: nn.Module, target: str):
    obj = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _sequential_calls(seq: nn.Sequential, prefix: str, source: str) -> tuple[list, str]:
    calls = []
    for child_name, child in seq.named_children():
        name = prefix + child_name
        if isinstance(child, nn.Sequential):
            more, out = _sequential_calls(child, name + ".", source)
            calls += more
            source = out.name
        elif _leaf(child):
            calls.append(GraphCall(name, "call_module", child, (Ref(source),), {}))
            source = name
        else:
            more, out = _fx_calls(child, name + ".", source)
            calls += more
            if not isinstance(out, Ref):
                raise ValueError(f"{name} ({type(child).__name__}) must return one tensor "
                                 f"inside an nn.Sequential, got {out!r}")
            source = out.name
    return calls, Ref(source)


def graph_calls(model: nn.Module, input_name: str = "x") -> tuple[list, Any]:
    """The calls of ``model`` in order (the first a placeholder), and its output."""
    if isinstance(model, nn.Sequential):
        calls, out = _sequential_calls(model, "", input_name)
        return [GraphCall(input_name, "placeholder", None)] + calls, out
    if _leaf(model):  # one torch layer on its own
        return [GraphCall(input_name, "placeholder", None),
                GraphCall(type(model).__name__.lower(), "call_module", model,
                          (Ref(input_name),), {})], Ref(type(model).__name__.lower())
    return _fx_calls(model, "", None)


# --------------------------------------------------------------------------- running
def _map(obj, fn):
    """Apply ``fn`` to every leaf of nested tuples, lists and dicts."""
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map(v, fn) for v in obj)
    if isinstance(obj, dict):
        return {k: _map(v, fn) for k, v in obj.items()}
    return fn(obj)


def _leaves(obj):
    if isinstance(obj, (tuple, list)):
        for v in obj:
            yield from _leaves(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    else:
        yield obj


def _label(gc: GraphCall) -> str:
    if gc.kind == "call_module":
        return type(gc.target).__name__
    if gc.kind == "call_method":
        return gc.target
    return getattr(gc.target, "__name__", str(gc.target))


_IN_PLACE_OPERATORS = (operator.iadd, operator.isub, operator.imul, operator.itruediv)


def _in_place(gc: GraphCall) -> bool:
    if gc.kind == "call_module":
        return bool(getattr(gc.target, "inplace", False))
    if gc.kind == "call_function" and gc.target in _IN_PLACE_OPERATORS:
        return True
    name = _label(gc)
    return (name.endswith("_") and not name.endswith("__")) or \
        bool((gc.kwargs or {}).get("inplace"))


def _execute(gc: GraphCall, args, kwargs):
    if gc.kind in ("call_module", "call_function"):
        return gc.target(*args, **kwargs)
    self, *rest = args
    return getattr(self, gc.target)(*rest, **kwargs)


def _run_call(gc: GraphCall, args, kwargs):
    """The model's own call, on the model's values: torch's errors name the node."""
    try:
        with torch.no_grad():
            return _execute(gc, args, kwargs)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"node {gc.name!r} ({_label(gc)}) fails in torch on this sample: "
                         f"{err}") from err


def _rule(gc: GraphCall):
    if gc.kind == "call_module":
        return R.MODULES.get(type(gc.target))
    if gc.kind == "call_function":
        try:
            return R.FUNCTIONS.get(gc.target)
        except TypeError:  # an unhashable target
            return None
    return R.METHODS.get(gc.target)


def _is_metadata(gc: GraphCall, args) -> bool:
    if gc.kind == "call_method":
        return gc.target in R.METADATA_METHODS
    return gc.kind == "call_function" and gc.target is getattr and len(args) > 1 \
        and args[1] in R.METADATA_ATTRIBUTES


def _refuse(gc: GraphCall, why: str):
    where = {"call_module": "module", "call_function": "function",
             "call_method": "tensor method"}[gc.kind]
    raise ValueError(f"linearize cannot read node {gc.name!r}: {where} {_label(gc)} {why}. "
                     f"Supported: {R.supported()}")


def run(model: nn.Module, x: torch.Tensor, *, structural: bool, max_entries, make_node):
    """Run ``model`` on the batch of one ``x``, calling ``make_node(call, built)`` for every
    call that depends on the sample. Returns ``(input name, output name, output value)``."""
    calls, out = graph_calls(model)
    env: dict[str, Value] = {}
    input_name = None
    for gc in calls:
        if gc.kind == "placeholder":
            input_name = gc.name
            env[gc.name] = Value(x, gc.name)
            continue
        if gc.kind == "constant":
            env[gc.name] = Value(gc.target)
            continue
        refs = [r for r in _leaves((gc.args, gc.kwargs)) if isinstance(r, Ref)]
        vals = [env[r.name] for r in refs]
        args = _map(gc.args, lambda a: env[a.name].value if isinstance(a, Ref) else a)
        kwargs = _map(gc.kwargs or {}, lambda a: env[a.name].value if isinstance(a, Ref) else a)
        if all(v.src is None and v.info is None for v in vals):
            env[gc.name] = Value(_run_call(gc, args, kwargs))
            continue
        first = gc.args[0] if gc.args else None
        first_dep = isinstance(first, Ref) and env[first.name].src is not None
        env[gc.name] = _dependent(gc, args, kwargs, vals, first_dep, structural, max_entries,
                                  make_node)
    if not isinstance(out, Ref) or not isinstance(env[out.name].value, torch.Tensor):
        raise ValueError(f"linearize needs a model that returns one tensor, got {out!r}")
    result = env[out.name]
    if result.src is None:
        raise ValueError("the model's output does not depend on its input x")
    return input_name, result.src, result.value


def _dependent(gc, args, kwargs, vals, first_dep, structural, max_entries,
               make_node) -> Value:
    """Run one call whose arguments depend on the sample, and build its factors."""
    deps = [v.value for v in vals if v.src is not None]
    dep_srcs = [v.src for v in vals if v.src is not None]
    ex_args, ex_kwargs = args, kwargs
    if _in_place(gc):  # run on copies: our values must stay those the layers read
        copy = lambda a: a.clone() if any(a is d for d in deps) else a
        ex_args, ex_kwargs = _map(args, copy), _map(kwargs, copy)
    out = _run_call(gc, ex_args, ex_kwargs)
    if _is_metadata(gc, args):
        return Value(out)
    if gc.kind == "call_function" and gc.target is operator.getitem and \
            isinstance(args[0], tuple):
        return _tuple_item(gc, args, vals)
    infos = {id(v.value): v.info for v in vals if v.info is not None}
    rule = _rule(gc)
    if rule is None:
        _refuse(gc, "is not supported")
    if infos and rule.handler.__name__ != "max_unpool":
        _refuse(gc, "reads the indices of a max pooling, which only MaxUnpool may")
    if rule.single_input and (len(deps) != 1 or not first_dep):
        _refuse(gc, "depends on the sample through an argument other than its input "
                "(only its first argument may)")

    def replay(mapping):
        swap = {id(deps[i]): t for i, t in mapping.items()}
        sub = lambda a: swap.get(id(a), a) if isinstance(a, torch.Tensor) else a
        return _execute(gc, _map(args, sub), _map(kwargs, sub))

    call = Call(gc.name, _label(gc), gc.target, args, kwargs, deps, out, replay,
                structural, max_entries, infos)
    try:
        built = rule.handler(call, rule.read(call))
    except (ValueError, TypeError) as err:  # a builder's message, with the node named once
        if str(err).startswith(("node ", "linearize ")):
            raise
        raise type(err)(f"node {gc.name!r} ({_label(gc)}): {err}") from err
    value = out[0] if isinstance(out, tuple) else out
    make_node(call, dep_srcs, built, value)
    return Value(out, gc.name, built.indices)


def _tuple_item(gc, args, vals) -> Value:
    """``pool(x)[0]`` is the pooled map, ``[1]`` its indices."""
    (tup,) = [v for v in vals if isinstance(v.value, tuple)]
    i = args[1]
    if tup.src is not None and tup.info is not None and i in (0, 1, -1, -2):
        return Value(tup.value[i], tup.src) if i in (0, -2) else \
            Value(tup.value[i], None, tup.info)
    _refuse(gc, f"takes item {i!r} of a tuple that depends on the sample")


def check_batch(name: str, value) -> tuple[int, ...]:
    """The sample shape of a value: the batch axis of one must stay in front."""
    if not isinstance(value, torch.Tensor) or value.ndim < 1 or value.shape[0] != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
        raise ValueError(
            f"node {name!r} returns {shape}, which drops the batch axis: linearize runs the "
            f"model on a batch of one sample and needs that axis kept in front")
    if not value.is_floating_point():
        raise ValueError(f"node {name!r} returns a tensor of dtype {value.dtype}; linearize "
                         f"needs floating-point values")
    return tuple(value.shape[1:])

