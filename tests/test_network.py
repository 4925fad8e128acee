"""Whole networks as sparse factors (convmat.network) against torch's own Jacobians."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from convmat.network import (  # noqa: E402
    Linearization,
    effective_receptive_field,
    linearize,
    plot_effective_receptive_field,
    plot_receptive_field,
    receptive_field,
)
from convmat.testing import dottest  # noqa: E402

torch.set_num_threads(1)
# jacrev of some backward kernels (nearest-exact, ...) falls back to a loop: slower, exact.
pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")
try:
    import convmat.adaptive  # noqa: F401

    HAS_ADAPTIVE = True
except ImportError:
    HAS_ADAPTIVE = False
needs_adaptive = pytest.mark.skipif(
    not HAS_ADAPTIVE, reason="convmat.adaptive (adaptive pooling builders) is not there yet")
seeds = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- the oracle
def torch_jacobian(model, x):
    """``d model(x) / dx`` by torch.func.jacrev, as an (outputs, inputs) array."""
    f = lambda t: model(t[None])[0]
    return torch.func.jacrev(f)(torch.from_numpy(x)).reshape(-1, x.size).detach().numpy()


def torch_output(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)[None])[0].numpy().ravel()


def check(model, x, *, tol=1e-10) -> Linearization:
    """``J`` equals torch's Jacobian, ``J x + c == model(x)``, the operator equals ``J``
    and passes the dot test."""
    lin = linearize(model, x)
    J = lin.matrix()
    expected = torch_jacobian(model, x)
    scale = max(1.0, np.abs(expected).max())
    assert J.shape == expected.shape
    np.testing.assert_allclose(J.toarray(), expected, rtol=0, atol=tol * scale)
    y = torch_output(model, x)
    np.testing.assert_allclose(J @ x.ravel() + lin.offset, y, rtol=0,
                               atol=tol * max(1.0, np.abs(y).max(), scale * np.abs(x).max()))
    assert lin.out_shape == tuple(model(torch.from_numpy(x)[None]).shape[1:])
    assert lin.in_shape == x.shape
    op = lin.operator()
    v = np.random.default_rng(0).standard_normal((x.size, 2))
    np.testing.assert_allclose(op @ v, J @ v, rtol=0, atol=1e-12 * max(1.0, scale) * x.size)
    assert dottest(op, rng=1) < 1e-10
    return lin


class Fn(nn.Module):
    """A functional call as a module, so that torch.fx records the call itself."""

    def __init__(self, f, **params):
        super().__init__()
        self.f = f
        for name, p in params.items():
            if isinstance(p, torch.Tensor) and not isinstance(p, nn.Parameter):
                self.register_buffer(name, p)  # follows .double() like a parameter
            else:
                setattr(self, name, p)

    def forward(self, x):
        return self.f(self, x)


def randomize_bn(bn):
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2.0)
    if bn.weight is not None:
        bn.weight.data.normal_()
        bn.bias.data.normal_()
    return bn


# --------------------------------------------------------------------------- every layer
def _unpool(s, pooled, **kw):
    values, indices = pooled  # torch.fx unpacks a pair, not a starred call
    return s.u(values, indices, **kw)


def _f_unpool(pooled):
    values, indices = pooled
    return F.max_unpool1d(values, indices, 2)


def _layers():
    """(id, model, input shape): each supported layer, module and functional form."""
    w2 = torch.randn(4, 2, 3, 3)
    wt = torch.randn(2, 3, 3)
    L = [
        ("conv1d", nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2), (2, 9)),
        ("conv2d-groups", nn.Conv2d(4, 6, (3, 2), padding=(1, 0), groups=2), (4, 5, 5)),
        ("conv2d-same", nn.Conv2d(2, 3, 4, padding="same", dilation=1), (2, 6, 5)),
        ("conv2d-valid", nn.Conv2d(2, 3, 3, padding="valid", bias=False), (2, 5, 5)),
        ("conv2d-reflect", nn.Conv2d(2, 3, 3, padding=2, padding_mode="reflect"), (2, 5, 4)),
        ("conv2d-circular", nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"), (2, 4, 4)),
        ("conv3d-replicate", nn.Conv3d(1, 2, 2, padding=1, padding_mode="replicate"), (1, 3, 3, 3)),
        ("F.conv2d", Fn(lambda s, x: F.conv2d(x, s.w, None, 1, 1), w=nn.Parameter(w2)), (2, 4, 4)),
        ("convT1d", nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1), (2, 4)),
        ("convT2d", nn.ConvTranspose2d(2, 4, 3, stride=2, groups=2, dilation=2), (2, 3, 3)),
        ("convT3d", nn.ConvTranspose3d(1, 2, 2, stride=2), (1, 2, 2, 2)),
        ("convT-output_size", Fn(lambda s, x: s.t(x, output_size=(8, 8)),
                                 t=nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)), (2, 4, 4)),
        ("F.conv_transpose1d", Fn(lambda s, x: F.conv_transpose1d(x, s.w, stride=2),
                                  w=nn.Parameter(wt)), (2, 4)),
        ("avgpool1d", nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 8)),
        ("avgpool2d", nn.AvgPool2d(2, divisor_override=3), (1, 4, 5)),
        ("avgpool3d", nn.AvgPool3d(2, 1), (1, 3, 3, 3)),
        ("F.avg_pool2d", Fn(lambda s, x: F.avg_pool2d(x, 3, 2, 1)), (2, 5, 5)),
        ("maxpool1d", nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True), (2, 9)),
        ("maxpool2d", nn.MaxPool2d((2, 3), 2, (1, 1)), (2, 5, 6)),
        ("maxpool3d", nn.MaxPool3d(2), (1, 4, 4, 4)),
        ("F.max_pool2d", Fn(lambda s, x: F.max_pool2d(x, 2, ceil_mode=True)), (1, 5, 5)),
        ("unpool2d", Fn(lambda s, x: _unpool(s, s.p(x)), p=nn.MaxPool2d(2, return_indices=True),
                        u=nn.MaxUnpool2d(2)), (2, 4, 6)),
        ("unpool-size", Fn(lambda s, x: _unpool(s, s.p(x), output_size=(5, 5)),
                           p=nn.MaxPool2d(2, return_indices=True), u=nn.MaxUnpool2d(2)),
         (2, 5, 5)),
        ("F.max_unpool1d", Fn(lambda s, x: _f_unpool(F.max_pool1d(x, 2, return_indices=True))),
         (2, 6)),
        ("upsample-nearest", nn.Upsample(scale_factor=2), (2, 3, 3)),
        ("upsample-linear", nn.Upsample(size=7, mode="linear", align_corners=True), (2, 4)),
        ("upsample-bicubic", nn.Upsample(scale_factor=1.5, mode="bicubic"), (1, 4, 4)),
        ("upsample-trilinear", nn.Upsample(scale_factor=2, mode="trilinear"), (1, 2, 2, 2)),
        ("UpsamplingBilinear2d", nn.UpsamplingBilinear2d(scale_factor=2), (1, 3, 3)),
        ("UpsamplingNearest2d", nn.UpsamplingNearest2d(size=(5, 4)), (1, 2, 3)),
        ("F.interpolate", Fn(lambda s, x: F.interpolate(x, scale_factor=0.5, mode="bilinear")),
         (2, 6, 6)),
        ("F.interpolate-exact", Fn(lambda s, x: F.interpolate(x, size=5, mode="nearest-exact")),
         (2, 3)),
        ("pixelshuffle", nn.PixelShuffle(2), (8, 2, 3)),
        ("pixelunshuffle", nn.PixelUnshuffle(2), (1, 4, 6)),
        ("F.pixel_shuffle", Fn(lambda s, x: F.pixel_shuffle(x, 2)), (4, 2, 2)),
        ("zeropad2d", nn.ZeroPad2d((1, 0, 2, 1)), (2, 3, 3)),
        ("constantpad1d", nn.ConstantPad1d((2, -1), 3.5), (2, 4)),
        ("constantpad3d", nn.ConstantPad3d(1, -1.0), (1, 2, 2, 2)),
        ("reflectionpad2d", nn.ReflectionPad2d((2, 1, 1, 2)), (2, 4, 4)),
        ("replicationpad3d", nn.ReplicationPad3d((1, 0, 0, 1, 2, 0)), (1, 2, 3, 2)),
        ("circularpad2d", nn.CircularPad2d(1), (1, 3, 3)),
        ("F.pad", Fn(lambda s, x: F.pad(x, (1, 2), mode="reflect")), (2, 4)),
        ("F.pad-value", Fn(lambda s, x: F.pad(x, (1, 1, 1, 0), value=2.0)), (2, 3, 3)),
        ("linear", nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (3, 4)),
        ("linear-last-axis", nn.Linear(4, 3), (2, 4)),
        ("F.linear", Fn(lambda s, x: F.linear(x.view(x.size(0), -1), s.w),
                        w=nn.Parameter(torch.randn(3, 8))), (2, 4)),
        ("torch.flatten", Fn(lambda s, x: torch.flatten(x, 1)), (2, 3, 3)),
        ("reshape", Fn(lambda s, x: x.reshape(x.shape[0], 3, -1).permute(0, 2, 1)), (3, 2, 2)),
        ("slice", Fn(lambda s, x: x[:, 1:, ::2].transpose(2, 3)), (3, 4, 2)),
        ("identity-dropout", nn.Sequential(nn.Identity(), nn.Dropout(0.5), nn.Dropout2d()),
         (2, 3, 3)),
        ("F.dropout", Fn(lambda s, x: F.dropout(x, 0.3, s.training)), (2, 3)),
        ("relu", nn.ReLU(), (2, 5)),
        ("relu-inplace", nn.Sequential(nn.Conv1d(2, 2, 1), nn.ReLU(inplace=True)), (2, 5)),
        ("F.relu", Fn(lambda s, x: F.relu(x) + x.relu()), (2, 5)),
        ("leakyrelu", nn.LeakyReLU(0.2), (2, 5)),
        ("prelu", nn.PReLU(2, init=0.3), (2, 3, 3)),
        ("prelu-one", nn.PReLU(init=-0.5), (2, 3)),
        ("hardtanh", nn.Hardtanh(-0.5, 0.7), (3, 5)),
        ("relu6", nn.Sequential(nn.Conv1d(2, 2, 1), nn.ReLU6()), (2, 6)),
        ("F.relu6", Fn(lambda s, x: F.relu6(4 * x)), (2, 6)),
        ("threshold", nn.Threshold(0.1, -2.0), (2, 5)),
        ("clamp", Fn(lambda s, x: x.clamp(min=-0.3, max=0.5)), (2, 5)),
        ("sigmoid", nn.Sigmoid(), (2, 4)),
        ("tanh", nn.Tanh(), (2, 4)),
        ("gelu", nn.GELU(), (2, 4)),
        ("gelu-tanh", nn.GELU(approximate="tanh"), (2, 4)),
        ("silu", nn.SiLU(), (2, 4)),
        ("elu", nn.ELU(0.7), (2, 4)),
        ("softplus", nn.Softplus(beta=2.0, threshold=1.0), (2, 4)),
        ("mish-hardswish", nn.Sequential(nn.Mish(), nn.Hardswish(), nn.Hardsigmoid()), (2, 4)),
        ("torch.sigmoid", Fn(lambda s, x: torch.sigmoid(x) * torch.tanh(x) + x.exp()), (2, 4)),
        ("batchnorm1d-flat", randomize_bn(nn.BatchNorm1d(3)), (3,)),
        ("batchnorm1d", randomize_bn(nn.BatchNorm1d(3)), (3, 4)),
        ("batchnorm2d", randomize_bn(nn.BatchNorm2d(2)), (2, 3, 3)),
        ("batchnorm3d-noaffine", randomize_bn(nn.BatchNorm3d(2, affine=False)), (2, 2, 2, 2)),
        ("F.batch_norm", Fn(lambda s, x: F.batch_norm(x, s.m, s.v, eps=1e-3),
                            m=torch.randn(2), v=torch.rand(2) + 0.5), (2, 4)),
        ("add-sub", Fn(lambda s, x: torch.add(x, F.relu(x), alpha=2) - torch.sub(1.5, x)),
         (2, 4)),
        ("mul-div", Fn(lambda s, x: (x * 3.0) / 2 + 0.5 * x / (x * x + 1)), (2, 4)),
        ("broadcast", Fn(lambda s, x: x * x.mean((2, 3), keepdim=True) + s.b - x[:, :1],
                         b=nn.Parameter(torch.randn(3, 1, 1))), (3, 2, 4)),
        ("neg", Fn(lambda s, x: -x), (2, 3)),
        ("cat-stack", Fn(lambda s, x: torch.cat([x, F.relu(x), s.c], dim=1)
                         + torch.stack([x, x], 1).sum(1)[:, :1], c=torch.ones(1, 1, 3)), (2, 3)),
        ("sum-mean", Fn(lambda s, x: x.sum(dim=(2,)) + torch.mean(x, dim=-2)), (3, 2, 4)),
    ]
    return L


LAYERS = _layers()


@pytest.mark.parametrize("name, model, shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_every_layer_against_torch(name, model, shape):
    torch.manual_seed(0)
    model = model.double().eval()
    x = np.random.default_rng(len(name)).standard_normal(shape)
    check(model, x)


@needs_adaptive
@pytest.mark.parametrize("model, shape", [
    (nn.AdaptiveAvgPool2d((2, 3)), (2, 5, 7)),
    (nn.AdaptiveAvgPool1d(3), (2, 7)),
    (nn.AdaptiveMaxPool2d((3, None)), (2, 5, 4)),
    (nn.AdaptiveMaxPool1d(2), (3, 5)),
    (Fn(lambda s, x: F.interpolate(x, size=(2, 3), mode="area")), (1, 5, 7)),
    (Fn(lambda s, x: F.adaptive_avg_pool2d(x, 1).flatten(1)), (3, 4, 4)),
])
def test_adaptive_pooling(model, shape):
    check(model.double().eval(), np.random.default_rng(3).standard_normal(shape))


@needs_adaptive
def test_receptive_field_of_adaptive_max_pooling_is_its_windows():
    # torch's adaptive windows of 5 -> 2: [floor(i L / O), ceil((i + 1) L / O)) = [0, 3), [2, 5)
    P = receptive_field(nn.AdaptiveMaxPool1d(2).eval(), (1, 5)).toarray().astype(int)
    np.testing.assert_array_equal(P, [[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]])


# --------------------------------------------------------------------------- graphs
class SkipNet(nn.Module):
    """An fx graph with a residual sum, a U-Net concatenation and max unpooling."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = randomize_bn(nn.BatchNorm2d(4))
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.mid = nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")
        self.unpool = nn.MaxUnpool2d(2)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.dec = nn.Conv2d(12, 3, 1)
        self.head = nn.Linear(3 * 6 * 8, 5)

    def forward(self, x):
        e = F.relu(self.bn(self.enc(x)))
        p, i = self.pool(e)
        m = torch.sigmoid(self.mid(p)) * 2.0 + p  # residual
        y = torch.cat([self.unpool(m, i), self.up(m), e], dim=1)  # skip connection
        y = F.pad(self.dec(y), (1, 1, 0, 0), value=0.5)
        y = y * torch.tanh(y) - 1
        return self.head(torch.flatten(y, 1))


