"""The fused optimizer updates against MXNet 1.9.1's results
(tests/fixtures/mxnet/ops_extra.npz, made by scripts/fixtures/make_ops_extra_fixtures.py)."""

import pathlib

import numpy as np
import pytest

from distnet import nd
from distnet.base import MXNetError

_FIX = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures/mxnet/ops_extra.npz")

# case id, nd function, attributes (as in the fixture generator)
CASES = [
    ("sgd", "sgd_update", dict(lr=0.1, wd=0.01, rescale_grad=0.5, clip_gradient=0.3)),
    ("sgd_noclip", "sgd_update", dict(lr=0.1, wd=0.01)),
    (
        "sgd_mom",
        "sgd_mom_update",
        dict(lr=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5, clip_gradient=0.3),
    ),
    (
        "nag_mom",
        "nag_mom_update",
        dict(lr=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5, clip_gradient=0.3),
    ),
    (
        "adam",
        "adam_update",
        dict(
            lr=0.01,
            beta1=0.8,
            beta2=0.99,
            epsilon=1e-6,
            wd=0.01,
            rescale_grad=0.5,
            clip_gradient=0.3,
        ),
    ),
    (
        "rmsprop",
        "rmsprop_update",
        dict(
            lr=0.01,
            gamma1=0.9,
            epsilon=1e-6,
            wd=0.01,
            rescale_grad=0.5,
            clip_gradient=0.3,
            clip_weights=0.8,
        ),
    ),
    (
        "rmspropalex",
        "rmspropalex_update",
        dict(
            lr=0.01,
            gamma1=0.9,
            gamma2=0.8,
            epsilon=1e-6,
            wd=0.01,
            rescale_grad=0.5,
            clip_gradient=0.3,
            clip_weights=0.8,
        ),
    ),
    (
        "ftrl",
        "ftrl_update",
        dict(lr=0.1, lamda1=0.01, beta=1.5, wd=0.01, rescale_grad=0.5, clip_gradient=0.3),
    ),
    (
        "ftml",
        "ftml_update",
        dict(
            lr=0.1,
            beta1=0.6,
            beta2=0.99,
            epsilon=1e-6,
            t=3,
            wd=0.01,
            rescale_grad=0.5,
            clip_grad=0.3,
        ),
    ),
    ("signsgd", "signsgd_update", dict(lr=0.1, wd=0.01, rescale_grad=0.5)),
    (
        "lamb1",
        "lamb_update_phase1",
        dict(
            beta1=0.8, beta2=0.99, epsilon=1e-6, t=3, wd=0.01, rescale_grad=0.5, clip_gradient=0.3
        ),
    ),
    ("lamb1_nobc", "lamb_update_phase1", dict(t=2, wd=0.0, bias_correction=False)),
    (
        "signum",
        "signum_update",
        dict(lr=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5, clip_gradient=0.3, wd_lh=0.02),
    ),
    ("mp_sgd", "mp_sgd_update", dict(lr=0.1, wd=0.01, rescale_grad=0.5, clip_gradient=0.3)),
    (
        "mp_sgd_mom",
        "mp_sgd_mom_update",
        dict(lr=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5, clip_gradient=0.3),
    ),
]


def _arrays(case, kind):
    out, i = [], 0
    while f"{case}/{kind}{i}" in _FIX:
        out.append(_FIX[f"{case}/{kind}{i}"])
        i += 1
    return out


@pytest.mark.parametrize("case,name,attrs", CASES, ids=[c[0] for c in CASES])
def test_update_matches_mxnet(case, name, attrs):
    ins = [nd.array(x, dtype=x.dtype) for x in _arrays(case, "in")]
    res = getattr(nd, name)(*ins, out=ins[0], **attrs)
    assert res is ins[0]
    want = _arrays(case, "out")
    got = [ins[0]] + ins[2:]  # the weight, then every state (updated in place)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype, f"{case} output {i}"
        np.testing.assert_allclose(
            g.asnumpy(), w, rtol=1e-5, atol=1e-6, err_msg=f"{case} output {i}"
        )


@pytest.mark.parametrize(
    "case,attrs",
    [
        ("lamb2", dict(lr=0.1)),
        ("lamb2_bounds", dict(lr=0.1, lower_bound=0.1, upper_bound=1.5)),
        ("lamb2_zero", dict(lr=0.1)),
    ],
)
def test_lamb_phase2_matches_mxnet(case, attrs):
    ins = [nd.array(x) for x in _arrays(case, "in")]
    out = nd.lamb_update_phase2(*ins, **attrs)
    np.testing.assert_allclose(out.asnumpy(), _FIX[f"{case}/out0"], rtol=1e-6, atol=1e-7)


def test_update_without_out_leaves_weight_and_returns_new_one():
    w, g, mom = nd.ones((2, 2)), nd.ones((2, 2)), nd.zeros((2, 2))
    new = nd.sgd_mom_update(w, g, mom, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(new.asnumpy(), np.full((2, 2), 0.5))
    np.testing.assert_allclose(w.asnumpy(), np.ones((2, 2)))
    np.testing.assert_allclose(mom.asnumpy(), np.full((2, 2), -0.5))  # the state moved


def test_update_requires_lr_and_states():
    with pytest.raises(MXNetError, match="lr"):
        nd.sgd_update(nd.ones(2), nd.ones(2))
    with pytest.raises(MXNetError, match="mom"):
        nd.sgd_mom_update(nd.ones(2), nd.ones(2), lr=0.1)
