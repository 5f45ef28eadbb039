"""Shape operators: Reshape (MXNet's special codes), Flatten, transpose, expand_dims,
squeeze, broadcasting, Cast, BlockGrad, dot/batch_dot and NDArray indexing."""

import math

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Axis, Bool, Dtype, Int, OptInt, Shape
from .registry import Op, register
from ._util import xp_of, normalize_axis


def _infer_reshape(src, target, reverse=False):
    """Apply MXNet's reshape codes 0, -1, -2, -3, -4 of ``target`` to shape ``src``."""
    src, target = tuple(src), tuple(target)
    if reverse:  # as MXNet: both reversed, so -4 reads the two sizes before it
        return tuple(reversed(_infer_reshape(src[::-1], target[::-1])))
    out, i, j = [], 0, 0
    while j < len(target):
        t = target[j]
        if t > 0:
            out.append(t)
            i += 1
        elif t == 0:
            out.append(src[i])
            i += 1
        elif t == -1:
            out.append(-1)
            i += 1
        elif t == -2:
            out.extend(src[i:])
            i = len(src)
        elif t == -3:
            out.append(src[i] * src[i + 1])
            i += 2
        elif t == -4:
            d0, d1 = target[j + 1], target[j + 2]
            d0 = src[i] // d1 if d0 == -1 else d0
            d1 = src[i] // d0 if d1 == -1 else d1
            out.extend((d0, d1))
            i += 1
            j += 2
        else:
            raise MXNetError(f"Reshape: invalid code {t} in shape {target}")
        j += 1
    return _fill_unknown(src, tuple(out), target)


