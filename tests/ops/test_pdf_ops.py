"""random_pdf_<dist> values and gradients against MXNet 1.9.1
(tests/fixtures/mxnet/ops_extra.npz)."""

import pathlib

import numpy as np
import pytest

import distnet as mx
from distnet import nd

_FIX = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures/mxnet/ops_extra.npz")
CASES = sorted({k.split("/")[0] for k in _FIX.files if k.startswith("pdf_")})
DISCRETE = ("poisson", "negative_binomial")  # also generalized_negative_binomial


@pytest.mark.parametrize("case", CASES)
def test_pdf_matches_mxnet(case):
    dist, is_log = case[len("pdf_") : -2], bool(int(case[-1]))
    arrays, i = [], 0
    while f"{case}/in{i}" in _FIX:
        arrays.append(nd.array(_FIX[f"{case}/in{i}"], dtype="float64"))
        i += 1
    for a in arrays:
        a.attach_grad()
    with mx.autograd.record():
        y = getattr(nd, f"random_pdf_{dist}")(*arrays, is_log=is_log)
    y.backward(nd.ones_like(y))
    np.testing.assert_allclose(y.asnumpy(), _FIX[f"{case}/out0"], rtol=1e-6, atol=1e-10)
    first = 1 if any(d in dist for d in DISCRETE) else 0  # no sample gradient checked
    for j in range(first, len(arrays)):
        np.testing.assert_allclose(
            arrays[j].grad.asnumpy(),
            _FIX[f"{case}/grad{j}"],
            rtol=1e-4,
            atol=1e-8,
            err_msg=f"{case} input {j}",
        )


def test_pdf_operator_names_and_shapes():
    s = mx.sym.random_pdf_dirichlet(mx.sym.var("x"), mx.sym.var("a"))
    assert s.infer_shape(x=(2, 5, 3), a=(2, 3))[1] == [(2, 5)]
    for name in (
        "_random_pdf_normal",
        "_random_pdf_uniform",
        "_random_pdf_gamma",
        "_random_pdf_exponential",
        "_random_pdf_poisson",
        "_random_pdf_negative_binomial",
        "_random_pdf_generalized_negative_binomial",
        "_random_pdf_dirichlet",
    ):
        assert getattr(nd, name) is not None
    out = nd._random_pdf_normal(nd.zeros((2, 4)), nd.zeros((2,)), nd.ones((2,)))
    np.testing.assert_allclose(out.asnumpy(), np.full((2, 4), 1 / np.sqrt(2 * np.pi)), rtol=1e-6)
    assert out.dtype == np.float32
