"""Optimizer descriptions (name + msgpack-safe hyperparameters, rebuilt with create) and
the Updater's states format (msgpack, versioned, no pickle)."""

import pickle

import msgpack
import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

rng = np.random.RandomState(11)
W0 = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
GRADS = rng.uniform(-1, 1, (6, 3, 4)).astype(np.float32)

ALL = sorted(mx.optimizer.Optimizer.opt_registry)


def _wire(desc):
    """What a parameter server receives: the description through msgpack."""
    return msgpack.unpackb(msgpack.packb(list(desc), use_bin_type=True), raw=False)


@pytest.mark.parametrize("name", ALL)
def test_every_optimizer_describes_and_rebuilds(name):
    opt = mx.optimizer.create(
        name,
        learning_rate=0.05,
        wd=0.01,
        rescale_grad=0.5,
        clip_gradient=2.0,
        param_idx2name={0: "a_weight", 1: "a_bias"},
    )
    desc = opt.describe()
    assert desc[0] == name
    wire_name, params = _wire(desc)
    clone = mx.optimizer.create(wire_name, **params)
    assert type(clone) is type(opt)
    assert clone.describe() == desc
    assert clone.idx2name == {0: "a_weight", 1: "a_bias"}
    assert clone.wd_mult == opt.wd_mult == {"a_bias": 0.0}


@pytest.mark.parametrize("name", ["sgd", "nag", "adam", "rmsprop", "ftrl", "lamb", "signum"])
def test_rebuilt_optimizer_updates_identically(name):
    kwargs = (
        {"learning_rate": 0.05, "wd": 0.01, "momentum": 0.9}
        if name in ("sgd", "nag", "signum")
        else {"learning_rate": 0.05, "wd": 0.01}
    )
    opt = mx.optimizer.create(name, **kwargs)
    clone = mx.optimizer.Optimizer.from_description(_wire(opt.describe()))
    ws = []
    for o in (opt, clone):
        w = nd.array(W0)
        up = mx.optimizer.get_updater(o)
        for g in GRADS:
            up("fc1_weight", nd.array(g), w)
        ws.append(w.asnumpy())
    np.testing.assert_array_equal(ws[0], ws[1])


def test_description_contents():
    sched = mx.lr_scheduler.MultiFactorScheduler(step=[2, 4], factor=0.5, base_lr=0.1)
    opt = mx.optimizer.create(
        "sgd",
        learning_rate=0.1,
        momentum=0.9,
        lr_scheduler=sched,
        param_idx2name={0: "fc_weight", 3: "fc_bias"},
        multi_precision=True,
        begin_num_update=2,
    )
    opt.set_lr_mult({"fc_weight": 2.0, 3: 0.5})
    name, params = opt.describe()
    assert name == "sgd"
    assert params["momentum"] == 0.9 and params["learning_rate"] == 0.1
    assert params["multi_precision"] is True and params["begin_num_update"] == 2
    assert params["param_idx2name"] == {"0": "fc_weight", "3": "fc_bias"}
    assert params["lr_mult"] == {"fc_weight": 2.0, "3": 0.5}
    assert params["wd_mult"] == {"fc_bias": 0.0}
    assert params["lr_scheduler"][0] == "MultiFactorScheduler"
    assert params["lr_scheduler"][1]["step"] == [2, 4]
    assert "sym" not in params and "param_dict" not in params
    wire_name, wire_params = _wire((name, params))
    clone = mx.optimizer.create(wire_name, **wire_params)
    assert clone.lr_mult == {"fc_weight": 2.0, 3: 0.5}  # digit keys are indices again
    assert isinstance(clone.lr_scheduler, mx.lr_scheduler.MultiFactorScheduler)


def test_scheduler_state_travels_with_the_optimizer():
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.4)
    opt = mx.optimizer.create("sgd", learning_rate=0.4, lr_scheduler=sched)
    up = mx.optimizer.get_updater(opt)
    w = nd.zeros((2,))
    for _ in range(5):
        up(0, nd.ones((2,)), w)
    clone = mx.optimizer.Optimizer.from_description(_wire(opt.describe()))
    assert clone.lr_scheduler.base_lr == sched.base_lr == 0.1
    assert clone.lr_scheduler.count == sched.count == 4
    assert clone.lr == 0.4


def test_describe_refuses_values_that_do_not_travel():
    opt = mx.optimizer.create("sgd")
    opt.momentum = object()
    with pytest.raises(MXNetError, match="momentum"):
        opt.describe()


def test_describe_needs_registration_and_stored_args():
    class Unregistered(mx.optimizer.SGD):
        pass

    with pytest.raises(MXNetError, match="not registered"):
        Unregistered().describe()

    @mx.optimizer.register
    class Forgetful(mx.optimizer.Optimizer):
        def __init__(self, alpha=1.0, **kwargs):
            super().__init__(**kwargs)

    try:
        with pytest.raises(MXNetError, match="'alpha' is not stored"):
            Forgetful().describe()
    finally:
        mx.optimizer.Optimizer.opt_registry.pop("forgetful")


