"""Shape and type inference against MXNet 1.9.1's answers for the fixture networks."""

import json
import os
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

from . import nets

MXNET = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet")


def _nets():
    with mx.name.NameManager():
        parts, grp, sq = nets.split_nets()
        return {
            "sym_mlp": nets.seed_mlp(),
            "sym_mlp002": nets.seed002_mlp(),
            "sym_mlp_auto": nets.mlp_auto(),
            "sym_lenet": nets.lenet(),
            "sym_bn": nets.bn_net(),
            "sym_attrs": nets.attrs_net(),
            "sym_split": parts,
            "sym_split_group": grp,
            "sym_split_squeeze_auto": sq,
            "sym_arith": nets.arith_net(),
        }


def _lists(shapes):
    return [list(s) for s in shapes]


@pytest.mark.parametrize("name", sorted(_nets()))
def test_infer_shape_and_type_match_mxnet(name):
    with open(os.path.join(MXNET, name + ".meta.json")) as f:
        meta = json.load(f)
    sym = _nets()[name]
    kwargs = {k: tuple(v) for k, v in meta["infer_shape_kwargs"].items()}
    arg, out, aux = sym.infer_shape(**kwargs)
    want = meta["infer_shape"]
    assert dict(zip(sym.list_arguments(), _lists(arg))) == want["arg_shapes"]
    assert dict(zip(sym.list_outputs(), _lists(out))) == want["out_shapes"]
    assert dict(zip(sym.list_auxiliary_states(), _lists(aux))) == (want["aux_shapes"] or {})
    partial = sym.infer_shape_partial(**kwargs)
    assert [_lists(p) for p in partial] == [
        meta["infer_shape_partial"][k] for k in ("arg_shapes", "out_shapes", "aux_shapes")
    ]
    arg_t, out_t, _ = sym.infer_type(**meta["infer_type_kwargs"])
    assert all(t is np.float32 for t in arg_t + out_t)
    assert (
        dict(zip(sym.list_outputs(), [np.dtype(t).name for t in out_t]))
        == meta["infer_type"]["out_types"]
    )


def test_seed_mlp_weight_shapes_follow_the_data_shape():
    net = nets.seed_mlp(h1=128)
    arg, out, aux = net.infer_shape(data=(64, 784))
    assert dict(zip(net.list_arguments(), arg)) == {
        "data": (64, 784),
        "fc1_weight": (128, 784),
        "fc1_bias": (128,),
        "fc2_weight": (10, 128),
        "fc2_bias": (10,),
        "softmax_label": (64,),
    }
    assert out == [(64, 10)] and aux == []
    # positionally, in list_arguments order (MXNet 1.9.1 crashes on this; distnet does not)
    assert net.infer_shape((64, 784))[1] == [(64, 10)]


def test_unknown_shapes_warn_or_stay_empty():
    net = nets.seed_mlp()
    with pytest.warns(UserWarning, match=r"Cannot decide shape.*\n\tdata: \(\)"):
        assert net.infer_shape() == (None, None, None)
    arg, out, aux = net.infer_shape_partial()
    assert arg == [()] * 6 and out == [()] and aux == []
    with pytest.warns(UserWarning, match="Cannot decide type"):
        assert net.infer_type() == (None, None, None)
    assert net.infer_type_partial()[0] == [None] * 6


def test_shape_inference_fills_inputs_backwards():
    x, y = mx.sym.var("x"), mx.sym.var("y")
    arg, out, _ = (x + y).infer_shape(x=(2, 3))
    assert arg == [(2, 3), (2, 3)] and out == [(2, 3)]


def test_partial_shape_hints_are_completed_and_checked():
    w = mx.sym.var("w", shape=(4, 0))  # Gluon's deferred shape: 0 = unknown
    fc = mx.sym.FullyConnected(mx.sym.var("x"), w, num_hidden=4, name="fc")
    assert fc.infer_shape_partial()[0][1] == (4, 0)
    assert fc.infer_shape(x=(2, 7))[0][1] == (4, 7)
    bad = mx.sym.FullyConnected(
        mx.sym.var("x"), mx.sym.var("w", shape=(5, 0)), num_hidden=4, name="fc"
    )
    with pytest.raises(MXNetError, match="'fc'"):
        bad.infer_shape(x=(2, 7))


def test_shape_errors_name_operator_and_argument():
    net = mx.sym.FullyConnected(mx.sym.var("d"), num_hidden=4, name="fc")
    with pytest.raises(MXNetError, match="operator 'fc'.*weight"):
        net.infer_shape(d=(2, 3), fc_weight=(5, 3))
    with pytest.raises(MXNetError, match="'zz' is not an input.*'d', 'fc_weight'"):
        net.infer_shape(zz=(2, 3))
    x, y = mx.sym.var("x"), mx.sym.var("y")
    with pytest.raises(MXNetError, match="_plus0"):
        (x + y).infer_shape(x=(2, 3), y=(3, 3))
    with pytest.raises(MXNetError, match="positionally or by keyword"):
        net.infer_shape((2, 3), d=(2, 3))


def test_infer_type_propagates_and_reads_dtype_hints():
    net = nets.seed_mlp()
    arg, out, _ = net.infer_type(data="float64")
    assert arg == [np.float64] * 6 and out == [np.float64]
    v = mx.sym.var("v", dtype="float16")
    arg, out, _ = (v * 2).infer_type()
    assert arg == [np.float16] and out == [np.float16]
    cast = mx.sym.Cast(mx.sym.var("x"), dtype="int32")
    assert cast.infer_type(x="float32")[1] == [np.int32]
    with pytest.raises(MXNetError, match="not a data type"):
        net.infer_type(data="nonsense")


def test_no_warning_when_everything_is_known():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nets.seed_mlp().infer_shape(data=(2, 5))
        nets.seed_mlp().infer_type(data="float32")
