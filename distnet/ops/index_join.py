"""Joining and splitting: Concat, stack, SliceChannel (``split``) and _split_v2.

Registered when ``distnet.ops.index`` is imported.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Int, Shape
from .registry import Op, register
from ._util import xp_of
from ._indexing import axis_slice, check_axis, check_num_args, fresh


def _check_same(op, shapes, skip_axis=None):
    """All ``shapes`` agree except on ``skip_axis``; MXNetError naming the first that
    differs."""
    first = tuple(shapes[0])
    for i, s in enumerate(shapes[1:], 1):
        s = tuple(s)
        same = len(s) == len(first) and all(
            d == e for j, (d, e) in enumerate(zip(s, first)) if j != skip_axis
        )
        if not same:
            what = f"except on axis {skip_axis}" if skip_axis is not None else "exactly"
            raise MXNetError(
                f"{op}: input arg{i} has shape {s} but arg0 has shape {first}; "
                f"the shapes must agree {what}"
            )


@register
class Concat(Op):
    """Join the inputs along axis ``dim``."""

    name = "Concat"
    aliases = ("concat",)
    variadic = True
    params = {"num_args": Attr(Int), "dim": Attr(Int, 1)}
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        if not in_shapes or any(s is None for s in in_shapes):
            return in_shapes, [None], aux_shapes
        dim = check_axis("Concat", a["dim"], len(in_shapes[0]), "dim")
        _check_same("Concat", in_shapes, dim)
        out = list(in_shapes[0])
        out[dim] = sum(s[dim] for s in in_shapes)
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        check_num_args("Concat", a, ins)
        dim = check_axis("Concat", a["dim"], ins[0].ndim, "dim")
        _check_same("Concat", [x.shape for x in ins], dim)
        return (xp_of(ins[0]).concatenate(ins, axis=dim),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        dim = a["dim"] % len(ins[0].shape)
        grads, start = [], 0
        for x in ins:
            stop = start + x.shape[dim]
            grads.append(g[axis_slice(dim, start, stop)])
            start = stop
        return grads


@register
class stack(Op):
    """Join same-shaped inputs along a new axis ``axis``."""

    name = "stack"
    variadic = True
    params = {"axis": Attr(Int, 0), "num_args": Attr(Int)}
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        known = [s for s in in_shapes if s is not None]
        if not known:
            return in_shapes, [None], aux_shapes
        _check_same("stack", known)
        s = tuple(known[0])
        axis = check_axis("stack", a["axis"], len(s) + 1)
        return [s] * len(in_shapes), [s[:axis] + (len(in_shapes),) + s[axis:]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        check_num_args("stack", a, ins)
        _check_same("stack", [x.shape for x in ins])
        axis = check_axis("stack", a["axis"], ins[0].ndim + 1)
        return (xp_of(ins[0]).stack(ins, axis=axis),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        axis = a["axis"] % (len(ins[0].shape) + 1)
        return [g[(slice(None),) * axis + (i,)] for i in range(len(ins))]


def _split_axis(op, a, shape):
    return check_axis(op, a["axis"], len(shape))


def _join_grads(F, ograds, axis, squeeze):
    """The input gradient of a split: the output gradients joined along ``axis``."""
    if squeeze:
        ograds = [F.expand_dims(g, axis) for g in ograds]
    return F.concatenate(list(ograds), axis)


@register
class SliceChannel(Op):
    """Split ``data`` into ``num_outputs`` equal parts along ``axis``; ``squeeze_axis``
    drops that axis when each part has length 1. Outputs ``output0``, ``output1``, ..."""

    name = "SliceChannel"
    aliases = ("split",)
    params = {"num_outputs": Attr(Int), "axis": Attr(Int, 1), "squeeze_axis": Attr(Bool, False)}
    nd_backward = True

    def output_names(self, a):
        return tuple(f"output{i}" for i in range(a["num_outputs"]))

    def _part_shape(self, a, shape):
        axis = _split_axis("SliceChannel", a, shape)
        n, parts = shape[axis], a["num_outputs"]
        if parts < 1 or n % parts:
            raise MXNetError(
                f"SliceChannel: cannot split axis {axis} of shape {tuple(shape)} "
                f"into num_outputs={parts} evenly sized parts"
            )
        if a["squeeze_axis"]:
            if n != parts:
                raise MXNetError(
                    f"SliceChannel: squeeze_axis=True needs shape[axis] == "
                    f"num_outputs, got {n} and {parts}"
                )
            return axis, tuple(shape[:axis]) + tuple(shape[axis + 1 :])
        return axis, tuple(shape[:axis]) + (n // parts,) + tuple(shape[axis + 1 :])

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None] * a["num_outputs"], aux_shapes
        part = self._part_shape(a, s)[1]
        return in_shapes, [part] * a["num_outputs"], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axis, part = self._part_shape(a, x.shape)
        step = x.shape[axis] // a["num_outputs"]
        outs = tuple(
            fresh(x[axis_slice(axis, i * step, (i + 1) * step)]).reshape(part)
            for i in range(a["num_outputs"])
        )
        return outs, None

    def backward(self, F, a, ins, outs, saved, ograds):
        axis = a["axis"] % len(ins[0].shape)
        return (_join_grads(F, ograds, axis, a["squeeze_axis"]),)


def _v2_bounds(a, shape):
    """``(axis, [(start, stop), ...])`` of the parts of _split_v2."""
    axis = _split_axis("_split_v2", a, shape)
    n = shape[axis]
    if a["sections"] > 0:
        if n % a["sections"]:
            raise MXNetError(
                f"split_v2: axis {axis} of shape {tuple(shape)} cannot be split "
                f"into {a['sections']} equal sections"
            )
        step = n // a["sections"]
        return axis, [(i * step, (i + 1) * step) for i in range(a["sections"])]
    starts = list(a["indices"])
    if not starts or starts[0] != 0:
        raise MXNetError(
            f"_split_v2: indices must start with 0 (split_v2 adds it), got {tuple(starts)}"
        )
    stops = starts[1:] + [n]
    for b, e in zip(starts, stops):
        if e > n or b > e:
            raise MXNetError(
                f"split_v2: indices {tuple(starts[1:])} must be increasing and "
                f"at most the size {n} of axis {axis}"
            )
    return axis, list(zip(starts, stops))


@register
class _split_v2(Op):
    """Split ``data`` along ``axis`` at ``indices`` (which start with 0), or into
    ``sections`` equal parts when ``sections > 0``. MXNet's Python ``split_v2(x,
    indices_or_sections, axis=0)`` maps onto it with ``split_v2_attrs``."""

    name = "_split_v2"
    params = {
        "indices": Attr(Shape),
        "axis": Attr(Int, 1),
        "squeeze_axis": Attr(Bool, False),
        "sections": Attr(Int, 0),
    }

    def output_names(self, a):
        count = a["sections"] if a["sections"] > 0 else len(a["indices"])
        return tuple(f"output{i}" for i in range(count))

    def _shapes(self, a, shape):
        axis, bounds = _v2_bounds(a, shape)
        out = []
        for b, e in bounds:
            if a["squeeze_axis"]:
                if e - b != 1:
                    raise MXNetError(
                        f"split_v2: squeeze_axis=True needs parts of length 1 "
                        f"along axis {axis}, got {e - b}"
                    )
                out.append(tuple(shape[:axis]) + tuple(shape[axis + 1 :]))
            else:
                out.append(tuple(shape[:axis]) + (e - b,) + tuple(shape[axis + 1 :]))
        return axis, bounds, out

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        return in_shapes, self._shapes(a, s)[2], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axis, bounds, shapes = self._shapes(a, x.shape)
        return tuple(
            fresh(x[axis_slice(axis, b, e)]).reshape(s) for (b, e), s in zip(bounds, shapes)
        ), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        axis, bounds, _ = self._shapes(a, x.shape)
        g = xp_of(x).zeros_like(x)
        for (b, e), og in zip(bounds, ograds):
            part = g[axis_slice(axis, b, e)]
            part[...] = og.reshape(part.shape)
        return (g,)


def split_v2_attrs(indices_or_sections, axis=0, squeeze_axis=False):
    """The ``_split_v2`` attributes for MXNet's Python front end ``split_v2(ary,
    indices_or_sections, axis=0, squeeze_axis=False)``: an int N splits into N equal
    sections, a tuple lists the split points (0 is prepended)::

        nd._split_v2(x, **split_v2_attrs((2, 3), axis=0))  # x[:2], x[2:3], x[3:]
    """
    if isinstance(indices_or_sections, (int, np.integer)):
        return {
            "indices": (),
            "sections": int(indices_or_sections),
            "axis": axis,
            "squeeze_axis": squeeze_axis,
        }
    if isinstance(indices_or_sections, (tuple, list)):
        return {
            "indices": (0,) + tuple(int(i) for i in indices_or_sections),
            "sections": 0,
            "axis": axis,
            "squeeze_axis": squeeze_axis,
        }
    raise MXNetError(
        "split_v2: indices_or_sections must either int or tuple of ints, got "
        f"{indices_or_sections!r}"
    )