def test_fx_graph_with_skip_connections():
    torch.manual_seed(1)
    model = SkipNet().double().eval()
    x = np.random.default_rng(1).standard_normal((2, 6, 6))
    lin = check(model, x)
    by_name = {n.name: n for n in lin.nodes}
    assert by_name["cat"].inputs == ("unpool", "up", "relu")
    assert [M.shape[1] for M in by_name["cat"].matrices] == [4 * 36, 4 * 36, 4 * 36]
    assert by_name["add"].op == "add" and len(by_name["add"].inputs) == 2
    assert by_name["head"].op == "Linear" and by_name["head"].out_shape == (5,)
    for node in lin.nodes:
        assert len(node.matrices) == len(node.inputs)
        assert all(M.format == "csr" for M in node.matrices)


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + F.relu(self.conv(x))


def test_sequential_with_a_custom_block_and_nesting():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(Residual(2), nn.ReLU()),
                          nn.MaxPool2d(2)).double().eval()
    lin = check(model, np.random.default_rng(2).standard_normal((1, 6, 6)))
    assert [n.name for n in lin.nodes] == ["0", "1.0.conv", "1.0.relu", "1.0.add", "1.1", "2"]
    assert lin.nodes[3].inputs == ("0", "1.0.relu")


# --------------------------------------------------------------------------- random networks
def _conv(draw, nd, c):
    g = draw(st.sampled_from([d for d in (1, 2, 3) if c % d == 0]))
    k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from([0, 1, "same", "valid"] if s == 1 else [0, 1]))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    conv = getattr(nn, f"Conv{nd}d")
    return conv(c, g * draw(st.integers(1, 2)), k, s, padding, d, g, draw(st.booleans()), mode)


