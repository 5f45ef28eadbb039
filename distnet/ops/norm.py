"""Normalisation operators: BatchNorm, LayerNorm, InstanceNorm, L2Normalization."""

from ..base import MXNetError
from .attrs import Attr, Int, Float, Bool, OptFloat, enum
from .registry import Op, register
from ._util import xp_of, as_dtype


def _channel_shape(op, shape, axis):
    """``(C,)`` for the normalised axis of ``shape``; MXNetError for a bad axis."""
    if not -len(shape) <= axis < len(shape):
        raise MXNetError(
            f"operator {op}: axis {axis} is out of range for data of shape {tuple(shape)}"
        )
    return (shape[axis],)


def _fill_params(op, in_shapes, aux_shapes, want):
    """Fill every parameter/aux shape after ``data`` with ``want``, checking known ones."""
    in_shapes, aux_shapes = list(in_shapes), list(aux_shapes)
    for shapes, first, names in ((in_shapes, 1, op.inputs), (aux_shapes, 0, op.aux)):
        for i in range(first, len(shapes)):
            if shapes[i] is not None and tuple(shapes[i]) != tuple(want):
                raise MXNetError(
                    f"operator {op.name}: {names[i]} has shape "
                    f"{tuple(shapes[i])}, expected {tuple(want)}"
                )
            shapes[i] = tuple(want)
    return in_shapes, aux_shapes