def _train(updater, ws, grads, keys):
    for g in grads:
        for k, w in zip(keys, ws):
            updater(k, nd.array(g), w)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("adam", {"learning_rate": 0.05}),
        ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
        ("rmsprop", {"centered": True}),
        ("nadam", {}),
        ("dcasgd", {"momentum": 0.5}),
        ("sgd", {"momentum": 0.9, "multi_precision": True}),
    ],
)
def test_states_roundtrip_continues_training_exactly(name, kwargs):
    dtype = "float16" if kwargs.get("multi_precision") else None
    keys = [0, "fc1_bias"]
    a = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    wa = [nd.array(W0, dtype=dtype), nd.array(W0 * 2, dtype=dtype)]
    _train(a, wa, GRADS[:3], keys)
    blob = a.get_states()
    assert isinstance(blob, bytes)
    b = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    b.set_states(blob)
    wb = [w.copy() for w in wa]
    _train(a, wa, GRADS[3:], keys)
    _train(b, wb, GRADS[3:], keys)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x.asnumpy(), y.asnumpy())
    assert b.optimizer.num_update == a.optimizer.num_update == 6


def test_states_keep_key_types_and_state_structure():
    up = mx.optimizer.get_updater(mx.optimizer.create("rmsprop", centered=True))
    up(7, nd.ones((2,)), nd.ones((2,)))
    up("w", nd.ones((3,)), nd.ones((3,)))
    clone = mx.optimizer.get_updater(mx.optimizer.create("rmsprop", centered=True))
    clone.set_states(up.get_states())
    assert set(clone.states) == {7, "w"}
    assert isinstance(clone.states[7], tuple) and len(clone.states[7]) == 3
    for x, y in zip(up.states["w"], clone.states["w"]):
        np.testing.assert_array_equal(x.asnumpy(), y.asnumpy())
        assert y.dtype == x.dtype


def test_dump_optimizer_replaces_the_optimizer():
    opt = mx.optimizer.create("adam", learning_rate=0.123, beta1=0.8)
    up = mx.optimizer.get_updater(opt)
    up(0, nd.ones((2,)), nd.ones((2,)))
    other = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    other.set_states(up.get_states(dump_optimizer=True))
    assert isinstance(other.optimizer, mx.optimizer.Adam)
    assert other.optimizer.lr == 0.123 and other.optimizer.beta1 == 0.8
    assert other.optimizer._index_update_count == {0: 1}


def test_states_blob_is_versioned_msgpack():
    up = mx.optimizer.get_updater(mx.optimizer.create("sgd", momentum=0.9))
    up(0, nd.ones((2, 2)), nd.ones((2, 2)))
    blob = msgpack.unpackb(up.get_states(), raw=False, strict_map_key=False)
    assert blob["format"] == "distnet-optimizer-states" and blob["version"] == 1
    key, (tag, dtype, shape, raw) = blob["states"][0]
    assert (key, tag, dtype, shape) == (0, "nd", "<f4", [2, 2])
    np.testing.assert_allclose(np.frombuffer(raw, "<f4"), -0.01)
    assert blob["optimizer"] is None


@pytest.mark.parametrize(
    "blob,match",
    [
        (b"garbage!", "not a distnet optimizer states blob"),
        (pickle.dumps({0: None}), "pickle"),
        (msgpack.packb({"format": "other"}), "format marker"),
        (
            msgpack.packb({"format": "distnet-optimizer-states", "version": 99, "states": []}),
            "unsupported version 99",
        ),
        (
            msgpack.packb(
                {
                    "format": "distnet-optimizer-states",
                    "version": 1,
                    "states": [[0, ["nd", "<f4", [2, 2], b"\0" * 3]]],
                }
            ),
            "needs 16 bytes, got 3",
        ),
        (
            msgpack.packb(
                {
                    "format": "distnet-optimizer-states",
                    "version": 1,
                    "states": [[0, ["nd", "|O", [1], b"\0" * 8]]],
                }
            ),
            "unsupported dtype",
        ),
        (
            msgpack.packb(
                {"format": "distnet-optimizer-states", "version": 1, "states": [[0, ["bogus", 1]]]}
            ),
            "unknown tag 'bogus'",
        ),
        ("text", "must be bytes"),
    ],
)
def test_garbage_states_raise_mxneterror(blob, match):
    up = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    with pytest.raises(MXNetError, match=match):
        up.set_states(blob)


def test_states_move_to_the_weight_context_after_load():
    up = mx.optimizer.get_updater(mx.optimizer.create("sgd", momentum=0.9))
    up(0, nd.ones((2,)), nd.ones((2,)))
    other = mx.optimizer.get_updater(mx.optimizer.create("sgd", momentum=0.9))
    other.set_states(up.get_states())
    w = nd.ones((2,), ctx=mx.cpu(1))
    other(0, nd.ones((2,), ctx=mx.cpu(1)), w)
    assert other.states[0].context == mx.cpu(1)


def test_kvstore_updater_factory_uses_the_description():
    kv_updaters = pytest.importorskip("kvstore.updaters")
    name, params = mx.optimizer.create("sgd", learning_rate=0.5).describe()
    updater = kv_updaters.make_updater(name, params)
    w = np.ones(3, np.float32)
    updater("k", np.ones(3, np.float32), w)
    np.testing.assert_allclose(w, 0.5)
    blob = updater.get_states()
    updater.set_states(blob)