def _conv_t(draw, nd, c):
    g = draw(st.sampled_from([d for d in (1, 2) if c % d == 0]))
    k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    op = draw(st.integers(0, max(s, d) - 1))
    return getattr(nn, f"ConvTranspose{nd}d")(c, g * draw(st.integers(1, 2)), k, s,
                                              draw(st.integers(0, 1)), op, g,
                                              draw(st.booleans()), d)


def _pool(draw, nd, kind):
    k = draw(st.integers(1, 3))
    kw = dict(stride=draw(st.sampled_from([None, 1, 2])), padding=draw(st.integers(0, k // 2)),
              ceil_mode=draw(st.booleans()))
    if kind == "max":
        return getattr(nn, f"MaxPool{nd}d")(k, dilation=draw(st.integers(1, 2)), **kw)
    extra = {"divisor_override": draw(st.sampled_from([None, 2]))} if nd > 1 else {}
    return getattr(nn, f"AvgPool{nd}d")(k, count_include_pad=draw(st.booleans()), **kw,
                                        **extra)


def _upsample(draw, nd):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", ("linear", "bilinear")[nd - 1]]
                                + (["bicubic"] if nd == 2 else [])))
    corners = draw(st.booleans()) if mode not in ("nearest", "nearest-exact") else None
    return nn.Upsample(scale_factor=draw(st.sampled_from([2, 1.5, 0.7])), mode=mode,
                       align_corners=corners)


