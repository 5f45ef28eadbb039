"""Common-expression elimination when binding (MXNET_ELIMINATE_COMMON_EXPR), as MXNet
1.9.1: the node counts saved are MXNet's for the same graphs."""

import json

import numpy as np
import pytest

import distnet as mx

A, B, C = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
D = A + 1


def _bind(sym, monkeypatch, flag, **shapes):
    monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", flag)
    return sym.simple_bind(mx.cpu(), grad_req="write", **shapes)


@pytest.mark.parametrize(
    "sym,saved",
    [
        ((A + 1) + (A + 2), 0),
        ((A + B) + (A + B), 1),
        (((A + B) + C) + ((A + B) + C), 2),
        (mx.sym.Group([A * D, A * D]), 0),  # merged, then a copy as the 2nd output
        (mx.sym.Group([A * D + B, A * D + B]), 1),
        (mx.sym.Group([A * (A + 1), A * (A + 1)]), 1),
        (mx.sym.Dropout(A, p=0.5) + mx.sym.Dropout(A, p=0.5), 0),  # random: never merged
    ],
)
def test_nodes_saved_and_results_unchanged(sym, saved, monkeypatch):
    shapes = {name: (3, 4) for name in sym.list_inputs()}
    rng = np.random.default_rng(0)
    data = {k: mx.nd.array(rng.uniform(size=v)) for k, v in shapes.items()}
    plain = _bind(sym, monkeypatch, "0", **shapes)
    merged = _bind(sym, monkeypatch, "1", **shapes)
    n_plain = len(plain.get_optimized_symbol().get_internals())
    n_merged = len(merged.get_optimized_symbol().get_internals())
    assert n_plain - n_merged == saved
    assert len(merged.get_optimized_symbol().list_outputs()) == len(sym.list_outputs())
    if "Dropout" in sym.debug_str():
        return
    heads = None
    for exe in (plain, merged):
        outs = exe.forward(is_train=True, **data)
        heads = heads or [mx.nd.ones_like(o) for o in outs]
        exe.backward(heads)
    for x, y in zip(plain.outputs, merged.outputs):
        np.testing.assert_allclose(x.asnumpy(), y.asnumpy(), rtol=1e-6)
    for name in sym.list_arguments():
        np.testing.assert_allclose(
            plain.grad_dict[name].asnumpy(), merged.grad_dict[name].asnumpy(), rtol=1e-6
        )


def test_duplicated_output_stays_a_separate_array(monkeypatch):
    d = A * (A + 1)
    exe = _bind(mx.sym.Group([d, A * (A + 1)]), monkeypatch, "1", a=(2, 2))
    outs = exe.forward(a=mx.nd.ones((2, 2)))
    assert outs[0] is not outs[1]
    np.testing.assert_array_equal(outs[1].asnumpy(), np.full((2, 2), 2.0))
    ops = [n["op"] for n in json.loads(exe.get_optimized_symbol().tojson())["nodes"]]
    assert ops.count("elemwise_mul") == 1 and ops.count("_copy") == 1
