"""Layer operators: FullyConnected, Activation, LeakyReLU, SoftmaxActivation, Dropout,
Embedding."""

import math

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Int, Float, Bool, Shape, Dtype, enum, _optional
from .registry import Op, register, get_op
from ._util import xp_of, as_dtype, erf
from .softmax import _softmax
from .._threads import for_gemm


def _check_shape(op, name, got, want):
    if tuple(got) != tuple(want):
        raise MXNetError(f"operator {op}: {name} has shape {tuple(got)}, expected {tuple(want)}")


@register
class FullyConnected(Op):
    """``data @ weight.T + bias``; ``weight`` is ``(num_hidden, in_units)``. With
    ``flatten`` the data is ``(N, ...)`` flattened to ``(N, in_units)``, otherwise the
    product applies to its last axis."""

    name = "FullyConnected"
    inputs = ("data", "weight", "bias")
    params = {"num_hidden": Attr(Int), "no_bias": Attr(Bool, False), "flatten": Attr(Bool, True)}

    def input_names(self, a):
        return ("data", "weight") if a["no_bias"] else self.inputs

    @staticmethod
    def _in_units(a, dshape):
        if a["flatten"]:
            # math.prod: np.prod costs ~3 us per call, paid by every forward
            return int(math.prod(dshape[1:])), (dshape[0], a["num_hidden"])
        return dshape[-1], tuple(dshape[:-1]) + (a["num_hidden"],)

    def infer_shape(self, a, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        if in_shapes[0] is None:
            return in_shapes, [None], aux_shapes
        units, out = self._in_units(a, in_shapes[0])
        want = [(a["num_hidden"], units), (a["num_hidden"],)]
        for i in range(1, len(in_shapes)):
            if in_shapes[i] is not None:
                _check_shape(self.name, self.input_names(a)[i], in_shapes[i], want[i - 1])
            in_shapes[i] = want[i - 1]
        return in_shapes, [out], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, w = ins[0], ins[1]
        nh = a["num_hidden"]
        shape = x.shape
        if a["flatten"] and len(shape) == 2:  # _in_units' common case, inline
            units, out_shape = shape[1], (shape[0], nh)
        else:
            units, out_shape = self._in_units(a, shape)
        if w.shape != (nh, units):  # shape checks inline: this runs for every layer
            _check_shape(self.name, "weight", w.shape, (nh, units))
        x2 = x if x.ndim == 2 and x.shape[1] == units else x.reshape(-1, units)
        if w.dtype != x.dtype:
            w = w.astype(x.dtype)
        bias = None
        if not a["no_bias"]:
            bias = ins[2]
            if bias.shape != (nh,):
                _check_shape(self.name, "bias", bias.shape, (nh,))
        for_gemm(xp_of(x), x2.shape[0] * units * nh)
        if _transposed_gemm(x2, w):
            y = _transposed_product(x2, w, bias)
        else:
            y = xp_of(x).matmul(x2, w.T)
            if bias is not None:
                y += bias
        return (y if y.shape == out_shape else y.reshape(out_shape),), None

    backward_req = True

    def backward(self, F, a, ins, outs, saved, ograds, req=None):
        x, w = ins[0], ins[1]
        xp = xp_of(x)
        g = ograds[0]
        nh = a["num_hidden"]
        if g.ndim != 2 or g.shape[1] != nh:
            g = g.reshape(-1, nh)
        x2 = x if x.ndim == 2 and x.shape[0] == g.shape[0] else x.reshape(g.shape[0], -1)
        for_gemm(xp, x2.size * nh)
        dx = None  # skipped when unwanted: the first layer's data gradient is pure cost
        if req is None or req[0]:
            dx = xp.matmul(g, as_dtype(w, g.dtype))
            if dx.shape != x.shape:
                dx = dx.reshape(x.shape)
        dw = xp.matmul(g.T, x2)
        if dw.dtype != w.dtype:
            dw = dw.astype(w.dtype)
        if a["no_bias"]:
            return dx, dw
        return dx, dw, g.sum(axis=0)


def _transposed_gemm(x2, w):
    """Whether ``x2 @ w.T`` is faster computed as ``(w @ x2.T).T`` (numpy only).

    OpenBLAS (0.3.x, Haswell/Zen kernels) multiplies a short, wide batch by a transposed
    weight 10-25% slower than the transposed problem when the layer has at least twice
    as many units as the batch has rows and a long inner dimension (measured, 1 and 2
    threads: batch 64 x 784 -> 128 units 175 -> 159 us; 32 rows 114 -> 85 us; 64 x 784
    -> 512 units 676 -> 571 us); elsewhere (more rows than units, short inner dimension)
    it is slower or even. The transposed result is copied back to C order while the bias
    is added, so callers see the same C-contiguous array, equal within float32 rounding
    (the two BLAS calls sum in different orders)."""
    n, k = x2.shape
    return (
        type(x2) is np.ndarray
        and k >= 256
        and w.shape[0] >= 2 * n
        and x2.dtype == np.float32
        and x2.flags.c_contiguous
        and w.flags.c_contiguous
    )


def _transposed_product(x2, w, bias):
    """``x2 @ w.T (+ bias)`` as ``(w @ x2.T).T``, in a C-contiguous array."""
    yt = np.matmul(w, x2.T)
    y = np.empty((x2.shape[0], w.shape[0]), yt.dtype)
    if bias is None:
        np.copyto(y, yt.T)
    else:
        np.add(yt.T, bias, out=y)
    return y


@register
class Activation(Op):
    """Elementwise activation: relu, sigmoid, tanh, softrelu or softsign (the same math
    as the operators of those names)."""

    name = "Activation"
    params = {"act_type": Attr(enum("relu", "sigmoid", "softrelu", "softsign", "tanh"))}
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (get_op(a["act_type"]).fn(xp_of(x), x),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (get_op(a["act_type"]).grad(F, ins[0], outs[0], ograds[0]),)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946


@register
class LeakyReLU(Op):
    """Leaky rectifiers: leaky (``slope``), prelu (learned ``gamma`` per channel), elu,
    selu, gelu (erf form) and rrelu (random slope in ``[lower_bound, upper_bound]`` while
    training, their mean otherwise; rrelu also outputs that slope as ``mask``).

    selu's gradient for ``x < 0`` is the derivative ``lambda*alpha*exp(x)``; MXNet 1.9.1
    computes ``lambda*(y + alpha)`` there, a bug distnet does not copy.
    """

    name = "LeakyReLU"
    inputs = ("data", "gamma")
    params = {
        "act_type": Attr(enum("elu", "gelu", "leaky", "prelu", "rrelu", "selu"), "leaky"),
        "slope": Attr(Float, 0.25),
        "lower_bound": Attr(Float, 0.125),
        "upper_bound": Attr(Float, 0.334),
    }

    def input_names(self, a):
        return self.inputs if a["act_type"] == "prelu" else ("data",)

    def output_names(self, a):
        return ("output", "mask") if a["act_type"] == "rrelu" else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        d = in_shapes[0]
        if a["act_type"] == "prelu" and d is not None and in_shapes[1] is None:
            in_shapes[1] = (d[1] if len(d) > 1 else 1,)
        return in_shapes, [d] * len(self.output_names(a)), aux_shapes

    @staticmethod
    def _gamma(x, gamma):
        """prelu's gamma shaped to broadcast against ``x``, as MXNet: a 1-d gamma runs
        along axis 1 (a single value applies everywhere); a gamma of 2 or more dims lines
        up with the leading axes of ``x`` ((3, 4) against (3, 4, 4, 5) is (3, 4, 1, 1))."""
        if gamma.size == 1 or x.ndim < 2:
            return gamma.reshape((1,) * x.ndim)
        if gamma.ndim == 1 and gamma.shape[0] == x.shape[1]:
            return gamma.reshape((1, -1) + (1,) * (x.ndim - 2))
        lead = tuple(gamma.shape) + (1,) * (x.ndim - gamma.ndim)
        if (
            gamma.ndim == 1
            or len(lead) != x.ndim
            or any(g not in (1, d) for g, d in zip(lead, x.shape))
        ):
            raise MXNetError(
                f"operator LeakyReLU: gamma has shape {tuple(gamma.shape)}, expected "
                f"({x.shape[1]},) or a shape that broadcasts against the leading axes of "
                f"data of shape {tuple(x.shape)}"
            )
        return gamma.reshape(lead)

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        kind = a["act_type"]
        pos = x > 0
        if kind == "leaky":
            return (xp.where(pos, x, x * x.dtype.type(a["slope"])),), None
        if kind == "prelu":
            return (xp.where(pos, x, x * as_dtype(self._gamma(x, ins[1]), x.dtype)),), None
        if kind == "elu":
            return (xp.where(pos, x, xp.expm1(x) * x.dtype.type(a["slope"])),), None
        if kind == "selu":
            neg = xp.expm1(x) * x.dtype.type(_SELU_ALPHA)
            return (xp.where(pos, x, neg) * x.dtype.type(_SELU_LAMBDA),), None
        if kind == "gelu":
            return (x * (erf(xp, x * x.dtype.type(1 / math.sqrt(2))) + 1) * 0.5,), None
        return self._rrelu(xp, a, x, pos, is_train)

    @staticmethod
    def _rrelu(xp, a, x, pos, is_train):
        lo, hi = a["lower_bound"], a["upper_bound"]
        if is_train:
            from .. import random as _random

            u = _uniform(_random.generator(xp), x.shape, x.dtype)
            slope = u * x.dtype.type(hi - lo) + x.dtype.type(lo)
        else:
            slope = xp.full(x.shape, (lo + hi) / 2, x.dtype)
        return (xp.where(pos, x, x * slope), slope), slope

    def backward(self, F, a, ins, outs, saved, ograds):
        x, g = ins[0], ograds[0]
        xp = xp_of(x)
        kind = a["act_type"]
        pos = x > 0
        one = x.dtype.type(1)
        if kind == "leaky":
            return (g * xp.where(pos, one, x.dtype.type(a["slope"])),)
        if kind == "prelu":
            gamma = self._gamma(x, ins[1])
            dx = g * xp.where(pos, one, as_dtype(gamma, x.dtype))
            axes = tuple(i for i in range(x.ndim) if gamma.shape[i] == 1)
            dgamma = (g * xp.where(pos, 0, x)).sum(axis=axes).reshape(ins[1].shape)
            return dx, dgamma.astype(ins[1].dtype, copy=False)
        if kind == "elu":
            return (g * xp.where(pos, one, outs[0] + x.dtype.type(a["slope"])),)
        if kind == "selu":
            neg = xp.exp(x) * x.dtype.type(_SELU_ALPHA)
            return (g * xp.where(pos, one, neg) * x.dtype.type(_SELU_LAMBDA),)
        if kind == "gelu":
            cdf = (erf(xp, x * x.dtype.type(1 / math.sqrt(2))) + 1) * 0.5
            pdf = xp.exp(x * x * -0.5) * x.dtype.type(1 / math.sqrt(2 * math.pi))
            return (g * (cdf + x * pdf),)
        return (g * xp.where(pos, one, saved),)


def _uniform(gen, shape, dtype):
    """Uniform [0, 1) samples of ``dtype`` from a numpy/cupy Generator or RandomState."""
    draw = getattr(gen, "random", None) or gen.random_sample
    try:
        return draw(shape, dtype=dtype)
    except TypeError:  # float16, or a RandomState without a dtype argument
        return draw(shape).astype(dtype, copy=False)


@register
class SoftmaxActivation(Op):
    """Softmax over the last axis (``mode='instance'``, as MXNet 1.9.1 computes it) or over
    axis 1 (``mode='channel'``)."""

    name = "SoftmaxActivation"
    params = {"mode": Attr(enum("channel", "instance"), "instance")}

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    @staticmethod
    def _axis(a):
        return 1 if a["mode"] == "channel" else -1

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (_softmax(xp_of(x), x, self._axis(a), None),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        y, g = outs[0], ograds[0]
        return ((g - (g * y).sum(axis=self._axis(a), keepdims=True)) * y,)


@register
class Dropout(Op):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` while
    training (or always, with ``mode='always'``); identity otherwise. ``axes`` share one
    mask draw along those axes (variational dropout)."""

    name = "Dropout"
    params = {
        "p": Attr(Float, 0.5),
        "mode": Attr(enum("always", "training"), "training"),
        "axes": Attr(Shape, ()),
        "cudnn_off": Attr(_optional(Bool), False),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        p = a["p"]
        if not (is_train or a["mode"] == "always") or p <= 0:
            return (x.copy(),), None
        if p > 1:
            raise MXNetError(f"operator Dropout: p must be in [0, 1], got {p}")
        xp = xp_of(x)
        shape = list(x.shape)
        for ax in a["axes"]:
            shape[ax % x.ndim] = 1
        from .. import random as _random

        keep = _uniform(_random.generator(xp), tuple(shape), x.dtype) >= x.dtype.type(p)
        scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
        mask = keep.astype(x.dtype) * x.dtype.type(scale)
        return (x * mask,), mask

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        return (g if saved is None else g * saved,)


@register
class Embedding(Op):
    """Rows of ``weight`` ``(input_dim, output_dim)`` picked by the indices in ``data``
    (clipped to the table, truncated toward zero); the indices get no gradient."""

    name = "Embedding"
    inputs = ("data", "weight")
    params = {
        "input_dim": Attr(Int),
        "output_dim": Attr(Int),
        "dtype": Attr(Dtype, np.dtype(np.float32)),
        "sparse_grad": Attr(Bool, False),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        want = (a["input_dim"], a["output_dim"])
        if in_shapes[1] is not None:
            _check_shape(self.name, "weight", in_shapes[1], want)
        in_shapes[1] = want
        out = None if in_shapes[0] is None else tuple(in_shapes[0]) + (a["output_dim"],)
        return in_shapes, [out], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        dt = np.dtype(a["dtype"])
        data = in_types[0] if in_types[0] is not None else np.dtype(np.float32)
        weight = in_types[1] if in_types[1] is not None else dt
        return [data, weight], [weight], aux_types

    def forward(self, a, ins, aux, is_train):
        data, w = ins
        _check_shape(self.name, "weight", w.shape, (a["input_dim"], a["output_dim"]))
        xp = xp_of(w)
        idx = xp.clip(data.astype(np.int64), 0, a["input_dim"] - 1)
        return (xp.take(w, idx, axis=0),), idx

    def backward(self, F, a, ins, outs, saved, ograds):
        w = ins[1]
        xp = xp_of(w)
        g = ograds[0].reshape(-1, a["output_dim"])
        if a["sparse_grad"]:  # row_sparse: only the looked-up rows, never the table
            from .sparse_ops import RowSparseGrad

            return None, RowSparseGrad(saved.reshape(-1), g.astype(w.dtype, copy=False), w.shape)
        dw = xp.zeros(w.shape, g.dtype)
        if xp is np:
            np.add.at(dw, saved.reshape(-1), g)
        else:  # cupy's ufunc.at support varies by version; scatter_add is its spelling
            import cupyx

            cupyx.scatter_add(dw, saved.reshape(-1), g)
        return None, dw.astype(w.dtype, copy=False)