def _pad(draw, nd):
    kind = draw(st.sampled_from(["Zero", "Constant", "Reflection", "Replication", "Circular"]))
    widths = tuple(draw(st.integers(-1 if kind == "Constant" else 0, 2)) for _ in range(2 * nd))
    cls = getattr(nn, f"{kind}Pad{nd}d")
    return cls(widths, draw(st.floats(-2, 2))) if kind == "Constant" else cls(widths)


PIECEWISE = [nn.ReLU, lambda: nn.LeakyReLU(0.1), nn.PReLU, lambda: nn.Hardtanh(-0.5, 0.5),
             nn.ReLU6, lambda: nn.Threshold(0.2, 0.5), nn.Identity]
SMOOTH = [nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU, nn.ELU, nn.Softplus, nn.Mish]


def _layer(draw, nd, c, piecewise_only):
    kind = draw(st.sampled_from(["conv", "conv", "convT", "max", "avg", "up", "pad", "bn",
                                 "act", "act", "shuffle", "drop", "adaptive"]))
    if kind == "adaptive" and HAS_ADAPTIVE:
        kind = draw(st.sampled_from(["Avg", "Max"]))
        return getattr(nn, f"Adaptive{kind}Pool{nd}d")(draw(st.integers(1, 4)))
    if kind == "conv":
        return _conv(draw, nd, c)
    if kind == "convT":
        return _conv_t(draw, nd, c)
    if kind in ("max", "avg"):
        return _pool(draw, nd, kind)
    if kind == "up":
        return _upsample(draw, nd)
    if kind == "pad":
        return _pad(draw, nd)
    if kind == "bn":
        return randomize_bn(getattr(nn, f"BatchNorm{nd}d")(c))
    if kind == "shuffle" and nd == 2:
        return nn.PixelShuffle(2) if c % 4 == 0 else nn.PixelUnshuffle(2)
    if kind in ("drop", "shuffle", "adaptive"):
        return nn.Dropout(0.5)
    return draw(st.sampled_from(PIECEWISE if piecewise_only else PIECEWISE + SMOOTH))()


