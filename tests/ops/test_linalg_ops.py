"""mx.nd.linalg / mx.sym.linalg: every la_op against MXNet 1.9.1's outputs and gradients
(tests/fixtures/mxnet/linalg, made by scripts/fixtures/make_linalg_fixtures.py)."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd
from distnet.base import MXNetError
from distnet.test_utils import check_numeric_gradient

_FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "fixtures", "mxnet", "linalg", "linalg.npz"
)
_DATA = np.load(_FIXTURE)
_META = json.loads(bytes(_DATA["__meta__"]).decode())


@pytest.mark.parametrize("case", sorted(_META))
def test_matches_mxnet_outputs_and_gradients(case):
    meta = _META[case]
    xs = [mx.nd.array(_DATA[f"{case}:in{i}"], dtype="float64") for i in range(meta["n_in"])]
    for x in xs:
        x.attach_grad()
    with autograd.record():
        outs = getattr(mx.nd.linalg, meta["op"])(*xs, **meta["attrs"])
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    assert len(outs) == meta["n_out"]
    heads = [mx.nd.array(_DATA[f"{case}:head{j}"], dtype="float64") for j in range(len(outs))]
    autograd.backward(list(outs), heads)
    for j, out in enumerate(outs):
        want = _DATA[f"{case}:out{j}"]
        assert out.shape == want.shape, (case, j)
        np.testing.assert_allclose(
            out.asnumpy(), want, rtol=1e-6, atol=1e-8, err_msg=f"{case} output {j}"
        )
    for i, x in enumerate(xs):
        np.testing.assert_allclose(
            x.grad.asnumpy(),
            _DATA[f"{case}:grad{i}"],
            rtol=1e-6,
            atol=1e-8,
            err_msg=f"{case} gradient {i}",
        )


def test_aliases_symbols_and_output_names():
    a = mx.sym.Variable("a")
    q_l = mx.sym.linalg.gelqf(a, name="lq")
    assert q_l.list_outputs() == ["lq_Q", "lq_L"]
    assert mx.sym.linalg.slogdet(a, name="d").list_outputs() == ["d_sign", "d_logabsdet"]
    assert q_l.infer_shape(a=(2, 3, 5))[1] == [(2, 3, 5), (2, 3, 3)]
    prod = mx.sym.linalg_gemm2(a, mx.sym.Variable("b"), transpose_b=True, name="g")
    assert prod.infer_shape(a=(2, 4), b=(3, 4))[1] == [(2, 3)]
    x = np.array([[4.0, 2.0], [2.0, 3.0]])
    np.testing.assert_allclose(
        mx.nd.linalg_potrf(mx.nd.array(x)).asnumpy(), np.linalg.cholesky(x), rtol=1e-6
    )


def test_numeric_gradient_through_the_executor():
    rng = np.random.RandomState(0)
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    loc = [rng.rand(3, 3) + 2 * np.eye(3), rng.rand(3, 2)]
    check_numeric_gradient(
        mx.sym.linalg.trsm(a, b, alpha=0.5),
        loc,
        numeric_eps=1e-6,
        rtol=1e-3,
        atol=1e-5,
        dtype=np.float64,
    )
    check_numeric_gradient(
        mx.sym.linalg.det(a), [loc[0]], numeric_eps=1e-6, rtol=1e-3, atol=1e-5, dtype=np.float64
    )


def test_bad_shapes_are_named():
    with pytest.raises(MXNetError, match="square"):
        mx.nd.linalg.potrf(mx.nd.ones((2, 3)))
    with pytest.raises(MXNetError, match="rows <= columns"):
        mx.sym.linalg.gelqf(mx.sym.Variable("a")).infer_shape(a=(4, 3))
    with pytest.raises(MXNetError, match="triangular number"):
        mx.sym.linalg.maketrian(mx.sym.Variable("v")).infer_shape(v=(4,))


_LA_OPS = (
    "_linalg_gemm",
    "_linalg_gemm2",
    "_linalg_potrf",
    "_linalg_potri",
    "_linalg_trmm",
    "_linalg_trsm",
    "_linalg_syrk",
    "_linalg_sumlogdiag",
    "_linalg_extractdiag",
    "_linalg_makediag",
    "_linalg_extracttrian",
    "_linalg_maketrian",
    "_linalg_gelqf",
    "_linalg_syevd",
    "_linalg_inverse",
    "_linalg_det",
    "_linalg_slogdet",
)


def test_every_linalg_operator_has_an_mxnet_fixture_case():
    from distnet.ops.registry import all_ops

    registered = {op.name for op in all_ops().values() if op.name.startswith("_linalg_")}
    assert registered == set(_LA_OPS)
    covered = {"_linalg_" + meta["op"] for meta in _META.values()}
    assert covered == set(_LA_OPS)
