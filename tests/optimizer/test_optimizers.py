"""Every optimizer against a float64 numpy reference and against real MXNet 1.9.1 numbers;
multipliers, multi-precision, in-place updates, registry and errors."""

import json
import os
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

from .numpy_reference import REFERENCES

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "mxnet")

rng = np.random.RandomState(3)
W0 = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
GRADS = rng.uniform(-2, 2, (6, 4, 5)).astype(np.float32)

COMMON = {"wd": 0.02, "rescale_grad": 0.5, "clip_gradient": 0.7}
NUMPY_CASES = [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, **COMMON}),
    ("nag", {"learning_rate": 0.1, "momentum": 0.9, **COMMON}),
    ("nag", {"learning_rate": 0.1, **COMMON}),
    ("adam", {"learning_rate": 0.01, **COMMON}),
    ("adagrad", {"learning_rate": 0.1, "eps": 1e-6, **COMMON}),
    ("rmsprop", {"learning_rate": 0.01, **COMMON}),
    (
        "rmsprop",
        {"learning_rate": 0.01, "centered": True, "gamma1": 0.95, "clip_weights": 0.9, **COMMON},
    ),
    ("adadelta", {"rho": 0.8, **COMMON}),
    ("adamax", {"learning_rate": 0.01, **COMMON}),
    ("nadam", {"learning_rate": 0.01, **COMMON}),
    ("ftrl", {"learning_rate": 0.1, "lamda1": 0.02, "beta": 0.5, **COMMON}),
    ("ftml", {"learning_rate": 0.05, **COMMON}),
    ("signum", {"learning_rate": 0.01, "momentum": 0.8, "wd_lh": 0.05, **COMMON}),
    ("signum", {"learning_rate": 0.01, "momentum": 0.0, **COMMON}),
    ("lamb", {"learning_rate": 0.01, **COMMON}),
    (
        "lamb",
        {
            "learning_rate": 0.01,
            "bias_correction": False,
            "lower_bound": 0.5,
            "upper_bound": 1.5,
            **COMMON,
        },
    ),
    ("lars", {"learning_rate": 0.1, "momentum": 0.9, "eta": 0.01, **COMMON}),
    ("dcasgd", {"learning_rate": 0.1, "momentum": 0.9, "lamda": 0.1, **COMMON}),
    ("dcasgd", {"learning_rate": 0.1, **COMMON}),
]


def _run(name, kwargs, w0=W0, grads=GRADS, dtype=None):
    opt = mx.optimizer.create(name, **kwargs)
    updater = mx.optimizer.get_updater(opt)
    w = nd.array(w0, dtype=dtype)
    out = []
    for g in grads:
        updater(0, nd.array(g, dtype=dtype), w)
        out.append(w.asnumpy())
    return np.stack(out), updater


def _ref_kwargs(kwargs):
    kw = dict(kwargs)
    if "learning_rate" in kw:
        kw["lr"] = kw.pop("learning_rate")
    return kw


@pytest.mark.parametrize(
    "name,kwargs", NUMPY_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(NUMPY_CASES)]
)
def test_matches_numpy_reference(name, kwargs):
    got, _ = _run(name, kwargs)
    want = REFERENCES[name](W0, GRADS, **_ref_kwargs(kwargs))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def _load_cases(stem):
    path = os.path.join(stem + ".json")
    if not os.path.exists(path):
        return []
    meta = json.load(open(path))
    return [(stem, k, v) for k, v in sorted(meta["cases"].items()) if "error" not in v]


FIXTURE_CASES = _load_cases(os.path.join(FIX, "optimizers")) + _load_cases(
    os.path.join(HERE, "mxnet_reference")
)