@st.composite
def networks(draw, piecewise_only=False):
    """A random nn.Sequential of supported layers that torch accepts, and an input."""
    nd = draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 4)), *(draw(st.integers(3, 8 if nd == 1 else 6))
                                         for _ in range(nd)))
    torch.manual_seed(draw(seeds))
    layers, current = [], shape
    for _ in range(draw(st.integers(1, 5))):
        layer = _layer(draw, nd, current[0], piecewise_only).double().eval()
        try:
            with torch.no_grad():
                out = layer(torch.zeros(1, *current, dtype=torch.float64))
        except (RuntimeError, ValueError, TypeError, NotImplementedError):
            continue  # torch refuses this layer here: draw another
        if out.numel() == 0 or out.numel() > 400 or out.ndim != len(current) + 1 or \
                not torch.isfinite(out).all():  # -inf: a max pooling window of padding only
            continue
        layers.append(layer)
        current = tuple(out.shape[1:])
    assume(layers)
    if draw(st.booleans()):
        layers += [nn.Flatten(), nn.Linear(math.prod(current), 3).double()]
    x = np.random.default_rng(draw(seeds)).standard_normal(shape)
    return nn.Sequential(*layers).eval(), x


@given(networks())
def test_random_networks_against_jacrev(net):
    model, x = net
    check(model, x, tol=1e-9)


