"""Process-wide effects MXNet does not have: autograd's state is per thread, and
``mx.random.seed`` leaves numpy's global generator alone."""

import threading

import numpy as np

import distnet as mx
from distnet import autograd


def test_record_and_train_mode_are_per_thread():
    seen = {}
    started, release = threading.Event(), threading.Event()

    def other():
        seen["before"] = (autograd.is_recording(), autograd.is_training())
        with autograd.predict_mode():  # does not leak into the main thread
            started.set()
            release.wait(10)
        x = mx.nd.ones((2,))
        x.attach_grad()
        y = x * 2  # not recorded: this thread is not recording
        seen["graph"] = y._ag is not None

    with autograd.record():
        t = threading.Thread(target=other)
        t.start()
        started.wait(10)
        assert autograd.is_recording() and autograd.is_training()
        x = mx.nd.ones((2,))
        x.attach_grad()
        y = (x * 3).sum()
        release.set()
        t.join(10)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [3.0, 3.0])
    assert seen == {"before": (False, False), "graph": False}
    assert not autograd.is_recording() and not autograd.is_training()


def test_random_seed_leaves_numpy_global_state_alone():
    np.random.seed(5)
    want = np.random.rand(3)
    np.random.seed(5)
    mx.random.seed(123)
    np.testing.assert_array_equal(np.random.rand(3), want)
    a = mx.nd.random.uniform(shape=(4,)).asnumpy()
    mx.random.seed(123)
    np.testing.assert_array_equal(mx.nd.random.uniform(shape=(4,)).asnumpy(), a)