@pytest.mark.parametrize(
    "stem,case,meta", FIXTURE_CASES, ids=[f"{os.path.basename(s)}-{c}" for s, c, _ in FIXTURE_CASES]
)
def test_matches_mxnet(stem, case, meta):
    data = np.load(stem + ".npz")
    kwargs = dict(meta["kwargs"])
    if "scheduler" in meta:
        kwargs["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(**meta["scheduler"])
    got, _ = _run(meta["name"], kwargs, data["w0"], data["grads"])
    np.testing.assert_allclose(got, data[case], rtol=1e-5, atol=1e-6)


def test_mxnet_list_call_with_names_and_multipliers():
    data = np.load(os.path.join(HERE, "mxnet_reference.npz"))
    opt = mx.optimizer.create(
        "sgd",
        learning_rate=0.1,
        momentum=0.9,
        wd=0.1,
        param_idx2name={0: "fc_weight", 1: "fc_bias"},
    )
    opt.set_lr_mult({"fc_bias": 2.0})
    assert opt.wd_mult == {"fc_bias": 0.0}
    updater = mx.optimizer.get_updater(opt)
    ws = [nd.array(data["w0"]), nd.array(data["w0"][0])]
    for t, g in enumerate(data["grads"]):
        updater([0, 1], [nd.array(g), nd.array(g[1])], ws)
        np.testing.assert_allclose(ws[0].asnumpy(), data["multi_w"][t], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ws[1].asnumpy(), data["multi_b"][t], rtol=1e-5, atol=1e-6)
    assert opt.num_update == len(data["grads"])


def test_float16_multi_precision_matches_mxnet():
    data = np.load(os.path.join(HERE, "mxnet_reference.npz"))
    got, updater = _run(
        "sgd",
        {"learning_rate": 0.1, "momentum": 0.9, "multi_precision": True},
        data["w0"],
        data["grads"],
        "float16",
    )
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), data["fp16_w"], rtol=1e-3, atol=1e-3)
    mom, master = updater.states[0]
    assert master.dtype == np.float32 and mom.dtype == np.float32
    np.testing.assert_allclose(master.asnumpy(), data["fp16_master"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "nadam", "lamb"])
def test_float16_master_copy_for_adaptive(name):
    got, updater = _run(name, {"learning_rate": 0.01, "multi_precision": True}, dtype="float16")
    half = lambda a: a.astype(np.float16).astype(np.float32)  # noqa: E731
    want = REFERENCES[name](half(W0), half(GRADS), lr=0.01)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=2e-3, atol=2e-3)
    master, _ = updater.states[0]
    assert master.dtype == np.float32
    np.testing.assert_allclose(master.asnumpy(), want[-1], rtol=1e-5, atol=1e-6)


def test_updates_in_place_and_keeps_the_array_object():
    w = nd.array(W0)
    buf = w._data
    updater = mx.optimizer.get_updater(mx.optimizer.create("adam", learning_rate=0.1))
    g = nd.array(GRADS[0])
    gbuf = g.asnumpy()
    updater(3, g, w)
    assert w._data is buf
    assert not np.allclose(buf, W0)
    np.testing.assert_array_equal(g.asnumpy(), gbuf)  # the gradient is left alone


def test_wd_mult_defaults_from_param_names():
    opt = mx.optimizer.create(
        "sgd",
        learning_rate=1.0,
        wd=0.5,
        param_idx2name={0: "fc1_weight", 1: "fc1_bias", 2: "bn_gamma", 3: "bn_beta"},
    )
    assert opt._get_wds([0, 1, 2, 3]) == [0.5, 0.0, 0.5, 0.0]
    lars = mx.optimizer.create("lars", wd=0.5, param_idx2name={2: "bn_gamma"})
    assert lars._get_wds([2]) == [0.0]  # LARS decays only *_weight
    opt.set_wd_mult({"fc1_bias": 2.0})
    assert opt._get_wds([1]) == [1.0]


class _FakeSym:
    def attr_dict(self):
        return {
            "fc1_weight": {"__lr_mult__": "0.5", "__wd_mult__": "3"},
            "fc1_bias": {"num_hidden": "4"},
        }

    def list_arguments(self):
        return ["data", "fc1_weight", "fc1_bias"]


