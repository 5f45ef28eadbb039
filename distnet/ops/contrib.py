"""Small operators of MXNet's ``contrib`` namespace and the finiteness checks used by
mixed-precision training: ``isnan``/``isinf``/``isfinite``, ``all_finite``,
``multi_all_finite``, ``reset_arrays``, ``allclose``, ``index_array``, ``index_copy``, ``arange_like``,
``div_sqrt_dim``, ``quadratic``."""

import math

import numpy as np

from ..base import MXNetError
from .attrs import REQUIRED, Attr, Bool, Float, Int, OptFloat, OptInt, OptShape, Shape, enum
from .registry import Op, register
from ._util import xp_of


class _Predicate(Op):
    """Elementwise test giving 1 or 0 in the input's dtype; no gradient."""

    test = None

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (self.test(xp_of(x), x).astype(x.dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


def _predicate(name, test, doc):
    register(type(name, (_Predicate,), {"name": name, "test": staticmethod(test), "__doc__": doc}))


_predicate("_contrib_isnan", lambda xp, x: x != x, "1 where ``data`` is NaN, else 0.")
_predicate(
    "_contrib_isinf", lambda xp, x: xp.abs(x) == np.inf, "1 where ``data`` is +inf or -inf, else 0."
)
_predicate(
    "_contrib_isfinite",
    lambda xp, x: (x == x) & (xp.abs(x) != np.inf),
    "1 where ``data`` is neither NaN nor infinite, else 0.",
)


class _AllFinite(Op):
    """Base of the finiteness flags: a float32 array of shape (1,)."""

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [(1,)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.float32)], aux_types

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        ok = all(bool(xp.isfinite(x).all()) for x in ins)
        return (xp.full((1,), 1.0 if ok else 0.0, np.float32),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)


@register
class all_finite(_AllFinite):
    """1.0 if every element of ``data`` is finite, else 0.0 (shape (1,), float32)."""

    name = "all_finite"
    params = {"init_output": Attr(Bool, True)}


@register
class multi_all_finite(_AllFinite):
    """1.0 if every element of every input is finite, else 0.0 (shape (1,), float32)."""

    name = "multi_all_finite"
    variadic = True
    # num_args: the count distnet's variadic calls fill in; MXNet's own is num_arrays
    params = {"num_arrays": Attr(Int, 1), "init_output": Attr(Bool, True), "num_args": Attr(Int, 0)}


@register
class reset_arrays(Op):
    """Set every input array to zero in place (``nd.reset_arrays(*grads, num_arrays=n)``,
    what ``ParameterDict.zero_grad`` does); no outputs. Where MXNet crashed on a wrong
    ``num_arrays``, this raises an MXNetError naming both counts."""

    name = "reset_arrays"
    variadic = True
    # num_args: the count distnet's variadic calls fill in; MXNet's own is num_arrays
    params = {"num_arrays": Attr(Int, REQUIRED), "num_args": Attr(Int, 0)}

    def output_names(self, a):
        return ()

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [], aux_shapes

    def forward(self, a, ins, aux, is_train):
        if a["num_arrays"] != len(ins):
            raise MXNetError(
                f"operator reset_arrays: num_arrays={a['num_arrays']} but {len(ins)} "
                "arrays were given"
            )
        for x in ins:
            x[...] = 0
        return (), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)


@register
class _contrib_allclose(Op):
    """1 (uint8) if ``|a - b| <= atol + rtol*|b|`` everywhere (NaNs equal when
    ``equal_nan``), else 0."""

    name = "_contrib_allclose"
    inputs = ("a", "b")
    zero_d = True  # MXNet: shape ()
    params = {"rtol": Attr(Float, 1e-5), "atol": Attr(Float, 1e-8), "equal_nan": Attr(Bool, True)}

    def forward(self, a, ins, aux, is_train):
        x, y = ins
        xp = xp_of(x)
        ok = xp.allclose(x, y, rtol=a["rtol"], atol=a["atol"], equal_nan=a["equal_nan"])
        return (xp.full((), int(bool(ok)), np.uint8),), None

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [()], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.uint8)], aux_types

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None, None)