def _bshape(ndim, axis, c):
    """Shape broadcasting a ``(c,)`` vector along ``axis`` of an ``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = c
    return tuple(shape)


@register
class BatchNorm(Op):
    """Batch normalisation over every axis but ``axis``.

    Training (``is_train`` and not ``use_global_stats``) normalises with the batch mean and
    biased variance; otherwise with ``moving_mean``/``moving_var``. As in MXNet, the moving
    statistics are updated in place by the *backward* pass
    (``moving = moving * momentum + batch * (1 - momentum)``), so a training forward that
    is never differentiated leaves them alone. ``fix_gamma`` uses gamma = 1 and gives gamma
    a zero gradient. With ``output_mean_var`` the extra outputs are the mean and the
    inverse standard deviation ``1/sqrt(var + eps)`` (MXNet's convention).
    """

    name = "BatchNorm"
    inputs = ("data", "gamma", "beta")
    aux = ("moving_mean", "moving_var")
    params = {
        "eps": Attr(Float, 1e-3),
        "momentum": Attr(Float, 0.9),
        "fix_gamma": Attr(Bool, True),
        "use_global_stats": Attr(Bool, False),
        "output_mean_var": Attr(Bool, False),
        "axis": Attr(Int, 1),
        "cudnn_off": Attr(Bool, False),
        "min_calib_range": Attr(OptFloat, None),
        "max_calib_range": Attr(OptFloat, None),
    }

    def output_names(self, a):
        return ("output", "mean", "var") if a["output_mean_var"] else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        c = _channel_shape(self.name, d, a["axis"])
        in_shapes, aux_shapes = _fill_params(self, in_shapes, aux_shapes, c)
        return in_shapes, [tuple(d), c, c][: self.num_outputs(a)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, gamma, beta = ins
        xp = xp_of(x)
        axis = a["axis"] % x.ndim
        c = _channel_shape(self.name, x.shape, axis)
        for name, arr in zip(
            ("gamma", "beta", "moving_mean", "moving_var"), (gamma, beta) + tuple(aux)
        ):
            if tuple(arr.shape) != c:
                raise MXNetError(
                    f"operator BatchNorm: {name} has shape {tuple(arr.shape)}, expected {c}"
                )
        bs = _bshape(x.ndim, axis, c[0])
        axes = tuple(i for i in range(x.ndim) if i != axis)
        batch = is_train and not a["use_global_stats"]
        if batch:
            mean = x.mean(axis=axes)
            xc = x - mean.reshape(bs)
            var = (xc * xc).mean(axis=axes)
        else:
            mean, var = as_dtype(aux[0], x.dtype), as_dtype(aux[1], x.dtype)
            xc = x - mean.reshape(bs)
        invstd = 1.0 / xp.sqrt(var + x.dtype.type(a["eps"]))
        scale = invstd if a["fix_gamma"] else invstd * as_dtype(gamma, x.dtype)
        y = xc * scale.reshape(bs)
        y += as_dtype(beta, x.dtype).reshape(bs)
        outs = (y, mean, invstd) if a["output_mean_var"] else (y,)
        saved = (batch, xc, invstd, mean, var, aux)
        return outs, saved

    def backward(self, F, a, ins, outs, saved, ograds):
        batch, xc, invstd, mean, var, aux = saved
        x, gamma = ins[0], ins[1]
        xp = xp_of(x)
        g = ograds[0]
        axis = a["axis"] % x.ndim
        bs = _bshape(x.ndim, axis, invstd.shape[0])
        axes = tuple(i for i in range(x.ndim) if i != axis)
        gam = invstd if a["fix_gamma"] else invstd * as_dtype(gamma, x.dtype)
        dbeta = g.sum(axis=axes)
        dgamma_raw = (g * xc).sum(axis=axes) * invstd
        if batch:
            m = x.size // invstd.shape[0]
            xhat_coef = (dgamma_raw * invstd / m).reshape(bs)
            dx = (g - (dbeta / m).reshape(bs) - xc * xhat_coef) * gam.reshape(bs)
            self._update_moving(a, aux, mean, var)
        else:
            dx = g * gam.reshape(bs)
        dgamma = xp.zeros_like(gamma) if a["fix_gamma"] else dgamma_raw.astype(gamma.dtype)
        return dx, dgamma, dbeta.astype(ins[2].dtype, copy=False)

    @staticmethod
    def _update_moving(a, aux, mean, var):
        mom = a["momentum"]
        for moving, batch in zip(aux, (mean, var)):
            moving *= moving.dtype.type(mom)
            moving += (batch * (1 - mom)).astype(moving.dtype, copy=False)


@register
class LayerNorm(Op):
    """Normalise along ``axis`` with the mean and ``std = sqrt(var + eps)`` of each slice,
    then scale by ``gamma`` and shift by ``beta`` (both of the axis' length). With
    ``output_mean_var`` also outputs the mean and std (shape of data with axis size 1)."""

    name = "LayerNorm"
    inputs = ("data", "gamma", "beta")
    params = {"axis": Attr(Int, -1), "eps": Attr(Float, 1e-5), "output_mean_var": Attr(Bool, False)}

    def output_names(self, a):
        return ("output", "mean", "std") if a["output_mean_var"] else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        c = _channel_shape(self.name, d, a["axis"])
        in_shapes, aux_shapes = _fill_params(self, in_shapes, aux_shapes, c)
        red = list(d)
        red[a["axis"] % len(d)] = 1
        return in_shapes, [tuple(d), tuple(red), tuple(red)][: self.num_outputs(a)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, gamma, beta = ins
        xp = xp_of(x)
        axis = a["axis"] % x.ndim
        c = _channel_shape(self.name, x.shape, axis)
        for name, arr in (("gamma", gamma), ("beta", beta)):
            if tuple(arr.shape) != c:
                raise MXNetError(
                    f"operator LayerNorm: {name} has shape {tuple(arr.shape)}, expected {c}"
                )
        bs = _bshape(x.ndim, axis, c[0])
        mean = x.mean(axis=axis, keepdims=True)
        xc = x - mean
        std = xp.sqrt((xc * xc).mean(axis=axis, keepdims=True) + x.dtype.type(a["eps"]))
        xhat = xc / std
        y = xhat * as_dtype(gamma, x.dtype).reshape(bs) + as_dtype(beta, x.dtype).reshape(bs)
        outs = (y, mean, std) if a["output_mean_var"] else (y,)
        return outs, (xhat, std)

    def backward(self, F, a, ins, outs, saved, ograds):
        xhat, std = saved
        x, gamma = ins[0], ins[1]
        g = ograds[0]
        axis = a["axis"] % x.ndim
        bs = _bshape(x.ndim, axis, gamma.shape[0])
        others = tuple(i for i in range(x.ndim) if i != axis)
        # summed in float64: a long sum over the leading axes in float32 drifts past 1e-4
        acc = "float64" if g.dtype.itemsize <= 4 and g.dtype.kind == "f" else None
        dgamma = (g * xhat).sum(axis=others, dtype=acc)
        dbeta = g.sum(axis=others, dtype=acc)
        dxhat = g * as_dtype(gamma, g.dtype).reshape(bs)
        dx = (
            dxhat
            - dxhat.mean(axis=axis, keepdims=True)
            - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True)
        ) / std
        return dx, dgamma.astype(gamma.dtype, copy=False), dbeta.astype(ins[2].dtype, copy=False)


@register
class InstanceNorm(Op):
    """Normalise each (sample, channel) over its spatial axes, then scale by ``gamma`` and
    shift by ``beta`` (both ``(C,)``)."""

    name = "InstanceNorm"
    inputs = ("data", "gamma", "beta")
    params = {"eps": Attr(Float, 1e-3)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        in_shapes, aux_shapes = _fill_params(self, in_shapes, aux_shapes, (d[1],))
        return in_shapes, [tuple(d)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, gamma, beta = ins
        xp = xp_of(x)
        if x.ndim < 3:
            raise MXNetError(
                f"operator InstanceNorm: data must have at least 3 dimensions "
                f"(batch, channel, spatial...), got shape {tuple(x.shape)}"
            )
        if tuple(gamma.shape) != (x.shape[1],) or tuple(beta.shape) != (x.shape[1],):
            raise MXNetError(
                f"operator InstanceNorm: gamma and beta must have shape "
                f"({x.shape[1]},), got {tuple(gamma.shape)} and "
                f"{tuple(beta.shape)}"
            )
        axes = tuple(range(2, x.ndim))
        bs = _bshape(x.ndim, 1, x.shape[1])
        xc = x - x.mean(axis=axes, keepdims=True)
        std = xp.sqrt((xc * xc).mean(axis=axes, keepdims=True) + x.dtype.type(a["eps"]))
        xhat = xc / std
        y = xhat * as_dtype(gamma, x.dtype).reshape(bs) + as_dtype(beta, x.dtype).reshape(bs)
        return (y,), (xhat, std)

    def backward(self, F, a, ins, outs, saved, ograds):
        xhat, std = saved
        x, gamma = ins[0], ins[1]
        g = ograds[0]
        axes = tuple(range(2, x.ndim))
        bs = _bshape(x.ndim, 1, x.shape[1])
        dgamma = (g * xhat).sum(axis=(0,) + axes)
        dbeta = g.sum(axis=(0,) + axes)
        dxhat = g * as_dtype(gamma, g.dtype).reshape(bs)
        dx = (
            dxhat
            - dxhat.mean(axis=axes, keepdims=True)
            - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
        ) / std
        return dx, dgamma.astype(gamma.dtype, copy=False), dbeta.astype(ins[2].dtype, copy=False)


@register
class L2Normalization(Op):
    """``x / sqrt(sum(x**2) + eps)`` over every axis but the batch (``instance``), over
    axis 1 (``channel``) or over the spatial axes (``spatial``)."""

    name = "L2Normalization"
    params = {
        "eps": Attr(Float, 1e-10),
        "mode": Attr(enum("channel", "instance", "spatial"), "instance"),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    @staticmethod
    def _axes(a, ndim):
        if a["mode"] == "instance":
            return tuple(range(1, ndim))
        if a["mode"] == "channel":
            return (1,)
        return tuple(range(2, ndim))

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        if x.ndim < (3 if a["mode"] == "spatial" else 2):
            raise MXNetError(
                f"operator L2Normalization: data of shape {tuple(x.shape)} has "
                f"too few dimensions for mode {a['mode']!r}"
            )
        norm = xp.sqrt(
            (x * x).sum(axis=self._axes(a, x.ndim), keepdims=True) + x.dtype.type(a["eps"])
        )
        return (x / norm,), norm

    def backward(self, F, a, ins, outs, saved, ograds):
        y, g = outs[0], ograds[0]
        axes = self._axes(a, y.ndim)
        return ((g - y * (g * y).sum(axis=axes, keepdims=True)) / saved,)


@register
class GroupNorm(Op):
    """Normalise each sample's channel groups (``num_groups`` of them, over the group's
    channels and spatial axes), then scale by ``gamma`` and shift by ``beta``, which hold
    one value per *group* as in MXNet 1.9.1. With ``output_mean_var`` also outputs the
    mean and std, shape ``(N, num_groups)``."""

    name = "GroupNorm"
    inputs = ("data", "gamma", "beta")
    params = {
        "num_groups": Attr(Int, 1),
        "eps": Attr(Float, 1e-5),
        "output_mean_var": Attr(Bool, False),
    }

    def output_names(self, a):
        return ("output", "mean", "std") if a["output_mean_var"] else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        g = a["num_groups"]
        in_shapes, aux_shapes = _fill_params(self, in_shapes, aux_shapes, (g,))
        stats = (d[0], g)
        return in_shapes, [tuple(d), stats, stats][: self.num_outputs(a)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, gamma, beta = ins
        xp = xp_of(x)
        g = a["num_groups"]
        if x.ndim < 2 or g < 1 or x.shape[1] % g:
            raise MXNetError(
                f"operator GroupNorm: the channels of data {tuple(x.shape)} must "
                f"be a multiple of num_groups ({g})"
            )
        if tuple(gamma.shape) != (g,) or tuple(beta.shape) != (g,):
            raise MXNetError(
                f"operator GroupNorm: gamma and beta must have shape ({g},), "
                f"got {tuple(gamma.shape)} and {tuple(beta.shape)}"
            )
        xg = x.reshape(x.shape[0], g, -1)
        mean = xg.mean(axis=-1, keepdims=True)
        xc = xg - mean
        std = xp.sqrt((xc * xc).mean(axis=-1, keepdims=True) + x.dtype.type(a["eps"]))
        xhat = xc / std
        y = (
            xhat * as_dtype(gamma, x.dtype).reshape(1, g, 1)
            + as_dtype(beta, x.dtype).reshape(1, g, 1)
        ).reshape(x.shape)
        outs = (y, mean[..., 0], std[..., 0]) if a["output_mean_var"] else (y,)
        return outs, (xhat, std)

    def backward(self, F, a, ins, outs, saved, ograds):
        xhat, std = saved
        x, gamma = ins[0], ins[1]
        g = ograds[0].reshape(xhat.shape)
        dgamma = (g * xhat).sum(axis=(0, 2))
        dbeta = g.sum(axis=(0, 2))
        dxhat = g * as_dtype(gamma, g.dtype).reshape(1, -1, 1)
        dx = (
            dxhat
            - dxhat.mean(axis=-1, keepdims=True)
            - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)
        ) / std
        return (
            dx.reshape(x.shape),
            dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(ins[2].dtype, copy=False),
        )


def _channel_window_sum(xp, v, before, after):
    """``out[:, c] = sum(v[:, c-before : c+after+1])`` along axis 1, zero outside."""
    c = v.shape[1]
    padded = xp.zeros((v.shape[0], c + before + after) + v.shape[2:], v.dtype)
    padded[:, before : before + c] = v
    out = padded[:, :c].copy()
    for k in range(1, before + after + 1):
        out += padded[:, k : k + c]
    return out


@register
class LRN(Op):
    """Local response normalisation across channels:
    ``x / (knorm + alpha/nsize * sum(x**2 over nsize neighbouring channels))**beta``."""

    name = "LRN"
    params = {
        "alpha": Attr(Float, 1e-4),
        "beta": Attr(Float, 0.75),
        "knorm": Attr(Float, 2.0),
        "nsize": Attr(Int),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    @staticmethod
    def _halves(a):
        n = a["nsize"]
        if n < 1:
            raise MXNetError(f"operator LRN: nsize must be positive, got {n}")
        return (n - 1) // 2, n - 1 - (n - 1) // 2

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        before, after = self._halves(a)
        s = _channel_window_sum(xp, x * x, before, after)
        scale = s * x.dtype.type(a["alpha"] / a["nsize"]) + x.dtype.type(a["knorm"])
        return (x * scale ** x.dtype.type(-a["beta"]),), scale

    def backward(self, F, a, ins, outs, saved, ograds):
        x, g, scale = ins[0], ograds[0], saved
        xp = xp_of(x)
        before, after = self._halves(a)
        beta = x.dtype.type(a["beta"])
        inner = g * x * scale ** (-beta - 1)
        back = _channel_window_sum(xp, inner, after, before)  # the transposed window
        coef = x.dtype.type(2 * a["alpha"] * a["beta"] / a["nsize"])
        return (g * scale**-beta - coef * x * back,)