@given(networks(piecewise_only=True), seeds)
def test_piecewise_linear_networks_hold_in_their_region(net, seed):
    """The same J, c give model(x') for a nearby x' that flips no decision."""
    model, x = net
    lin = linearize(model, x)
    x2 = x + 1e-7 * np.random.default_rng(seed).standard_normal(x.shape)
    J = lin.matrix().toarray()
    # Same region: torch's Jacobian at x' is J (else a ReLU or a maximum flipped).
    assume(np.allclose(torch_jacobian(model, x2), J, rtol=0, atol=1e-12))
    y2 = torch_output(model, x2)
    np.testing.assert_allclose(J @ x2.ravel() + lin.offset, y2, rtol=0,
                               atol=1e-10 * max(1.0, np.abs(y2).max()))


# --------------------------------------------------------------------------- refusals
def test_unsupported_layer_is_named():
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Softmax(dim=1)).eval()
    with pytest.raises(ValueError, match=r"node '1'.*module Softmax.*Supported: modules .*Conv2d"):
        linearize(model, np.zeros((1, 5)))
    fn = Fn(lambda s, x: torch.sort(x, dim=-1).values).eval()
    with pytest.raises(ValueError, match="sort.*not supported"):
        linearize(fn, np.zeros((1, 5)))


def test_training_mode_is_refused():
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.BatchNorm1d(2))
    with pytest.raises(ValueError, match=r"training mode.*\.eval\(\)"):
        linearize(model, np.zeros((1, 5)))
    model.eval()
    model[1].train()
    with pytest.raises(ValueError, match=r"submodule '1' \(BatchNorm1d\).*\.eval\(\)"):
        linearize(model, np.zeros((1, 5)))


def test_batch_statistics_and_random_dropout_are_refused():
    bn = nn.BatchNorm1d(2, track_running_stats=False).eval()
    with pytest.raises(ValueError, match="running statistics"):
        linearize(bn, np.ones((2, 4)))
    drop = Fn(lambda s, x: F.dropout(x, 0.5, training=True)).eval()
    with pytest.raises(ValueError, match="training=True"):
        linearize(drop, np.ones((2, 4)))