def test_multipliers_from_symbol_attributes():
    opt = mx.optimizer.create(
        "sgd",
        learning_rate=0.2,
        wd=0.1,
        sym=_FakeSym(),
        param_idx2name={0: "fc1_weight", 1: "fc1_bias"},
    )
    assert opt.lr_mult == {"fc1_weight": 0.5}
    assert opt.wd_mult == {"fc1_bias": 0.0, "fc1_weight": 3.0}
    assert opt._get_lrs([0, 1]) == pytest.approx([0.1, 0.2])
    assert opt._get_wds([0, 1]) == pytest.approx([0.3, 0.0])
    opt.set_lr_mult({"fc1_bias": 4.0})  # symbol attributes stay the defaults
    assert opt.lr_mult == {"fc1_weight": 0.5, "fc1_bias": 4.0}


def test_multipliers_from_real_symbol():
    sym_mod = pytest.importorskip("distnet.symbol")
    if not hasattr(sym_mod, "FullyConnected"):
        pytest.skip("symbol operators not available")
    w = sym_mod.Variable("fc1_weight", lr_mult=0.25, wd_mult=2.0)
    net = sym_mod.FullyConnected(sym_mod.Variable("data"), weight=w, num_hidden=3, name="fc1")
    opt = mx.optimizer.create("sgd", sym=net, param_idx2name={0: "fc1_weight", 1: "fc1_bias"})
    assert opt.lr_mult["fc1_weight"] == 0.25
    assert opt.wd_mult["fc1_weight"] == 2.0


def test_gluon_param_dict_multipliers_are_read_live():
    class P:
        lr_mult, wd_mult = 1.0, 1.0

    p = P()
    opt = mx.optimizer.create("sgd", learning_rate=0.5, wd=0.1, param_dict={0: p})
    p.lr_mult, p.wd_mult = 0.2, 0.0
    assert opt._get_lrs([0]) == pytest.approx([0.1])
    assert opt._get_wds([0]) == [0.0]


def test_lr_scheduler_drives_updates_like_mxnet():
    meta = json.load(open(os.path.join(FIX, "lr_schedulers.json")))["sgd_with_factor_via_updater"]
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.1)
    opt = mx.optimizer.create("sgd", learning_rate=0.1, lr_scheduler=sched)
    updater = mx.optimizer.get_updater(opt)
    w = nd.ones((2,))
    lrs = []
    for _ in range(6):
        updater(0, nd.ones((2,)), w)
        lrs.append(opt.learning_rate)
    assert lrs == pytest.approx(meta["lr_after_each_update"])
    np.testing.assert_allclose(w.asnumpy(), meta["weights_after"], rtol=1e-6)
    assert opt.num_update == meta["num_update"]


def test_set_learning_rate_refused_with_scheduler():
    opt = mx.optimizer.create("sgd", lr_scheduler=mx.lr_scheduler.FactorScheduler(2))
    with pytest.raises(UserWarning):
        opt.set_learning_rate(0.5)
    plain = mx.optimizer.create("sgd")
    plain.set_learning_rate(0.5)
    assert plain.learning_rate == 0.5


