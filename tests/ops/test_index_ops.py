"""Indexing, joining, sorting, layout and creation operators through the shared harness,
plus MXNet 1.9.1 reference fixtures, shape/type inference and error messages."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.ops.index_join import split_v2_attrs
from distnet.ops.registry import get_op

from .harness import OpCase, run_case

rng = np.random.default_rng(7)


def _r(*shape):
    """Distinct values (no ties), so sorting and clipping are differentiable."""
    n = int(np.prod(shape))
    return (
        (rng.permutation(n) / n * 2 - 1 + rng.uniform(0, 0.3 / n, n))
        .astype(np.float32)
        .reshape(shape)
    )


def _f(values):
    return np.array(values, dtype=np.float32)


X = _r(2, 3, 4)
IMG = _r(1, 2, 3, 3)


def _desc_order(x, axis):
    return np.argsort(-x, axis=axis, kind="stable")


def _topk_ref(k, ret, axis=-1, ascend=False):
    def ref(x):
        order = np.argsort(x, axis=axis, kind="stable") if ascend else _desc_order(x, axis)
        idx = np.take(order, np.arange(k), axis=axis)
        vals = np.take_along_axis(x, idx, axis)
        if ret == "value":
            return vals
        if ret == "indices":
            return idx.astype(np.float32)
        if ret == "both":
            return [vals, idx.astype(np.float32)]
        mask = np.zeros_like(x)
        np.put_along_axis(mask, idx, 1, axis)
        return mask

    return ref


def _split_ref(n, axis, squeeze=False):
    def ref(x):
        parts = np.split(x, n, axis=axis)
        return [p.squeeze(axis) if squeeze else p for p in parts]

    return ref


def _pad_ref(mode, width, value=0.0):
    pairs = list(zip(width[::2], width[1::2]))
    if mode == "constant":
        return lambda x: np.pad(x, pairs, mode="constant", constant_values=value)
    return lambda x: np.pad(x, pairs, mode=mode)


def _seqmask_ref(lengths, axis, value):
    def ref(x, _):
        out = x.copy()
        for b, n in enumerate(lengths):
            if axis == 0:
                out[int(n) :, b] = value
            else:
                out[b, int(n) :] = value
        return out

    return ref


IDX = _f([[0, 5, -1, 1], [2, 1, 0, 3]])  # out-of-range entries on purpose
TAKE_IDX = _f([[0, 5], [-1, 2]])
GATHER_IDX = _f([[0, 1, 1], [2, 0, 2]])  # (M=2, 3 points), point 0 and 2 repeat
COND = _f([[1, 0, 2, 0], [0, 0, 3, 1], [1, 1, 0, 0]])

CASES = [
    # ---- joining and splitting
    OpCase(
        "concat", [_r(2, 3), _r(2, 2)], ref=lambda a, b: np.concatenate([a, b], 1), id="concat_dim1"
    ),
    OpCase(
        "Concat",
        [_r(1, 3), _r(2, 3), _r(1, 3)],
        {"dim": 0},
        ref=lambda a, b, c: np.concatenate([a, b, c], 0),
        id="Concat_dim0_3args",
    ),
    OpCase(
        "concat",
        [_r(2, 2, 1), _r(2, 2, 3)],
        {"dim": -1},
        ref=lambda a, b: np.concatenate([a, b], -1),
        id="concat_neg_dim",
    ),
    OpCase("stack", [_r(2, 3), _r(2, 3)], ref=lambda a, b: np.stack([a, b]), id="stack"),
    OpCase(
        "stack",
        [_r(2, 3), _r(2, 3), _r(2, 3)],
        {"axis": -1},
        ref=lambda a, b, c: np.stack([a, b, c], -1),
        id="stack_neg_axis",
    ),
    OpCase("split", [X], {"num_outputs": 3}, ref=_split_ref(3, 1), id="split_axis1"),
    OpCase(
        "SliceChannel",
        [X],
        {"num_outputs": 3, "axis": 1, "squeeze_axis": True},
        ref=_split_ref(3, 1, True),
        id="split_squeeze",
    ),
    OpCase(
        "split", [X], {"num_outputs": 2, "axis": -1}, ref=_split_ref(2, -1), id="split_last_axis"
    ),
    OpCase(
        "_split_v2",
        [X],
        {"indices": (0, 1, 3), "axis": 2},
        ref=lambda x: [x[..., :1], x[..., 1:3], x[..., 3:]],
        id="split_v2_indices",
    ),
    OpCase(
        "_split_v2",
        [X],
        {"indices": (), "sections": 2, "axis": 0},
        ref=lambda x: [x[:1], x[1:]],
        id="split_v2_sections",
    ),
    OpCase(
        "_split_v2",
        [X],
        {"indices": (0, 1, 2), "axis": 1, "squeeze_axis": True},
        ref=lambda x: [x[:, 0], x[:, 1], x[:, 2]],
        id="split_v2_squeeze",
    ),
    # ---- slicing
    OpCase(
        "slice",
        [X],
        {"begin": (None, 2), "end": (None, 0), "step": (None, -1)},
        ref=lambda x: x[:, 2:0:-1],
        id="slice_none_negstep",
    ),
    OpCase(
        "slice",
        [X],
        {"begin": (1, -2, None), "end": (2, None, None), "step": (1, 1, -2)},
        ref=lambda x: x[1:2, -2:, ::-2],
        id="slice_neg_begin",
    ),
    OpCase("crop", [X], {"begin": (0,), "end": (1,)}, ref=lambda x: x[0:1], id="crop_alias"),
    OpCase(
        "slice_axis",
        [X],
        {"axis": -1, "begin": -3, "end": None},
        ref=lambda x: x[..., -3:],
        id="slice_axis_none",
    ),
    OpCase(
        "slice_axis",
        [X],
        {"axis": 1, "begin": 0, "end": -1},
        ref=lambda x: x[:, :-1],
        id="slice_axis_neg_end",
    ),
    OpCase(
        "slice_like", [X, _r(1, 2, 3)], ref=lambda x, s: x[:1, :2, :3], wrt=[0], id="slice_like_all"
    ),
    OpCase(
        "slice_like",
        [X, _r(1, 5, 2)],
        {"axes": (0, -1)},
        ref=lambda x, s: x[:1, :, :2],
        wrt=[0],
        id="slice_like_axes",
    ),
    # ---- gathering
    OpCase(
        "take",
        [_r(3, 4), TAKE_IDX],
        ref=lambda a, i: a[np.clip(i.astype(int), 0, 2)],
        wrt=[0],
        id="take_clip",
    ),
    OpCase(
        "take",
        [X, TAKE_IDX],
        {"axis": 1, "mode": "wrap"},
        ref=lambda a, i: np.take(a, i.astype(int) % 3, axis=1),
        wrt=[0],
        id="take_wrap",
    ),
    OpCase(
        "take",
        [X, _f([3, 0, 3])],
        {"axis": -1, "mode": "raise"},
        ref=lambda a, i: np.take(a, i.astype(int), axis=-1),
        wrt=[0],
        id="take_repeated",
    ),
    OpCase(
        "pick",
        [X, IDX],
        {"axis": 1},
        ref=lambda x, i: np.take_along_axis(x, np.clip(i, 0, 2).astype(int)[:, None], 1)[:, 0],
        wrt=[0],
        id="pick_clip",
    ),
    OpCase(
        "pick",
        [X, IDX],
        {"axis": 1, "keepdims": True, "mode": "wrap"},
        ref=lambda x, i: np.take_along_axis(x, (i.astype(int) % 3)[:, None], 1),
        wrt=[0],
        id="pick_wrap_keepdims",
    ),
    OpCase(
        "pick",
        [_r(3, 4), _f([[3], [0], [2]])],
        ref=lambda x, i: np.take_along_axis(x, i.astype(int), -1)[:, 0],
        wrt=[0],
        id="pick_index_kept_shape",
    ),
    OpCase(
        "one_hot",
        [_f([0, 2, -1, 5, 1.7])],
        {"depth": 3, "on_value": 5, "off_value": -1},
        ref=lambda i: _f([[5, -1, -1], [-1, -1, 5], [-1] * 3, [-1] * 3, [-1, 5, -1]]),
        grad=False,
        id="one_hot_on_off",
    ),
    OpCase(
        "one_hot",
        [_f([[0, 1], [2, 0]])],
        {"depth": 3, "dtype": "int32"},
        ref=lambda i: np.eye(3, dtype=np.int32)[i.astype(int)],
        grad=False,
        id="one_hot_int32",
    ),
    OpCase(
        "gather_nd",
        [X, GATHER_IDX],
        ref=lambda x, i: x[i[0].astype(int), i[1].astype(int)],
        wrt=[0],
        id="gather_nd",
    ),
    OpCase(
        "gather_nd",
        [X, _f([[1, -1]])],
        ref=lambda x, i: x[i[0].astype(int)],
        wrt=[0],
        id="gather_nd_negative",
    ),
    OpCase(
        "scatter_nd",
        [_r(2, 4), _f([[1, 0], [2, 0]])],
        {"shape": (2, 3, 4)},
        ref=lambda d, i: _scatter(d, i, (2, 3, 4)),
        wrt=[0],
        id="scatter_nd",
    ),
    # ---- masking
    OpCase(
        "where",
        [COND, _r(3, 4), _r(3, 4)],
        ref=lambda c, x, y: np.where(c != 0, x, y),
        wrt=[1, 2],
        id="where",
    ),
    OpCase(
        "where",
        [_f([1, 0]), _r(2, 3), _r(2, 3)],
        ref=lambda c, x, y: np.where(c[:, None] != 0, x, y),
        wrt=[1, 2],
        id="where_1d_cond",
    ),
    OpCase(
        "clip", [X], {"a_min": -0.5, "a_max": 0.3}, ref=lambda x: np.clip(x, -0.5, 0.3), id="clip"
    ),
    OpCase(
        "SequenceMask",
        [X, _f([1, 2, 0])],
        {"use_sequence_length": True, "value": -1.0},
        ref=_seqmask_ref([1, 2, 0], 0, -1.0),
        wrt=[0],
        id="sequence_mask_axis0",
    ),
    OpCase(
        "SequenceMask",
        [X, _f([1, 3])],
        {"use_sequence_length": True, "axis": 1},
        ref=_seqmask_ref([1, 3], 1, 0.0),
        wrt=[0],
        id="sequence_mask_axis1",
    ),
    OpCase("SequenceMask", [X], ref=lambda x: x, id="sequence_mask_off"),
    OpCase(
        "_contrib_boolean_mask",
        [_r(3, 2), _f([1, 0, 1])],
        ref=lambda x, m: x[[0, 2]],
        wrt=[0],
        id="boolean_mask",
    ),
    OpCase("diag", [_r(3)], {"k": 1}, ref=lambda v: np.diag(v, 1), id="diag_1d"),
    OpCase("diag", [_r(3, 4)], {"k": -1}, ref=lambda m: np.diag(m, -1), id="diag_2d"),
    OpCase(
        "diag",
        [X],
        {"k": 1, "axis1": -1, "axis2": 0},
        ref=lambda x: np.diagonal(x, 1, 2, 0),
        id="diag_3d_axes",
    ),
    # ---- layout
    OpCase("tile", [_r(2, 3)], {"reps": (2,)}, ref=lambda x: np.tile(x, 2), id="tile_short"),
    OpCase(
        "tile", [_r(2, 3)], {"reps": (2, 1, 2)}, ref=lambda x: np.tile(x, (2, 1, 2)), id="tile_long"
    ),
    OpCase("repeat", [_r(2, 3)], {"repeats": 2}, ref=lambda x: np.repeat(x, 2), id="repeat_flat"),
    OpCase(
        "repeat",
        [_r(2, 3)],
        {"repeats": 3, "axis": -1},
        ref=lambda x: np.repeat(x, 3, axis=-1),
        id="repeat_axis",
    ),
    OpCase("flip", [X], {"axis": (0, 2)}, ref=lambda x: x[::-1, :, ::-1], id="flip"),
    OpCase("reverse", [X], {"axis": -2}, ref=lambda x: x[:, ::-1], id="reverse_neg_axis"),
    OpCase("SwapAxis", [X], {"dim1": 0, "dim2": 2}, ref=lambda x: x.swapaxes(0, 2), id="swapaxis"),
    OpCase(
        "swapaxes", [X], {"dim1": -1, "dim2": 1}, ref=lambda x: x.swapaxes(-1, 1), id="swapaxes_neg"
    ),
    OpCase(
        "Pad",
        [IMG],
        {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 2, 2, 0), "constant_value": 1.5},
        ref=_pad_ref("constant", (0, 0, 0, 0, 1, 2, 2, 0), 1.5),
        id="pad_constant",
    ),
    OpCase(
        "pad",
        [IMG],
        {"mode": "edge", "pad_width": (0, 0, 0, 0, 2, 1, 0, 2)},
        ref=_pad_ref("edge", (0, 0, 0, 0, 2, 1, 0, 2)),
        id="pad_edge",
    ),
    OpCase(
        "pad",
        [IMG],
        {"mode": "reflect", "pad_width": (0, 0, 0, 0, 2, 1, 1, 2)},
        ref=_pad_ref("reflect", (0, 0, 0, 0, 2, 1, 1, 2)),
        id="pad_reflect",
    ),
    OpCase(
        "pad",
        [_r(1, 1, 2, 2, 3)],
        {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 1, 1, 0, 0, 2)},
        ref=_pad_ref("reflect", (0, 0, 0, 0, 1, 1, 1, 0, 0, 2)),
        id="pad_reflect_5d",
    ),
    OpCase(
        "UpSampling",
        [IMG],
        {"scale": 2, "sample_type": "nearest"},
        ref=lambda x: x.repeat(2, 2).repeat(2, 3),
        id="upsampling",
    ),
    OpCase(
        "UpSampling",
        [IMG, _r(1, 1, 1, 1)],
        {"scale": 2, "sample_type": "nearest"},
        ref=lambda x, y: np.concatenate(
            [x.repeat(2, 2).repeat(2, 3), np.broadcast_to(y, (1, 1, 6, 6))], 1
        ),
        id="upsampling_concat",
    ),
    OpCase(
        "UpSampling",
        [_r(1, 2, 2, 2), _r(1, 2, 4, 4)],
        {"scale": 2, "sample_type": "nearest", "multi_input_mode": "sum"},
        ref=lambda x, y: x.repeat(2, 2).repeat(2, 3) + y,
        id="upsampling_sum",
    ),
    OpCase(
        "depth_to_space",
        [_r(1, 8, 2, 3)],
        {"block_size": 2},
        ref=lambda x: x.reshape(1, 2, 2, 2, 2, 3).transpose(0, 3, 4, 1, 5, 2).reshape(1, 2, 4, 6),
        id="depth_to_space",
    ),
    OpCase(
        "space_to_depth",
        [_r(1, 2, 4, 2)],
        {"block_size": 2},
        ref=lambda x: x.reshape(1, 2, 2, 2, 1, 2).transpose(0, 3, 5, 1, 2, 4).reshape(1, 8, 2, 1),
        id="space_to_depth",
    ),
    # ---- sorting
    OpCase("topk", [X], {"k": 2, "ret_typ": "value"}, ref=_topk_ref(2, "value"), id="topk_value"),
    OpCase(
        "topk",
        [X],
        {"k": 2, "ret_typ": "both", "axis": 1},
        ref=_topk_ref(2, "both", axis=1),
        id="topk_both",
    ),
    OpCase("topk", [X], {"k": 3}, ref=_topk_ref(3, "indices"), id="topk_indices"),
    OpCase(
        "topk",
        [X],
        {"k": 2, "ret_typ": "mask", "is_ascend": True, "axis": 0},
        ref=_topk_ref(2, "mask", axis=0, ascend=True),
        id="topk_mask_ascend",
    ),
    OpCase(
        "topk",
        [X],
        {"k": 3, "axis": None, "ret_typ": "value"},
        ref=lambda x: np.sort(x.ravel())[::-1][:3],
        id="topk_flat",
    ),
    OpCase("sort", [X], ref=lambda x: np.sort(x, -1), id="sort"),
    OpCase(
        "sort", [X], {"axis": 0, "is_ascend": False}, ref=lambda x: -np.sort(-x, 0), id="sort_desc"
    ),
    OpCase("sort", [X], {"axis": None}, ref=lambda x: np.sort(x.ravel()), id="sort_flat"),
    OpCase(
        "argsort",
        [X],
        {"axis": 1, "is_ascend": False},
        ref=lambda x: _desc_order(x, 1).astype(np.float32),
        grad=False,
        id="argsort_desc",
    ),
    OpCase(
        "argsort",
        [X],
        {"dtype": "int64"},
        ref=lambda x: np.argsort(x, -1),
        grad=False,
        id="argsort_int64",
    ),
    # ---- creation (no inputs)
    OpCase(
        "_zeros",
        [],
        {"shape": (2, 3)},
        ref=lambda: np.zeros((2, 3), np.float32),
        grad=False,
        id="zeros",
    ),
    OpCase(
        "_ones",
        [],
        {"shape": (2,), "dtype": "int64"},
        ref=lambda: np.ones(2, np.int64),
        grad=False,
        id="ones_int64",
    ),
    OpCase(
        "_full",
        [],
        {"shape": (2, 2), "value": 3.5},
        ref=lambda: np.full((2, 2), 3.5),
        grad=False,
        id="full",
    ),
    OpCase(
        "_arange",
        [],
        {"start": 1, "stop": 3, "step": 0.5, "repeat": 2},
        ref=lambda: _f([1, 1, 1.5, 1.5, 2, 2, 2.5, 2.5]),
        grad=False,
        id="arange_repeat",
    ),
    OpCase(
        "_arange",
        [],
        {"start": 5, "dtype": "int32"},
        ref=lambda: np.arange(5, dtype=np.int32),
        grad=False,
        id="arange_stop_none",
    ),
    OpCase(
        "_arange",
        [],
        {"start": 3, "stop": 0, "step": -1},
        ref=lambda: _f([3, 2, 1]),
        grad=False,
        id="arange_negative_step",
    ),
    OpCase(
        "_linspace",
        [],
        {"start": 0, "stop": 1, "num": 4, "endpoint": False},
        ref=lambda: _f([0, 0.25, 0.5, 0.75]),
        grad=False,
        id="linspace",
    ),
    OpCase("_eye", [], {"N": 2, "M": 3, "k": 1}, ref=lambda: np.eye(2, 3, 1), grad=False, id="eye"),
    OpCase(
        "_eye",
        [],
        {"N": 3, "k": -1, "dtype": "int32"},
        ref=lambda: np.eye(3, k=-1, dtype=np.int32),
        grad=False,
        id="eye_square",
    ),
]


def _scatter(d, i, shape):
    out = np.zeros(shape, d.dtype)
    out[i[0].astype(int), i[1].astype(int)] = d
    return out


@pytest.mark.parametrize("case", CASES, ids=str)
def test_operator(case):
    run_case(case)


# ---------------------------------------------------------------- shape and type inference
def _parsed(case):
    op = get_op(case.name)
    attrs = dict(case.attrs)
    if op.variadic:
        attrs.setdefault("num_args", len(case.inputs))
    return op, op.parse(attrs)


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "_contrib_boolean_mask"], ids=str)
def test_infer_shape_and_type_match_forward(case):
    """Graph inference (Module, hybridize) must predict what the operator produces."""
    op, a = _parsed(case)
    outs = nd.__dict__[case.name](*[nd.array(x, dtype=x.dtype) for x in case.inputs], **case.attrs)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    _, shapes, _ = op.infer_shape(a, [x.shape for x in case.inputs], [])
    assert [tuple(s) for s in shapes] == [o.shape for o in outs]
    _, types, _ = op.infer_type(a, [x.dtype for x in case.inputs], [])
    assert [np.dtype(t) for t in types] == [np.dtype(o.dtype) for o in outs]
    assert len(op.output_names(a)) == len(outs)


def test_partial_inference():
    concat = get_op("Concat")
    assert concat.infer_shape(concat.parse({"num_args": 2}), [(2, 3), None], [])[1] == [None]
    stack = get_op("stack")
    ins, outs, _ = stack.infer_shape(stack.parse({"num_args": 2}), [(2, 3), None], [])
    assert ins == [(2, 3), (2, 3)] and outs == [(2, 2, 3)]
    where = get_op("where")
    ins, outs, _ = where.infer_shape(where.parse({}), [None, None, (4, 5)], [])
    assert ins[1:] == [(4, 5), (4, 5)] and outs == [(4, 5)]
    split = get_op("SliceChannel")
    a = split.parse({"num_outputs": 2})
    assert split.infer_shape(a, [None], [])[1] == [None, None]
    take = get_op("take")
    types = take.infer_type(take.parse({}), [np.dtype("float64"), np.dtype("int32")], [])
    assert types[0] == [np.dtype("float64"), np.dtype("int32")]
    assert types[1] == [np.dtype("float64")]


def test_output_and_input_names():
    split = get_op("split")
    assert split.output_names(split.parse({"num_outputs": 3})) == ("output0", "output1", "output2")
    assert split.output_names(split.parse({"num_outputs": 1})) == ("output0",)
    topk = get_op("topk")
    assert topk.output_names(topk.parse({"ret_typ": "both"})) == ("output0", "output1")
    assert topk.output_names(topk.parse({})) == ("output",)
    v2 = get_op("_split_v2")
    assert v2.num_outputs(v2.parse({"indices": (), "sections": 4})) == 4
    seq = get_op("SequenceMask")
    assert seq.input_names(seq.parse({})) == ("data",)
    assert seq.input_names(seq.parse({"use_sequence_length": "True"})) == (
        "data",
        "sequence_length",
    )
    up = get_op("UpSampling")
    a = up.parse({"scale": 2, "sample_type": "nearest", "num_args": 2})
    assert up.input_names(a) == ("arg0", "arg1")
    assert get_op("concat") is get_op("Concat") and get_op("flip") is get_op("reverse")
    assert get_op("crop").name == "slice" and get_op("swapaxes").name == "SwapAxis"
    assert get_op("pad").name == "Pad" and get_op("split").name == "SliceChannel"


def test_attributes_parse_from_graph_json_strings():
    op = get_op("slice")
    a = op.parse({"begin": "(None, 2)", "end": "(None, 0)", "step": "(None, -1)"})
    assert a["begin"] == (None, 2) and a["step"] == (None, -1)
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(op.forward(a, [x], [], False)[0][0], x[:, 2:0:-1])
    topk = get_op("topk").parse(
        {"axis": "None", "k": "2", "ret_typ": "both", "is_ascend": "False", "dtype": "int32"}
    )
    assert topk["axis"] is None and topk["dtype"] == np.dtype("int32")
    ar = get_op("_arange").parse(
        {
            "start": "0",
            "stop": "None",
            "step": "1.0",
            "repeat": "1",
            "infer_range": "False",
            "dtype": "float32",
        }
    )
    assert ar["stop"] is None and ar["dtype"] == np.dtype("float32")


# ---------------------------------------------------------------- MXNet 1.9.1 fixtures
FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mxnet")
MINE = {"pick", "take", "one_hot", "topk", "sort", "argsort", "slice", "slice_axis", "SliceChannel"}


def _load_fixtures():
    path = os.path.join(FIXTURES, "ops.json")
    if not os.path.exists(path):
        return {}, None
    with open(path) as f:
        meta = json.load(f)
    arrays = np.load(os.path.join(FIXTURES, "ops.npz"), allow_pickle=False)
    return {
        k: v
        for k, v in meta.items()
        if isinstance(v, dict)
        and v.get("op") in MINE
        and (f"{k}:x" in arrays.files or f"{k}:index" in arrays.files)
    }, arrays


FIX_META, FIX_ARRAYS = _load_fixtures()


def _fix(key, name):
    return FIX_ARRAYS[f"{key}:{name}"]


@pytest.mark.parametrize("key", sorted(FIX_META))
def test_matches_mxnet_fixture(key):
    meta = FIX_META[key]
    op, attrs = meta["op"], dict(meta["attrs"])
    files = set(FIX_ARRAYS.files)
    ins = [nd.array(_fix(key, n)) for n in ("x", "index") if f"{key}:{n}" in files]
    if op == "one_hot":
        np.testing.assert_array_equal(nd.one_hot(*ins, **attrs).asnumpy(), _fix(key, "y"))
        y2 = nd.one_hot(*ins, 4, on_value=5, off_value=-1, dtype="int32")
        assert y2.dtype == np.int32
        np.testing.assert_array_equal(y2.asnumpy(), _fix(key, "y2"))
        return
    res = getattr(nd, op)(*ins, **attrs)
    res = res if isinstance(res, list) else [res]
    names = ["y"] if f"{key}:y" in files else [f"y{i}" for i in range(len(res))]
    for got, name in zip(res, names):
        np.testing.assert_allclose(got.asnumpy(), _fix(key, name), rtol=1e-6, err_msg=key)
    dtypes = meta.get("dtypes") or ([meta["dtype"]] if "dtype" in meta else [])
    assert [np.dtype(r.dtype).name for r in res[: len(dtypes)]] == dtypes
    if f"{key}:y_keepdims" in files:
        kept = getattr(nd, op)(*ins, keepdims=True, **attrs)
        np.testing.assert_allclose(kept.asnumpy(), _fix(key, "y_keepdims"))
    if f"{key}:y_axis1" in files:
        along1 = getattr(nd, op)(*ins, **dict(attrs, axis=1))
        np.testing.assert_allclose(along1.asnumpy(), _fix(key, "y_axis1"))
    if f"{key}:dx" in files:
        x = ins[0]
        x.attach_grad()
        with mx.autograd.record():
            y = getattr(nd, op)(x, *ins[1:], **attrs)
        y.backward()
        np.testing.assert_allclose(x.grad.asnumpy(), _fix(key, "dx"))


def test_split_with_one_output_returns_an_ndarray_as_mxnet():
    path = os.path.join(FIXTURES, "ops.json")
    if not os.path.exists(path):
        pytest.skip("MXNet fixtures not generated")
    with open(path) as f:
        want = json.load(f)["slicechannel_num_outputs1"]
    x = nd.array(_r(2, 1, 4))
    r = nd.SliceChannel(x, num_outputs=1, axis=1, squeeze_axis=True)
    assert type(r).__name__ == want["type"] and list(r.shape) == want["shape"]


# ---------------------------------------------------------------- MXNet behaviours
def test_sorting_ties_keep_order_in_both_directions():
    # Values observed from MXNet 1.9.1.
    v, i = nd.topk(nd.array([1, 3, 3, 2]), k=2, ret_typ="both")
    assert v.asnumpy().tolist() == [3, 3] and i.asnumpy().tolist() == [1, 2]
    assert nd.argsort(nd.array([1, 3, 3, 2]), is_ascend=False).asnumpy().tolist() == [1, 2, 3, 0]
    assert nd.argsort(nd.array([1, 3, 3, 2])).asnumpy().tolist() == [0, 3, 1, 2]
    u = nd.array([3, 1, 3], dtype="uint8")
    assert nd.argsort(u, is_ascend=False, dtype="int32").asnumpy().tolist() == [0, 2, 1]


def test_topk_k_zero_means_whole_axis_and_too_large_k_fails():
    x = nd.array(X)
    assert nd.topk(x, k=0).shape == (2, 3, 4)
    with pytest.raises(MXNetError, match="k must be at most 4"):
        nd.topk(x, k=5)


def test_clip_with_min_above_max_follows_mxnet():
    out = nd.clip(nd.array([0, 3, 9]), 5, 2).asnumpy().tolist()
    assert out == [5, 2, 2]
    assert nd.clip(nd.array([1, 5, 9], dtype="int32"), 2.5, 7.5).asnumpy().tolist() == [2, 5, 7]


def test_clip_gradient_is_one_inside_the_closed_interval():
    x = nd.array([0, 1, 2, 3, 4])
    x.attach_grad()
    with mx.autograd.record():
        y = nd.clip(x, 1, 3)
    y.backward()
    assert x.grad.asnumpy().tolist() == [0, 1, 1, 1, 0]


def test_take_gradient_accumulates_clipped_indices():
    x = nd.array([10, 20, 30])
    x.attach_grad()
    with mx.autograd.record():
        y = nd.take(x, nd.array([0, 5, -1, 1]))
    y.backward()
    assert x.grad.asnumpy().tolist() == [2, 1, 1]


def test_arange_values_are_computed_in_the_output_dtype():
    got = nd._arange(start=0, stop=1, step=0.3).asnumpy()
    assert got.tolist() == [0.0, 0.30000001192092896, 0.6000000238418579, 0.9000000357627869]
    assert nd._arange(start=0, stop=3, step=0.7, dtype="int32").asnumpy().tolist() == [0] * 5


def test_outputs_do_not_alias_inputs():
    x = nd.array(X)
    before = x.asnumpy()
    outs = [
        nd.slice(x, begin=(0,), end=(1,)),
        nd.slice_axis(x, axis=0, begin=0, end=1),
        nd.flip(x, axis=1),
        nd.swapaxes(x, 0, 0),
        nd.SequenceMask(x),
        nd.Pad(nd.array(IMG), mode="edge", pad_width=(0,) * 8),
    ]
    outs += nd.split(x, num_outputs=2, axis=0)
    for o in outs:
        o[:] = 7
    np.testing.assert_array_equal(x.asnumpy(), before)


def test_methods_are_generated():
    x = nd.array(X)
    assert [p.shape for p in x.split(num_outputs=2, axis=0)] == [(1, 3, 4)] * 2
    assert x.slice_axis(axis=2, begin=1, end=3).shape == (2, 3, 2)
    assert x.topk(k=2).shape == (2, 3, 2)
    assert x.swapaxes(0, 1).shape == (3, 2, 4)
    assert x.tile(reps=(2,)).shape == (2, 3, 8)
    assert x.take(nd.array([0, 0, 1])).shape == (3, 3, 4)
    assert x.pick(nd.zeros((2, 3))).shape == (2, 3)


def test_second_order_gradients_through_shape_operators():
    x = nd.array([1.0, 2.0, 3.0, 4.0])
    x.attach_grad()
    with mx.autograd.record():
        y = x * x
        parts = nd.split(nd.concat(y, nd.flip(y, axis=0), dim=0), num_outputs=2, axis=0)
        z = nd.tile(nd.stack(parts[0], parts[1]), reps=(2,)).sum()
        g = mx.autograd.grad(z, x, create_graph=True)  # dz/dx = 8x
        total = g.sum()
    total.backward()  # d(sum 8x)/dx = 8
    np.testing.assert_allclose(g.asnumpy(), 8 * x.asnumpy())
    np.testing.assert_allclose(x.grad.asnumpy(), [8, 8, 8, 8])


def test_split_gradient_of_unused_outputs_is_zero():
    x = nd.array(X)
    x.attach_grad()
    with mx.autograd.record():
        parts = nd.split(x, num_outputs=3, axis=1, squeeze_axis=True)
        y = parts[1] * 2
    y.backward()
    want = np.zeros_like(X)
    want[:, 1] = 2
    np.testing.assert_array_equal(x.grad.asnumpy(), want)


def test_split_v2_front_end_attributes():
    x = nd.array(X)
    parts = nd._split_v2(x, **split_v2_attrs((1, 3), axis=2))
    for got, want in zip(parts, [X[..., :1], X[..., 1:3], X[..., 3:]]):
        np.testing.assert_array_equal(got.asnumpy(), want)
    parts = nd._split_v2(x, **split_v2_attrs(3, axis=1, squeeze_axis=True))
    assert [p.shape for p in parts] == [(2, 4)] * 3
    np.testing.assert_array_equal(parts[2].asnumpy(), X[:, 2])
    with pytest.raises(MXNetError, match="cannot be split into 3 equal sections"):
        nd._split_v2(x, **split_v2_attrs(3, axis=2))
    with pytest.raises(MXNetError, match="at most the size 3 of axis 1"):
        nd._split_v2(x, **split_v2_attrs((1, 5), axis=1))
    with pytest.raises(MXNetError, match="must either int or tuple"):
        split_v2_attrs(1.5)


def test_creation_context_attribute():
    op = get_op("_zeros")
    a = op.parse({"shape": (2,), "ctx": "cpu(0)"})
    assert a["ctx"] == mx.cpu(0)
    assert nd._zeros(shape=(2,), ctx=mx.cpu(0)).context == mx.cpu(0)
    assert op.parse({"shape": (2,), "ctx": ""})["ctx"] is None
    assert nd._zeros_without_dtype(shape=(3,)).dtype == np.float32
    assert nd._zeros_without_dtype(shape=(3,), dtype=6).dtype == np.int64


ERRORS = [
    (lambda x: nd.split(x, num_outputs=3, axis=2), "cannot split axis 2 of shape"),
    (lambda x: nd.split(x, num_outputs=2, axis=2, squeeze_axis=True), "squeeze_axis"),
    (lambda x: nd.concat(x, x[0], dim=0), r"arg1 has shape \(3, 4\)"),
    (lambda x: nd.concat(x, x, dim=3), "dim 3 is out of bounds"),
    (lambda x: nd.stack(x, x[0]), "shapes must agree"),
    (lambda x: nd.concat(x, x, num_args=3), "num_args=3 but 2 inputs were given"),
    (lambda x: nd.slice(x, begin=(0,), end=(1,), step=(0,)), r"step\[0\] cannot be 0"),
    (lambda x: nd.slice(x, begin=(0,) * 4, end=(1,) * 4), "more axes than the data"),
    (lambda x: nd.slice_axis(x, axis=1, begin=1, end=5), "invalid end=5"),
    (lambda x: nd.slice_axis(x, axis=1, begin=2, end=1), "begin=2 must be smaller"),
    (lambda x: nd.slice_like(x, nd.zeros((1, 2))), "same number of dimensions"),
    (lambda x: nd.take(x, nd.array([0, 5]), axis=1, mode="raise"), "out of bound"),
    (lambda x: nd.take(x, nd.array([0]), mode="fast"), "invalid value 'fast'"),
    (lambda x: nd.pick(x, nd.array([1]), axis=None), "axis=None is not supported"),
    (lambda x: nd.pick(x, nd.zeros((3, 2)), axis=1), r"index has shape \(3, 2\)"),
    (lambda x: nd.gather_nd(x, nd.array([1, 0])), "at least 2 dimensions"),
    (lambda x: nd.gather_nd(x, nd.array([[5]])), "gather_nd: index 5 is out of bounds"),
    (lambda x: nd.scatter_nd(x, nd.array([[0]]), shape=(2, 2)), "scatter_nd: data has shape"),
    (lambda x: nd.where(nd.ones((3,)), x, x), r"condition has shape \(3,\)"),
    (lambda x: nd.where(nd.ones((2,)), x, x[0]), "x and y must have the same shape"),
    (
        lambda x: nd.SequenceMask(x, nd.array([1, 2]), use_sequence_length=True),
        r"sequence_length has shape \(2,\), expected \(3,\)",
    ),
    (lambda x: nd.diag(x[0], k=5), "diagonal k=5 does not exist"),
    (lambda x: nd.tile(x, reps=(0, 1)), "reps must be positive"),
    (lambda x: nd.repeat(x, repeats=-1), "repeats cannot be a negative number"),
    (lambda x: nd.swapaxes(x, 3, 0), "dim1 3 is out of bounds for array of ndim 3"),
    (lambda x: nd.pad(x, mode="constant", pad_width=(0, 0, 1, 1)), "2 entries per axis"),
    (
        lambda x: nd.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, 4, 4)),
        "must be smaller than the input size",
    ),
    (lambda x: nd.pad(x, mode="wrap", pad_width=(0,) * 6), "invalid value 'wrap'"),
    (lambda x: nd.UpSampling(x, scale=2, sample_type="nearest"), "must be 4-D"),
    (
        lambda x: nd.UpSampling(
            x.reshape((1, 2, 3, 4)), scale=2, sample_type="bilinear", num_filter=2
        ),
        "bilinear' takes data and weight",
    ),
    (lambda x: nd.depth_to_space(x.reshape((1, 2, 3, 4)), 2), "multiple of block_size"),
    (lambda x: nd.space_to_depth(x.reshape((1, 2, 3, 4)), 2), "multiples of block_size"),
    (lambda x: nd._contrib_boolean_mask(x, nd.array([1, 0, 1])), "must be 1-D of length 2"),
    (lambda x: nd._split_v2(x, indices=(1, 2), axis=1), "indices must start with 0"),
    (lambda x: nd._arange(start=3, stop=0), r"invalid range \(start, stop, step\)"),
    (lambda x: nd._arange(start=0, stop=3, infer_range=True), "infer_range=True"),
    (lambda x: nd._full(value=3), "shape attribute is required"),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=[m for _, m in ERRORS])
def test_errors_name_the_problem(call, message):
    with pytest.raises(MXNetError, match=message):
        call(nd.array(np.arange(24, dtype=np.float32).reshape(2, 3, 4)))
