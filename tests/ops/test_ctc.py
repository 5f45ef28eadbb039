"""CTC loss values and gradients against MXNet 1.9.1 (gluon.loss.CTCLoss, blank last),
with and without explicit lengths, and the operator's 'first' blank convention."""

import os

import numpy as np
import pytest

from distnet import autograd, gluon, nd

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "rnn")


@pytest.fixture(scope="module")
def ref():
    return np.load(os.path.join(FIX, "ctc.npz"), allow_pickle=False)


@pytest.mark.parametrize("lengths", [False, True])
def test_ctc_loss_and_gradient_match_mxnet(ref, lengths):
    pred = nd.array(ref["pred"])
    pred.attach_grad()
    args = (nd.array(ref["pred_len"]), nd.array(ref["label_len"])) if lengths else ()
    with autograd.record():
        loss = gluon.loss.CTCLoss()(pred, nd.array(ref["label"]), *args)
    loss.backward()
    sfx = "_len" if lengths else ""
    np.testing.assert_allclose(loss.asnumpy(), ref["loss" + sfx], rtol=1e-4)
    np.testing.assert_allclose(pred.grad.asnumpy(), ref["grad" + sfx], rtol=1e-4, atol=1e-6)


def test_ctc_first_blank_equals_last_blank_shifted(ref):
    """'first' (blank 0, labels 1-based, pad 0) is 'last' with the classes rotated."""
    pred = ref["pred"].transpose(1, 0, 2)  # TNC
    rolled = np.roll(pred, 1, axis=2)  # blank (last class) moves to class 0
    label = ref["label"] + 1  # pad -1 -> 0, labels shift by one
    got = nd.ctc_loss(nd.array(rolled), nd.array(label))
    np.testing.assert_allclose(got.asnumpy(), ref["loss"], rtol=1e-4)


def test_ctc_hybridized_and_tnc_layout(ref):
    loss_fn = gluon.loss.CTCLoss(layout="TNC")
    loss_fn.hybridize()
    got = loss_fn(nd.array(ref["pred"].transpose(1, 0, 2)), nd.array(ref["label"]))
    np.testing.assert_allclose(got.asnumpy(), ref["loss"], rtol=1e-4)