def test_other_refusals():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        linearize(lambda x: x, np.zeros(3))
    with pytest.raises(ValueError, match="does not depend"):
        linearize(Fn(lambda s, x: torch.ones(1, 3)).eval(), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="batch axis"):
        linearize(Fn(lambda s, x: x.view(-1)).eval(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="torch.fx could not trace"):
        linearize(Fn(lambda s, x: x if x.sum() > 0 else -x).eval(), np.zeros((1, 3)))
    class TwoInputs(nn.Module):
        def forward(self, x, y):
            return x + y

    with pytest.raises(ValueError, match="more than one input"):
        linearize(TwoInputs().eval(), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"node 'linear' \(Linear\) fails in torch.*mat1"):
        linearize(nn.Linear(4, 2).eval(), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="only MaxUnpool"):
        linearize(Fn(lambda s, x: s.p(x)[1].double() + s.p(x)[0],
                     p=nn.MaxPool1d(2, return_indices=True)).eval(), np.zeros((1, 4)))


def test_matrix_is_refused_before_allocation_and_exact_count_lets_fitting_ones_pass():
    torch.manual_seed(3)
    model = nn.Sequential(*[nn.Conv2d(2, 2, 3, padding=1) for _ in range(4)]).double().eval()
    lin = linearize(model, np.random.default_rng(0).standard_normal((2, 16, 16)))
    exact = lin.matrix()
    # The cheap row bound (9 * 2 per layer, capped) is far above the true count: a limit
    # between the two takes the exact-count path and still builds the matrix.
    limit = exact.nnz + 10
    again = lin.matrix(max_entries=limit)
    assert (again != exact).nnz == 0
    with pytest.raises(ValueError, match=r"Linearization.matrix.*entries.*max_entries=100\b"
                                         r".*Linearization.operator\(\)"):
        lin.matrix(max_entries=100)
    # The refusal of the final product comes before it is made: its estimate is exact.
    with pytest.raises(ValueError, match=f"{exact.nnz:,} entries"):
        lin.matrix(max_entries=exact.nnz - 1)


def test_matrix_is_canonical_and_offset_is_composed_from_layers():
    model = nn.Sequential(nn.Conv1d(1, 1, 1, bias=True), nn.ReLU(),
                          nn.ConstantPad1d(1, 2.0)).double().eval()
    with torch.no_grad():
        model[0].weight.fill_(2.0)
        model[0].bias.fill_(-1.0)
    lin = linearize(model, np.array([[1.0, 0.0, 3.0]]))
    J = lin.matrix()
    assert J.has_canonical_format
    # by hand: conv 2x - 1 -> [1, -1, 5], relu keeps 0 and 2, pad writes 2 at both ends
    np.testing.assert_array_equal(J.toarray(), [[0, 0, 0], [2, 0, 0], [0, 0, 0], [0, 0, 2],
                                                [0, 0, 0]])
    np.testing.assert_array_equal(lin.offset, [2, -1, 0, -1, 2])


def test_float32_model():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.Upsample(scale_factor=2)).eval()
    x = np.random.default_rng(4).standard_normal((2, 5, 5)).astype(np.float32)
    lin = linearize(model, x)
    assert lin.dtype == np.float32
    y = model(torch.from_numpy(x)[None])[0].detach().numpy().ravel()
    np.testing.assert_allclose(lin.matrix() @ x.ravel() + lin.offset, y, atol=1e-5)


# --------------------------------------------------------------------------- receptive fields
@pytest.mark.parametrize("nd", [1, 2])
def test_receptive_field_matches_the_arithmetic(nd):
    layers = [(3, 1, 1), (2, 2, 1), (3, 1, 2), (3, 2, 1), (2, 1, 1)]  # (kernel, stride, dil.)
    mods = []
    for i, (k, s, d) in enumerate(layers):
        if i % 2:
            mods.append(getattr(nn, f"MaxPool{nd}d")(k, s, dilation=d))
        else:
            mods.append(getattr(nn, f"Conv{nd}d")(1, 1, k, s, dilation=d))
        mods.append(nn.ReLU())
    model = nn.Sequential(*mods).eval()
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    L = 40
    shape = (1,) + (L,) * nd
    out_shape = model(torch.zeros(1, *shape)).shape[1:]
    for j in range(out_shape[1]):
        field = receptive_field(model, shape, (0,) + (j,) * nd)
        box = np.zeros(shape, bool)
        box[(0,) + (slice(j * jump, j * jump + size),) * nd] = True
        np.testing.assert_array_equal(field, box)


def test_receptive_field_contains_every_gradient():
    torch.manual_seed(5)
    model = SkipNet().double().eval()
    shape = (2, 6, 6)
    P = receptive_field(SkipNet().eval(), shape)
    assert P.dtype == bool and P.shape == (5, math.prod(shape))
    model2 = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Upsample(scale_factor=2, mode="bilinear"),
                           nn.Conv2d(3, 2, 3, stride=2, dilation=2, padding=2)).double().eval()
    rng = np.random.default_rng(5)
    for net in (model, model2):
        P = receptive_field(net, shape)
        out = tuple(net(torch.zeros(1, *shape, dtype=torch.float64)).shape[1:])
        for _ in range(3):
            x = rng.standard_normal(shape)
            J = torch_jacobian(net, x)
            assert not np.any((J != 0) & ~P.toarray())  # nothing outside the field
            idx = tuple(int(rng.integers(n)) for n in out)
            field = receptive_field(net, shape, idx)
            np.testing.assert_array_equal(field.ravel(), P.toarray()[np.ravel_multi_index(
                idx, out)])


def test_receptive_field_of_max_unpooling_covers_the_window():
    model = Fn(lambda s, x: _unpool(s, s.p(x)), p=nn.MaxPool1d(2, return_indices=True),
               u=nn.MaxUnpool1d(2)).eval()
    P = receptive_field(model, (1, 6)).toarray().astype(int)
    np.testing.assert_array_equal(P, np.kron(np.eye(3, dtype=int), np.ones((2, 2), int)))