def test_learning_rate_overrides_scheduler_base_lr():
    sched = mx.lr_scheduler.FactorScheduler(step=2, base_lr=0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mx.optimizer.create("sgd", learning_rate=0.1, lr_scheduler=sched)
    assert sched.base_lr == 0.1
    assert any("overwritten" in str(w.message) for w in caught)


def test_defaults_match_mxnet():
    meta = json.load(open(os.path.join(FIX, "optimizers.json")))
    for name, defaults in meta["defaults"].items():
        opt = mx.optimizer.create(name)
        for attr, value in defaults.items():
            if attr in ("allow_np_array", "aggregate_num", "param_dict"):
                continue
            assert getattr(opt, attr) == value, (name, attr)


def test_registry_names():
    meta = json.load(open(os.path.join(FIX, "optimizers.json")))
    missing = set(meta["registered_optimizers"]) - set(mx.optimizer.Optimizer.opt_registry)
    assert missing <= {"lbsgd", "groupadagrad"}
    assert isinstance(mx.optimizer.create("SGD"), mx.optimizer.SGD)
    assert isinstance(mx.optimizer.Optimizer.create_optimizer("ccsgd"), mx.optimizer.SGD)


def test_unknown_optimizer_error_names_it():
    with pytest.raises(MXNetError, match="Cannot find optimizer nosuch"):
        mx.optimizer.create("nosuch")
    with pytest.raises(ValueError):  # MXNet raised ValueError; still catchable as such
        mx.optimizer.create("nosuch")


def test_custom_optimizer_subclass_through_updater():
    @mx.optimizer.register
    class HalfSGD(mx.optimizer.SGD):
        """Custom update written against the NDArray API."""

        def update(self, index, weight, grad, state):
            self._update_count(index)
            weight[:] = weight - 0.5 * self._get_lr(index) * grad

    try:
        opt = mx.optimizer.create("halfsgd", learning_rate=1.0)
        updater = mx.optimizer.get_updater(opt)
        ws = [nd.ones((2,)), nd.ones((3,))]
        updater([0, 1], [nd.ones((2,)), nd.ones((3,))], ws)
        np.testing.assert_allclose(ws[0].asnumpy(), [0.5, 0.5])
        np.testing.assert_allclose(ws[1].asnumpy(), [0.5, 0.5, 0.5])
        assert opt.describe()[0] == "halfsgd"
    finally:
        mx.optimizer.Optimizer.opt_registry.pop("halfsgd", None)


def test_sgld_noise_statistics():
    mx.random.seed(5)
    opt = mx.optimizer.create("sgld", learning_rate=0.04)
    w = nd.zeros((200, 100))
    opt.update(0, w, nd.zeros((200, 100)), None)
    vals = w.asnumpy()
    assert abs(vals.mean()) < 0.005
    assert vals.std() == pytest.approx(0.2, rel=0.02)  # sqrt(lr)
    opt2 = mx.optimizer.create("sgld", learning_rate=0.04)
    w2 = nd.zeros((2,))
    mx.random.seed(5)
    opt2.update(0, w2, nd.ones((2,)) * 1000, None)
    assert (w2.asnumpy() < -10).all()  # the -lr/2 * grad drift dominates


def test_update_accepts_lists_like_mxnet_sgd():
    opt = mx.optimizer.create("sgd", learning_rate=0.5)
    ws = [nd.ones((2,)), nd.ones((2,))]
    opt.update([0, 1], ws, [nd.ones((2,)), nd.ones((2,)) * 2], [None, None])
    np.testing.assert_allclose(ws[0].asnumpy(), [0.5, 0.5])
    np.testing.assert_allclose(ws[1].asnumpy(), [0.0, 0.0])


def test_updater_rejects_mismatched_lists():
    updater = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    with pytest.raises(MXNetError, match="2 indices but 1 gradients"):
        updater([0, 1], [nd.ones((2,))], [nd.ones((2,)), nd.ones((2,))])


def test_adam_counts_steps_per_index_and_per_device():
    opt = mx.optimizer.create("adam", learning_rate=0.1)
    updater = mx.optimizer.get_updater(opt)
    a, b = nd.ones((2,)), nd.ones((2,), ctx=mx.cpu(1))
    updater(0, nd.ones((2,)), a)
    updater(1, nd.ones((2,), ctx=mx.cpu(1)), b)  # Module keys devices apart
    assert opt._all_index_update_counts == {0: {0: 1}, 1: {1: 1}}
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy())


def test_waits_for_pending_writes_into_the_gradient():
    class Pending:
        """Stands for a kvstore pull still writing into the array."""

        def __init__(self, arr):
            self.arr = arr

        def wait(self):
            self.arr._data[...] = 2.0

    grad, weight = nd.zeros((2,)), nd.ones((2,))
    grad._pending = Pending(grad)
    mx.optimizer.get_updater(mx.optimizer.create("sgd", learning_rate=0.25))(
        np.int64(0), grad, weight
    )
    np.testing.assert_allclose(weight.asnumpy(), [0.5, 0.5])
    assert grad._pending is None
