"""Convolution and Deconvolution (1-, 2- and 3-D, grouped, strided, dilated, padded).

Both run as one matrix product over im2col columns (see ``_im2col``); Deconvolution is the
transpose of Convolution: its forward is Convolution's data gradient and its data gradient
is Convolution's forward, on the same plan.
"""

from ..base import MXNetError
from .attrs import Attr, Int, Bool, Shape, enum, _optional
from .registry import Op, register
from ._util import xp_of, as_dtype
from ._im2col import ConvPlan, conv_out_size, check_spatial

_LAYOUT = _optional(enum("NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC"))
_TUNE = _optional(enum("fastest", "limited_workspace", "off"))
_PLANS = {}


def _channels_last(layout):
    return layout is not None and layout.endswith("C")


def _cached_plan(key, make):
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        plan = _PLANS[key] = make()
    return plan


def _spatial_attrs(op, a, d):
    """Resolved (stride, dilate, pad) for ``d`` spatial dims, MXNet's defaults filled."""
    stride = check_spatial(op, "stride", a["stride"], d) or (1,) * d
    dilate = check_spatial(op, "dilate", a["dilate"], d) or (1,) * d
    pad = check_spatial(op, "pad", a["pad"], d) or (0,) * d
    if min(stride) < 1 or min(dilate) < 1 or min(pad) < 0:
        raise MXNetError(
            f"operator {op}: stride and dilate must be >= 1 and pad >= 0, got "
            f"stride={stride}, dilate={dilate}, pad={pad}"
        )
    return stride, dilate, pad


def _check_data(op, a, dshape):
    kernel = a["kernel"]
    d = len(kernel)
    if d not in (1, 2, 3):
        raise MXNetError(f"operator {op}: kernel must have 1, 2 or 3 dimensions, got {kernel}")
    if len(dshape) != d + 2:
        raise MXNetError(
            f"operator {op}: data must be {d + 2}-D (batch, channel, {d} spatial) "
            f"for kernel {kernel}, got shape {tuple(dshape)}"
        )
    g = a["num_group"]
    if g < 1 or a["num_filter"] < 1 or a["num_filter"] % g or dshape[1] % g:
        raise MXNetError(
            f"operator {op}: num_filter ({a['num_filter']}) and the data channels "
            f"({dshape[1]}) must be positive multiples of num_group ({g})"
        )
    return d


def _to_first(shape, last):
    """A shape in the operator's layout as channels-first."""
    return (shape[0], shape[-1]) + tuple(shape[1:-1]) if last else tuple(shape)


def _from_first(shape, last):
    return (shape[0],) + tuple(shape[2:]) + (shape[1],) if last else tuple(shape)


def _check_shape(op, name, got, want):
    if tuple(got) != tuple(want):
        raise MXNetError(f"operator {op}: {name} has shape {tuple(got)}, expected {tuple(want)}")


