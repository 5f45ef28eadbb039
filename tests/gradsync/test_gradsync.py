"""GradientSync: MXNet's kvstore rule (plus 'mpi'), the update-on-kvstore choice, the
overlap policy and the hook target that sends a gradient once every context's is final."""

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gradsync import GradientSync, create_kvstore, is_job_store, kvstore_arg


class _Store(mx.kv.KVStoreBase):
    """Records pushpulls; sums in place (a one-process stand-in)."""

    def __init__(self, type_="device", optimizer=True):
        self.calls, self._t, self._opt = [], type_, optimizer
        self.optimizer = None

    type = property(lambda self: self._t)
    rank, num_workers = 0, 1

    def is_capable(self, capability):
        return self._opt

    def set_optimizer(self, optimizer):
        self.optimizer = optimizer

    def broadcast(self, key, value, out, priority=0):
        self.calls.append(("broadcast", key, priority))

    def pushpull(self, key, value, out=None, priority=0):
        self.calls.append(("pushpull", key, priority, out is not None))


def test_mxnet_rule_for_names_devices_and_the_environment(monkeypatch):
    assert create_kvstore("device", 1, [4]) == (None, False)  # one device: no store
    assert create_kvstore(None, 4, [4]) == (None, False)
    kv, on_kv = create_kvstore("local", 2, [4])
    assert kv.type == "local" and on_kv is True
    assert create_kvstore("local", 2, [16 * 2**20 + 1])[1] is False  # big: on devices
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    assert create_kvstore("device", 2, [4])[1] is False
    with pytest.raises(TypeError, match="kvstore must be a KVStore, a str or None, got int"):
        create_kvstore(3, 2, [4])
    with pytest.raises(
        MXNetError,
        match="=False when training with <class 'NoneType'> "
        r"\(no kvstore is used for a single context",
    ):
        create_kvstore("device", 1, [4], update_on_kvstore=True)
    with pytest.raises(MXNetError, match="MXNET_UPDATE_ON_KVSTORE='x': expected an integer"):
        monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "x")
        create_kvstore("device", 2, [4])


def test_job_stores_and_the_argument_scripts_pass():
    assert all(is_job_store(t) for t in ("dist_sync", "dist_async", "mpi"))
    assert not any(is_job_store(t) for t in ("local", "device"))
    job, local = _Store("dist_sync"), _Store("local")
    assert kvstore_arg(job) is job and kvstore_arg(local) == "local"
    assert create_kvstore(job, 1, [4]) == (job, True)  # a store object is always used
    assert create_kvstore(_Store("x", optimizer=False), 1, [4])[1] is False


def test_async_stores_update_on_the_store():
    assert create_kvstore(_Store("dist_async"), 1, [4], update_on_kvstore=None)[1] is True
    with pytest.raises(ValueError, match="update_on_kvstore=True when training in async"):
        create_kvstore(_Store("dist_async"), 1, [4], update_on_kvstore=False)


def test_hook_target_sends_once_all_contexts_are_final_and_step_skips_it():
    kv = _Store("device")
    sync = GradientSync(kv, False, ["a", "b"], "sgd", 2, hookable=[0, 1])
    assert sync.overlap and kv.optimizer is None
    sync.grad_final(1, ["g0", "g1"], ["w0", "w1"], context=0)
    assert kv.calls == []  # context 1 not final yet
    sync.grad_final(1, ["g0", "g1"], ["w0", "w1"], context=1)
    assert kv.calls == [("pushpull", "b", -1, False)]
    sent = sync.take_sent()
    assert sent == {1} and sync.take_sent() == set()
    sync.sync([(0, ["g"], ["w"]), (1, ["g"], ["w"]), (2, [None], ["w"])], skip=sent)
    assert kv.calls[1:] == [("pushpull", "a", 0, False)]
    sync.init_param(1, "v", ["w0", "w1"])
    assert kv.calls[-1] == ("broadcast", "b", -1)


def test_repeated_backward_resends_unless_the_store_updated():
    kv = _Store("dist_sync")
    sync = GradientSync(kv, True, [7], "sgd", 1, hookable=[0])
    assert kv.optimizer == "sgd"
    for _ in range(2):
        sync.grad_final(0, ["g"], ["w"], context=0)
    assert kv.calls == [("pushpull", 7, 0, True)]  # applied once: not a second round
    kv2 = _Store("device")
    sync2 = GradientSync(kv2, False, [7], "sgd", 1, hookable=[0])
    for _ in range(2):
        sync2.grad_final(0, ["g"], ["w"], context=0)
    assert len(kv2.calls) == 2  # the new gradient is sent again


def test_overlap_policy(monkeypatch):
    # a local store that updates would apply the optimizer before step sets rescale_grad
    assert not GradientSync(_Store("device"), True, [0], None, 1, [0]).overlap
    assert GradientSync(_Store("dist_sync"), True, [0], None, 1, [0]).overlap
    not_write = GradientSync(_Store("dist_sync"), False, [0, 1], None, 1, hookable=[1])
    not_write.grad_final(0, ["g"], ["w"])  # grad_req 'add': never early
    assert not_write.kvstore.calls == []
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "0")
    off = GradientSync(_Store("dist_sync"), False, [0], None, 1, [0])
    assert not off.overlap and off.hookable == set()


def test_bucket_view_shares_the_store_with_its_own_keys():
    kv = _Store("dist_sync")
    sync = GradientSync(kv, True, ["a", "b"], "sgd", 1, hookable=[0, 1])
    bucket = sync.for_keys(["b"], hookable=[0])
    bucket.grad_final(0, ["g"], ["w"])
    assert kv.calls == [("pushpull", "b", 0, True)] and kv.optimizer == "sgd"
    assert bucket.take_sent() == {0} and sync.take_sent() == set()
    np.testing.assert_equal(bucket.keys, ["b"])