@register
class _contrib_index_array(Op):
    """The index of every element: shape ``data.shape + (len(axes),)``, int64; ``axes``
    (default all) picks which coordinates to keep."""

    name = "_contrib_index_array"
    params = {"axes": Attr(OptShape, None)}

    @staticmethod
    def _axes(a, ndim):
        axes = range(ndim) if a["axes"] is None else a["axes"]
        axes = [ax + ndim if ax < 0 else ax for ax in axes]
        if any(not 0 <= ax < ndim for ax in axes):
            raise MXNetError(f"index_array: axes {a['axes']} out of range for {ndim}-d data")
        return axes

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        out = None if s is None else tuple(s) + (len(self._axes(a, len(s))),)
        return in_shapes, [out], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.int64)], aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        axes = self._axes(a, x.ndim)
        if not axes:  # a 0-d input (or axes=()): no coordinates to stack
            return (xp.zeros(tuple(x.shape) + (0,), np.int64),), None
        grids = xp.indices(x.shape, dtype=np.int64)
        return (xp.stack([grids[ax] for ax in axes], axis=-1),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class _contrib_index_copy(Op):
    """``old_tensor`` with the rows listed in ``index_vector`` replaced by the rows of
    ``new_tensor``."""

    name = "_contrib_index_copy"
    inputs = ("old_tensor", "index_vector", "new_tensor")

    def forward(self, a, ins, aux, is_train):
        old, idx, new = ins
        rows = idx.astype(np.int64).reshape(-1)
        if new.shape != (rows.size,) + tuple(old.shape[1:]):
            raise MXNetError(
                f"index_copy: new_tensor has shape {tuple(new.shape)}, "
                f"expected {(rows.size,) + tuple(old.shape[1:])}"
            )
        out = old.copy()
        out[rows] = new
        return (out,), rows

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        g_old = g.copy()
        g_old[saved] = 0
        return (g_old, None, g[saved])


@register
class _contrib_arange_like(Op):
    """``start, start+step, ...`` shaped like ``data`` (or along ``axis``), each value
    repeated ``repeat`` times."""

    name = "_contrib_arange_like"
    params = {
        "start": Attr(Float, 0.0),
        "step": Attr(Float, 1.0),
        "repeat": Attr(Int, 1),
        "ctx": Attr(lambda c: c, None),
        "axis": Attr(OptInt, None),
    }

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        shape = x.shape if a["axis"] is None else (x.shape[a["axis"]],)
        n = int(np.prod(shape))
        vals = a["start"] + a["step"] * (xp.arange(n) // a["repeat"])
        return (vals.reshape(shape).astype(x.dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class _contrib_div_sqrt_dim(Op):
    """``data / sqrt(data.shape[-1])`` (scaled dot-product attention)."""

    name = "_contrib_div_sqrt_dim"
    nd_backward = True

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return ((x / math.sqrt(x.shape[-1])).astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0] / math.sqrt(ins[0].shape[-1]),)


@register
class _contrib_quadratic(Op):
    """``a*x^2 + b*x + c``, elementwise."""

    name = "_contrib_quadratic"
    params = {"a": Attr(Float, 0.0), "b": Attr(Float, 0.0), "c": Attr(Float, 0.0)}
    nd_backward = True

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return ((a["a"] * x * x + a["b"] * x + a["c"]).astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0] * (2 * a["a"] * ins[0] + a["b"]),)


def _resize_matrix(xp, n_in, n_out, align_corners, dtype):
    """(n_out, n_in) linear-interpolation weights along one axis."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = np.maximum((dst + 0.5) * (n_in / n_out) - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    w = np.zeros((n_out, n_in))
    np.add.at(w, (np.arange(n_out), lo), 1 - frac)
    np.add.at(w, (np.arange(n_out), hi), frac)
    return xp.asarray(w.astype(dtype))


def _pool_matrix(xp, n_in, n_out, dtype):
    """(n_out, n_in) averaging weights of adaptive pooling: bin i covers
    ``[floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))``."""
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        w[i, start:end] = 1.0 / (end - start)
    return xp.asarray(w.astype(dtype))


class _Separable2D(Op):
    """``out = Wh @ x @ Ww.T`` over the last two axes; the gradient is the transpose."""

    nd_backward = False

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        wh, ww = self.matrices(xp_of(x), a, ins)
        return ((wh @ x @ ww.T).astype(x.dtype, copy=False),), (wh, ww)

    def backward(self, F, a, ins, outs, saved, ograds):
        wh, ww = saved
        gx = wh.T @ ograds[0] @ ww
        return (gx.astype(ins[0].dtype, copy=False),) + (None,) * (len(ins) - 1)


@register
class _contrib_BilinearResize2D(_Separable2D):
    """Bilinear resize of (N, C, H, W) data to ``height`` x ``width`` (mode ``size``), by
    ``scale_height``/``scale_width``, to the size of ``like`` (mode ``like``), or by the
    ``odd_scale`` / ``to_even_*`` / ``to_odd_*`` rules of MXNet."""

    name = "_contrib_BilinearResize2D"
    inputs = ("data", "like")
    params = {
        "height": Attr(Int, 1),
        "width": Attr(Int, 1),
        "scale_height": Attr(OptFloat, None),
        "scale_width": Attr(OptFloat, None),
        "mode": Attr(
            enum(
                "size",
                "like",
                "odd_scale",
                "to_even_down",
                "to_even_up",
                "to_odd_down",
                "to_odd_up",
            ),
            "size",
        ),
        "align_corners": Attr(Bool, True),
    }

    def input_names(self, a):
        return ("data", "like") if a["mode"] == "like" else ("data",)

    # to_even/to_odd modes: (parity kept, step) per input size
    _PARITY = {
        "to_even_down": (0, -1),
        "to_even_up": (0, 1),
        "to_odd_down": (1, -1),
        "to_odd_up": (1, 1),
    }

    def _size(self, a, shape, like):
        h, w = shape[-2:]
        mode = a["mode"]
        if mode == "like":
            return tuple(like[-2:])
        if mode in self._PARITY:
            parity, step = self._PARITY[mode]
            return tuple(n if n % 2 == parity else n + step for n in (h, w))
        sh = a["scale_height"]
        sw = a["scale_width"] if a["scale_width"] is not None else sh
        if mode == "odd_scale":  # odd sizes keep their end points: (n - 1) * scale + 1
            return tuple(
                int((n - 1) * sc + 1) if n % 2 else int(n * sc) for n, sc in ((h, sh), (w, sw))
            )
        if mode != "size":
            raise MXNetError(f"BilinearResize2D: unknown mode {mode!r}")
        if sh is not None:
            return int(h * sh), int(w * sw)
        return a["height"], a["width"]

    def matrices(self, xp, a, ins):
        x = ins[0]
        oh, ow = self._size(a, x.shape, ins[1].shape if len(ins) > 1 else None)
        return (
            _resize_matrix(xp, x.shape[-2], oh, a["align_corners"], x.dtype),
            _resize_matrix(xp, x.shape[-1], ow, a["align_corners"], x.dtype),
        )


@register
class _contrib_AdaptiveAvgPooling2D(_Separable2D):
    """Average pooling of (N, C, H, W) data into ``output_size`` bins (default 1x1)."""

    name = "_contrib_AdaptiveAvgPooling2D"
    params = {"output_size": Attr(Shape, ())}

    def matrices(self, xp, a, ins):
        x = ins[0]
        size = tuple(a["output_size"]) or (1,)
        oh, ow = size if len(size) == 2 else (size[0], size[0])
        return (
            _pool_matrix(xp, x.shape[-2], oh, x.dtype),
            _pool_matrix(xp, x.shape[-1], ow, x.dtype),
        )