class _ConvBase(Op):
    """Shared parts of Convolution and Deconvolution."""

    inputs = ("data", "weight", "bias")

    def input_names(self, a):
        return ("data", "weight") if a["no_bias"] else self.inputs

    def infer_shape(self, a, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        if in_shapes[0] is None:
            return in_shapes, [None], aux_shapes
        last = _channels_last(a["layout"])
        plan = self.plan(a, _to_first(in_shapes[0], last))
        wshape = self.weight_shape(a, plan)
        if last:
            wshape = _from_first(wshape, True)
        if in_shapes[1] is not None:
            _check_shape(self.name, "weight", in_shapes[1], wshape)
        in_shapes[1] = wshape
        if not a["no_bias"]:
            if in_shapes[2] is not None:
                _check_shape(self.name, "bias", in_shapes[2], (a["num_filter"],))
            in_shapes[2] = (a["num_filter"],)
        return in_shapes, [_from_first(self.out_shape(plan), last)], aux_shapes

    def _prepare(self, a, ins):
        """Channels-first data and weight, their plan, and the array module."""
        x, w = ins[0], ins[1]
        xp = xp_of(x)
        last = _channels_last(a["layout"])
        if last:
            x, w = xp.moveaxis(x, -1, 1), xp.moveaxis(w, -1, 1)
        plan = self.plan(a, x.shape)
        _check_shape(self.name, "weight", w.shape, self.weight_shape(a, plan))
        if not a["no_bias"]:
            _check_shape(self.name, "bias", ins[2].shape, (a["num_filter"],))
        return xp, x, as_dtype(w, x.dtype), plan, last

    @staticmethod
    def _finish(xp, y, last):
        return xp.ascontiguousarray(xp.moveaxis(y, 1, -1)) if last else y

    @staticmethod
    def _add_bias(a, ins, y):
        if not a["no_bias"]:
            y += ins[2].reshape((1, -1) + (1,) * (y.ndim - 2)).astype(y.dtype, copy=False)
        return y

    backward_req = True

    def _grads(self, a, xp, ins, dx, dw, gy, last):
        """Input gradients in the operator's layout and the inputs' dtypes."""
        dx = None if dx is None else dx.astype(ins[0].dtype, copy=False)
        dw = dw.astype(ins[1].dtype, copy=False)
        if last:
            dx = None if dx is None else xp.ascontiguousarray(xp.moveaxis(dx, 1, -1))
            dw = xp.ascontiguousarray(xp.moveaxis(dw, 1, -1))
        if a["no_bias"]:
            return dx, dw
        db = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
        return dx, dw, db.astype(ins[2].dtype, copy=False)


_CONV_PARAMS = {
    "kernel": Attr(Shape),
    "stride": Attr(Shape, ()),
    "dilate": Attr(Shape, ()),
    "pad": Attr(Shape, ()),
    "num_filter": Attr(Int),
    "num_group": Attr(Int, 1),
    "workspace": Attr(Int, 1024),
    "no_bias": Attr(Bool, False),
    "cudnn_tune": Attr(_TUNE, None),
    "cudnn_off": Attr(Bool, False),
    "layout": Attr(_LAYOUT, None),
}


@register
class Convolution(_ConvBase):
    """N-D convolution (``data``, ``weight`` ``(num_filter, C/num_group, *kernel)``,
    optional ``bias``), as im2col and one matrix product."""

    name = "Convolution"
    params = _CONV_PARAMS

    def plan(self, a, dshape):
        """The (cached) ConvPlan for channels-first data of shape ``dshape``."""
        key = (
            self.name,
            tuple(dshape),
            a["kernel"],
            a["stride"],
            a["dilate"],
            a["pad"],
            a["num_filter"],
            a["num_group"],
        )
        return _cached_plan(key, lambda: self._make_plan(a, dshape))

    def _make_plan(self, a, dshape):
        d = _check_data(self.name, a, dshape)
        stride, dilate, pad = _spatial_attrs(self.name, a, d)
        kernel = a["kernel"]
        out = tuple(
            conv_out_size(s, k, st, dl, p)
            for s, k, st, dl, p in zip(dshape[2:], kernel, stride, dilate, pad)
        )
        if min(out) < 1:
            raise MXNetError(
                f"operator {self.name}: kernel {kernel} (dilate {dilate}) does not "
                f"fit data of shape {tuple(dshape)} with pad {pad}"
            )
        return ConvPlan(
            dshape[0],
            dshape[1],
            a["num_filter"],
            a["num_group"],
            dshape[2:],
            kernel,
            stride,
            dilate,
            pad,
            out,
        )

    def weight_shape(self, a, plan):
        return (plan.F, plan.Cg) + plan.K

    def out_shape(self, plan):
        return (plan.N, plan.F) + plan.O

    def forward(self, a, ins, aux, is_train):
        xp, x, w, plan, last = self._prepare(a, ins)
        cols = plan.im2col(xp, x)
        y = self._add_bias(a, ins, plan.forward(xp, cols, plan.weight_matrix(xp, w)))
        return (self._finish(xp, y, last),), (plan, cols, last)

    def backward(self, F, a, ins, outs, saved, ograds, req=None):
        plan, cols, last = saved
        xp = xp_of(ins[0])
        w = ins[1]
        gy = xp.moveaxis(ograds[0], -1, 1) if last else ograds[0]
        if last:
            w = xp.moveaxis(w, -1, 1)
        gm = plan.grad_matrix(xp, gy)
        dw = plan.weight_from_matrix(xp, plan.weight_grad(xp, gm, cols))
        dx = None  # the first layer's data gradient (col2im) is the costliest and unused
        if req is None or req[0]:
            dx = plan.input_grad(xp, gy, gm, as_dtype(w, gy.dtype), ins[0].dtype)
        return self._grads(a, xp, ins, dx, dw, gy, last)


@register
class Deconvolution(_ConvBase):
    """Transposed convolution: ``weight`` is ``(C, num_filter/num_group, *kernel)``; the
    output size is ``stride*(in-1) + dilate*(kernel-1) + 1 - 2*pad + adj``, or
    ``target_shape`` (which then sets pad and adj, as MXNet). ``no_bias`` defaults to True."""

    name = "Deconvolution"
    params = {
        "kernel": Attr(Shape),
        "stride": Attr(Shape, ()),
        "dilate": Attr(Shape, ()),
        "pad": Attr(Shape, ()),
        "adj": Attr(Shape, ()),
        "target_shape": Attr(Shape, ()),
        "num_filter": Attr(Int),
        "num_group": Attr(Int, 1),
        "workspace": Attr(Int, 512),
        "no_bias": Attr(Bool, True),
        "cudnn_tune": Attr(_TUNE, None),
        "cudnn_off": Attr(Bool, False),
        "layout": Attr(_LAYOUT, None),
    }

    def plan(self, a, dshape):
        """The ConvPlan of the convolution this deconvolution transposes."""
        key = (
            self.name,
            tuple(dshape),
            a["kernel"],
            a["stride"],
            a["dilate"],
            a["pad"],
            a["adj"],
            a["target_shape"],
            a["num_filter"],
            a["num_group"],
        )
        return _cached_plan(key, lambda: self._make_plan(a, dshape))

    def _make_plan(self, a, dshape):
        d = _check_data(self.name, a, dshape)
        stride, dilate, pad = _spatial_attrs(self.name, a, d)
        adj = check_spatial(self.name, "adj", a["adj"], d) or (0,) * d
        target = check_spatial(self.name, "target_shape", a["target_shape"], d)
        kernel, ins = a["kernel"], dshape[2:]
        spans = [
            st * (n - 1) + dl * (k - 1) + 1 for n, k, st, dl in zip(ins, kernel, stride, dilate)
        ]
        if target is not None and any(target):
            for t, span in zip(target, spans):
                if t > span:
                    raise MXNetError(
                        f"operator {self.name}: target_shape {target} is too big "
                        f"for data of shape {tuple(dshape)} (at most {span})"
                    )
            pad = tuple((span - t + 1) // 2 for span, t in zip(spans, target))
            adj = tuple((span - t) % 2 for span, t in zip(spans, target))
        for j, st in zip(adj, stride):
            if j >= st or j < 0:
                raise MXNetError(
                    f"operator {self.name}: adj {adj} must be smaller than stride {stride}"
                )
        out = tuple(span - 2 * p + j for span, p, j in zip(spans, pad, adj))
        if min(out) < 1:
            raise MXNetError(
                f"operator {self.name}: pad {pad} leaves no output for data of "
                f"shape {tuple(dshape)}"
            )
        # the convolution from our output (num_filter channels) back to our input
        return ConvPlan(
            dshape[0],
            a["num_filter"],
            dshape[1],
            a["num_group"],
            out,
            kernel,
            stride,
            dilate,
            pad,
            ins,
        )

    def weight_shape(self, a, plan):
        return (plan.F, plan.Cg) + plan.K

    def out_shape(self, plan):
        return (plan.N, plan.C) + plan.S

    def forward(self, a, ins, aux, is_train):
        xp, x, w, plan, last = self._prepare(a, ins)
        gm = plan.grad_matrix(xp, x)
        y = self._add_bias(a, ins, plan.data_grad(xp, gm, w, x.dtype))
        return (self._finish(xp, y, last),), (plan, gm, last)

    def backward(self, F, a, ins, outs, saved, ograds, req=None):
        plan, gm, last = saved
        xp = xp_of(ins[0])
        w = ins[1]
        gy = xp.moveaxis(ograds[0], -1, 1) if last else ograds[0]
        if last:
            w = xp.moveaxis(w, -1, 1)
        cols = plan.im2col(xp, gy)
        dx = None
        if req is None or req[0]:
            dx = plan.forward(xp, cols, plan.weight_matrix(xp, as_dtype(w, gy.dtype)))
        dw = plan.weight_from_matrix(xp, plan.weight_grad(xp, gm, cols))
        return self._grads(a, xp, ins, dx, dw, gy, last)