def test_receptive_field_errors():
    model = nn.Sequential(nn.Conv1d(1, 1, 3)).eval()
    with pytest.raises(ValueError, match="output_index"):
        receptive_field(model, (1, 5), (0, 3))
    with pytest.raises(ValueError, match="input_shape"):
        receptive_field(model, (1, 0))
    model = nn.Sequential(nn.Conv1d(1, 1, 3), nn.Conv1d(1, 1, 3)).eval()
    assert receptive_field(model, (1, 50)).nnz == 46 * 5
    with pytest.raises(ValueError, match="receptive_field.* 230 entries.*max_entries=200"):
        receptive_field(model, (1, 50), max_entries=200)  # each layer fits, the product not


def test_effective_receptive_field_is_the_gradient():
    torch.manual_seed(6)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 2, 3)).double().eval()
    x = np.random.default_rng(6).standard_normal((2, 8, 8))
    xt = torch.from_numpy(x).requires_grad_(True)
    model(xt[None])[0, 1, 1, 0].backward()
    erf = effective_receptive_field(model, x, (1, 1, 0))
    np.testing.assert_allclose(erf, np.abs(xt.grad.numpy()), atol=1e-12)
    assert not np.any(erf[~receptive_field(model, x.shape, (1, 1, 0))])


def test_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)).eval()
    x = np.random.default_rng(7).standard_normal((3, 8, 8))
    ax = plot_receptive_field(model, x, (0, 1, 2))
    assert "Receptive field of output (0, 1, 2)" in ax.get_title()
    ax = plot_effective_receptive_field(model, x, (1, 2, 2))
    assert "Effective receptive field" in ax.get_title()
    model1 = nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU()).eval()
    fig, ax = plt.subplots()
    assert plot_receptive_field(model1, np.ones((1, 9)), (0, 3), ax=ax) is ax
    assert plot_effective_receptive_field(model1, np.ones((1, 9)), (0, 3), ax=ax) is ax
    plt.close("all")


def test_network_is_optional():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import convmat; assert 'convmat.network' not in sys.modules\n"
            "try:\n    import convmat.network\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert 'pip install "convmat[torch]"' in out and "torch==2.13.0" in out


# --------------------------------------------------------------------------- bad input
def _conv_relu():
    return nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU()).double().eval()


@pytest.mark.parametrize("x, kind, match", [
    ([[1.0, 2.0], [3.0]], ValueError, r"x must be a rectangular array"),
    ("abc", TypeError, r"x must hold numbers"),
    (np.zeros((1, 0)), ValueError, r"x must be one sample .* got x of shape \(1, 0\)"),
    # torch's own refusal, with the sample it was given named
    (np.zeros((1, 2)), ValueError, r"Kernel size can't be greater.*sample x of shape \(1, 2\)"),
])
def test_linearize_names_a_bad_sample(x, kind, match):
    with pytest.raises(kind, match=match):
        linearize(_conv_relu(), x)


def test_receptive_field_refuses_a_huge_shape_before_running_the_model():
    with pytest.raises(ValueError, match=r"input_shape=\(1, 1000000000, 1000000000\)"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3)).eval(), (1, 10**9, 10**9))
    with pytest.raises(TypeError, match="max_entries"):
        receptive_field(_conv_relu(), (1, 6), max_entries="10")


@pytest.mark.parametrize("index", [1.5, None, object()])
def test_output_index_that_is_no_index_is_named(index):
    model = _conv_relu()
    with pytest.raises(TypeError, match="output_index"):
        effective_receptive_field(model, np.ones((1, 6)), index)
    with pytest.raises(TypeError, match="output_index"):
        plot_receptive_field(model, np.ones((1, 6)), index)


def test_receptive_field_plots_name_a_bad_colour_colour_map_or_ax():
    model, x = _conv_relu(), np.ones((1, 6))
    with pytest.raises(ValueError, match="color must be a matplotlib colour"):
        plot_receptive_field(model, x, (0, 1), color="no such colour")
    with pytest.raises(ValueError, match="cmap must be a matplotlib colour map"):
        plot_effective_receptive_field(model, x, (0, 1), cmap="no such map")
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_effective_receptive_field(model, x, (0, 1), ax="left")
