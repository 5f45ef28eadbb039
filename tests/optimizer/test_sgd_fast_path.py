"""SGD's list update (what Trainer.step runs) must give bitwise what the per-weight
``_step`` gives, with and without momentum, clipping and weight decay, and must still
call a subclass's own ``_step``."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.optimizer import sgd


def _arrays(seed):
    rng = np.random.RandomState(seed)
    shapes = [(7, 5), (5,), (3, 4, 2)]
    ws = [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes]
    gs = [rng.uniform(-3, 3, s).astype(np.float32) for s in shapes]
    return ws, gs


def _run(opt, ws, gs, steps=3, as_list=True):
    weights = [nd.array(w) for w in ws]
    grads = [nd.array(g) for g in gs]
    updater = mx.optimizer.get_updater(opt)
    for _ in range(steps):
        if as_list:
            updater(list(range(len(ws))), grads, weights)
        else:
            for i, (w, g) in enumerate(zip(weights, grads)):
                updater(i, g, w)
    return [w.asnumpy() for w in weights]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"wd": 0.01},
        {"wd": 0.01, "rescale_grad": 0.3},
        {"momentum": 0.9, "wd": 0.01},
        {"clip_gradient": 0.5, "wd": 0.01},
    ],
)
def test_list_update_is_bitwise_the_per_weight_step(kwargs):
    ws, gs = _arrays(0)
    names = {0: "fc_weight", 1: "fc_bias", 2: "conv_weight"}  # bias: wd_mult 0

    def make():
        return mx.optimizer.create("sgd", learning_rate=0.05, param_idx2name=names, **kwargs)

    fused = make()
    fused.set_lr_mult({2: 0.5})
    plain = make()
    plain.set_lr_mult({2: 0.5})
    got = _run(fused, ws, gs)
    want = _run(plain, ws, gs, as_list=False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    w0 = ws[1] - 3 * 0.05 * kwargs.get("rescale_grad", 1.0) * gs[1]  # the bias: no wd
    if not kwargs.get("momentum") and not kwargs.get("clip_gradient"):
        np.testing.assert_allclose(got[1], w0, rtol=1e-5, atol=1e-6)
    assert fused.num_update == 3 and fused._index_update_count == {0: 3, 1: 3, 2: 3}


def test_a_subclass_changing_step_is_still_called():
    calls = []

    class Logged(sgd.SGD):
        def _step(self, xp, index, w, g, state, lr, wd):
            calls.append(index)
            super()._step(xp, index, w, g, state, lr, wd)

    ws, gs = _arrays(1)
    _run(Logged(learning_rate=0.1), ws, gs, steps=1)
    assert calls == [0, 1, 2]