def _fill_unknown(src, out, target):
    total = int(np.prod(src, dtype=np.int64))
    if out.count(-1) > 1:
        raise MXNetError(f"Reshape: more than one -1 in shape {target}")
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise MXNetError(f"Reshape: cannot reshape array of shape {src} into {target}")
        out = tuple(total // known if d == -1 else d for d in out)
    if int(np.prod(out, dtype=np.int64)) != total:
        raise MXNetError(
            f"Reshape: cannot reshape array of shape {src} into {target} "
            f"(gives {out}, a different size)"
        )
    return out


class _ShapeOnly(Op):
    """An operator that only changes the shape; the gradient is reshaped back."""

    nd_backward = True

    def out_shape(self, a, shape):
        raise NotImplementedError

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else self.out_shape(a, s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (x.reshape(self.out_shape(a, x.shape)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0].reshape(ins[0].shape),)


@register
class Reshape(_ShapeOnly):
    """Reshape with MXNet's codes: 0 keeps a dim, -1 infers one, -2 keeps the rest, -3
    merges two, -4 splits one into the two values that follow. Shares memory."""

    name = "Reshape"
    aliases = ("reshape",)
    params = {
        "shape": Attr(Shape, ()),
        "reverse": Attr(Bool, False),
        "target_shape": Attr(Shape, ()),
        "keep_highest": Attr(Bool, False),
    }

    def out_shape(self, a, shape):
        if a["shape"] or not a["target_shape"]:
            return _infer_reshape(shape, a["shape"], a["reverse"])
        # MXNet's deprecated target_shape: one 0 is inferred, keep_highest keeps dim 0
        out = list(a["target_shape"])
        if a["keep_highest"]:
            out[0] = shape[0]
        free = [i for i in range(int(a["keep_highest"]), len(out)) if out[i] == 0]
        if len(free) == 1:
            out[free[0]] = -1
        return _fill_unknown(tuple(shape), tuple(out), a["target_shape"])


@register
class Flatten(_ShapeOnly):
    """Collapse all axes but the first: ``(N, C, H, W)`` to ``(N, C*H*W)``."""

    name = "Flatten"
    aliases = ("flatten",)

    def out_shape(self, a, shape):
        if len(shape) == 0:
            return (1, 1)
        # math.prod, not np.prod (~3 us a call): Flatten starts most hybridized MLPs
        return (shape[0], math.prod(shape[1:]))


@register
class expand_dims(_ShapeOnly):
    """Insert an axis of length 1 at ``axis``."""

    name = "expand_dims"
    params = {"axis": Attr(Int)}

    def out_shape(self, a, shape):
        axis = a["axis"] % (len(shape) + 1)
        return tuple(shape[:axis]) + (1,) + tuple(shape[axis:])


@register
class squeeze(_ShapeOnly):
    """Remove axes of length 1 (those in ``axis``, or all)."""

    name = "squeeze"
    params = {"axis": Attr(Axis, None)}

    def out_shape(self, a, shape):
        axes = (
            normalize_axis(a["axis"], len(shape))
            if a["axis"] is not None
            else tuple(i for i, d in enumerate(shape) if d == 1)
        )
        for i in axes:
            if shape[i] != 1:
                raise MXNetError(f"squeeze: axis {i} of shape {shape} is not of length 1")
        out = tuple(d for i, d in enumerate(shape) if i not in axes)
        return out if out else (1,)


@register
class reshape_like(_ShapeOnly):
    """Reshape ``lhs`` to the shape of ``rhs``; with ``lhs_begin``/``lhs_end`` and
    ``rhs_begin``/``rhs_end`` only the axes ``lhs[lhs_begin:lhs_end]`` take the shape of
    ``rhs[rhs_begin:rhs_end]`` (the element counts of the two ranges must agree)."""

    name = "reshape_like"
    inputs = ("lhs", "rhs")
    params = {
        "lhs_begin": Attr(OptInt, None),
        "lhs_end": Attr(OptInt, None),
        "rhs_begin": Attr(OptInt, None),
        "rhs_end": Attr(OptInt, None),
    }

    @staticmethod
    def _range(begin, end, ndim):
        begin = 0 if begin is None else (begin + ndim if begin < 0 else begin)
        end = ndim if end is None else (end + ndim if end < 0 else end)
        return begin, end

    def _shape(self, a, lhs, rhs):
        lb, le = self._range(a["lhs_begin"], a["lhs_end"], len(lhs))
        rb, re = self._range(a["rhs_begin"], a["rhs_end"], len(rhs))
        shape = tuple(lhs[:lb]) + tuple(rhs[rb:re]) + tuple(lhs[le:])
        if int(np.prod(shape)) != int(np.prod(lhs)):
            raise MXNetError(
                f"reshape_like: cannot reshape lhs {tuple(lhs)} to {shape} "
                f"(lhs[{lb}:{le}] and rhs[{rb}:{re}] differ in size)"
            )
        return shape

    def infer_shape(self, a, in_shapes, aux_shapes):
        if in_shapes[0] is None or in_shapes[1] is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._shape(a, in_shapes[0], in_shapes[1])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (ins[0].reshape(self._shape(a, ins[0].shape, ins[1].shape)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0].reshape(ins[0].shape), None)


@register
class transpose(Op):
    """Permute axes (reverse them when ``axes`` is empty). Returns a copy, as MXNet."""

    name = "transpose"
    params = {"axes": Attr(Shape, ())}
    nd_backward = True

    def _axes(self, a, ndim):
        return a["axes"] or tuple(range(ndim - 1, -1, -1))

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [tuple(s[i] for i in self._axes(a, len(s)))], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (xp_of(x).ascontiguousarray(x.transpose(self._axes(a, x.ndim))),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        axes = self._axes(a, ins[0].ndim)
        inverse = tuple(int(i) for i in np.argsort(axes))
        return (F.transpose(ograds[0], axes=inverse),)


@register
class Cast(Op):
    """Convert to ``dtype``; the gradient is converted back."""

    name = "Cast"
    aliases = ("cast",)
    params = {"dtype": Attr(Dtype)}
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [a["dtype"]], aux_types

    def forward(self, a, ins, aux, is_train):
        return (ins[0].astype(a["dtype"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0].astype(ins[0].dtype),)


@register
class BlockGrad(Op):
    """Identity in forward; stops gradients in backward."""

    name = "BlockGrad"
    zero_grad = True
    aliases = ("stop_gradient",)
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (ins[0],), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class _identity_with_attr_like_rhs(Op):
    """``lhs`` unchanged, with ``rhs``'s shape as a constraint for inference (lets a
    later operator's known input shape flow back to ``lhs``); ``rhs`` gets no gradient."""

    name = "_identity_with_attr_like_rhs"
    inputs = ("lhs", "rhs")
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        known = next((s for s in in_shapes if s is not None), None)
        if known is not None and any(s not in (None, known) for s in in_shapes):
            raise MXNetError(
                f"{self.name}: lhs shape {in_shapes[0]} differs from rhs {in_shapes[1]}"
            )
        return [known, known], [known], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (ins[0],), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0], F.zeros_like(ins[1]))


class _Like(Op):
    """An array of the input's shape and type filled with a constant."""

    value = 0
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (xp_of(x).full_like(x, self.value),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class zeros_like(_Like):
    """Zeros with the input's shape and type."""

    name = "zeros_like"
    zero_grad = True
    value = 0


@register
class ones_like(_Like):
    """Ones with the input's shape and type."""

    name = "ones_like"
    zero_grad = True
    value = 1


@register
class shape_array(Op):
    """The input's shape as an int64 array."""

    name = "shape_array"
    zero_grad = True

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (xp_of(x).asarray(x.shape, dtype=np.int64),), None

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.int64)], aux_types

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class size_array(shape_array):
    """The input's size as an int64 array of one element."""

    name = "size_array"

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (xp_of(x).asarray([x.size], dtype=np.int64),), None


@register
class _getitem(Op):
    """``x[key]`` for NDArray indexing (imperative only; basic slices share memory)."""

    name = "_getitem"
    params = {"key": Attr(lambda k: k)}

    def forward(self, a, ins, aux, is_train):
        out = ins[0][a["key"]]
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        g = xp.zeros_like(x)
        key = a["key"]
        if _is_basic(key):
            g[key] += ograds[0].reshape(g[key].shape)
        else:
            xp.add.at(g, key, ograds[0])
        return (g,)


def _is_basic(key):
    parts = key if isinstance(key, tuple) else (key,)
    return all(
        isinstance(k, (int, slice, type(None), type(Ellipsis))) or isinstance(k, np.integer)
        for k in parts
    )


@register
class _copyto(Op):
    """Copy to another context (autograd node of ``copyto``/``as_in_context``)."""

    name = "_copyto"
    params = {"ctx": Attr(lambda c: c, None)}

    def forward(self, a, ins, aux, is_train):
        return (ins[0].copy(),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        x = ins[0]
        if isinstance(x, np.ndarray):
            return (g if isinstance(g, np.ndarray) else g.get(),)
        if type(g) is type(x) and g.device.id == x.device.id:
            return (g,)
        with x.device:  # cupy's asarray copies onto the current device: x's
            return (xp_of(x).asarray(g),)
