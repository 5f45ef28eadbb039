"""SequenceLast, SequenceReverse and multinomial sampling against MXNet 1.9.1."""

import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, nd
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "rnn")


@pytest.fixture(scope="module")
def seq():
    return np.load(os.path.join(FIX, "sequence.npz"), allow_pickle=False)


@pytest.mark.parametrize(
    "opname,use", [("SequenceLast", True), ("SequenceReverse", False), ("SequenceReverse", True)]
)
def test_sequence_ops_match_mxnet(seq, opname, use):
    x = nd.array(seq["x"])
    x.attach_grad()
    args = (x, nd.array(seq["lens"])) if use else (x,)
    with autograd.record():
        y = getattr(nd, opname)(*args, use_sequence_length=use)
    y.backward(nd.array(seq[f"{opname}_{use}_head"]))
    np.testing.assert_allclose(y.asnumpy(), seq[f"{opname}_{use}_out"], rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), seq[f"{opname}_{use}_grad"], rtol=1e-6)


def test_sequence_last_axis1_and_default(seq):
    xb = np.ascontiguousarray(seq["x"].transpose(1, 0, 2))
    got = nd.SequenceLast(nd.array(xb), nd.array(seq["lens"]), use_sequence_length=True, axis=1)
    np.testing.assert_allclose(got.asnumpy(), seq["last_axis1"])
    np.testing.assert_allclose(nd.SequenceLast(nd.array(seq["x"])).asnumpy(), seq["x"][-1])


def test_sequence_length_out_of_range_is_named():
    with pytest.raises(MXNetError, match="sequence_length must lie in"):
        nd.SequenceReverse(nd.zeros((3, 2)), nd.array([4, 1]), use_sequence_length=True)


def test_sequence_ops_in_symbols():
    data, lens = mx.sym.var("data"), mx.sym.var("lens")
    out = mx.sym.SequenceLast(data, lens, use_sequence_length=True)
    _, outs, _ = out.infer_shape(data=(5, 3, 2), lens=(3,))
    assert outs == [(3, 2)]


def test_multinomial_log_prob_gradient_matches_mxnet():
    ref = np.load(os.path.join(FIX, "multinomial.npz"), allow_pickle=False)
    probs = ref["probs"]
    # MXNet's own draws satisfy the same formula distnet uses: d logp / d p_k = n_k / p_k
    counts = np.stack([(ref["samples"] == k).sum(axis=1) for k in range(3)], axis=1)
    np.testing.assert_allclose(ref["grad"], 2 * counts / probs, rtol=1e-5)
    np.testing.assert_allclose(
        ref["logp"], np.log(np.take_along_axis(probs, ref["samples"], 1)), rtol=1e-5
    )
    d = nd.array(probs)
    d.attach_grad()
    mx.random.seed(4)
    with autograd.record():
        s, logp = nd.random.multinomial(d, shape=5, get_prob=True)
    logp.backward(nd.ones_like(logp) * 2)
    s = s.asnumpy()
    assert s.shape == (2, 5) and s.dtype == np.int32
    counts = np.stack([(s == k).sum(axis=1) for k in range(3)], axis=1)
    np.testing.assert_allclose(d.grad.asnumpy(), 2 * counts / probs, rtol=1e-5)
    np.testing.assert_allclose(logp.asnumpy(), np.log(np.take_along_axis(probs, s, 1)), rtol=1e-6)


def test_multinomial_frequencies_follow_probabilities():
    mx.random.seed(0)
    p = np.array([0.1, 0.6, 0.3], np.float32)
    s = nd.sample_multinomial(nd.array(p), shape=20000).asnumpy()
    freq = np.bincount(s, minlength=3) / s.size
    np.testing.assert_allclose(freq, p, atol=0.02)
    assert nd.random.multinomial(nd.array(np.tile(p, (4, 1)))).shape == (4,)
