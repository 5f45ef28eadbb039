"""distnet's mx.kv adapter over the kvstore package (NDArrays in, MXNetError out)."""

import numpy as np
import pytest

pytest.importorskip("distnet.ndarray")
import distnet as mx  # noqa: E402

import kv_harness as harness  # noqa: E402
from kv_jobs import X  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def test_local_adapter_sums_and_writes_in_place():
    kv = mx.kv.create("local")
    assert mx.kvstore.create is mx.kv.create and kv.type == "local"
    kv.init("x", mx.nd.array(np.ones(3, np.float32)))
    kv.push("x", [mx.nd.array(np.full(3, 2, np.float32)), mx.nd.array(np.full(3, 3, np.float32))])
    out = mx.nd.array(np.zeros(3, np.float32))
    buf = out._data
    kv.pull("x", out=out)
    assert out.asnumpy().tolist() == [5.0] * 3 and out._data is buf
    with pytest.raises(mx.base.MXNetError, match=r"push of key 'x': stored shape \(3,\)"):
        kv.push("x", mx.nd.array(np.ones(2, np.float32)))
    assert kv.is_capable(kv.OPTIMIZER)


def test_dist_adapter_marks_pending_outputs():
    workers, infra = harness.run_job("kv_jobs:mx_adapter", 2, 1, timeout=50)
    assert all(p.code == 0 for p in workers + infra), harness.explain(workers + infra)
    for p in workers:
        assert p.result["got"] == (3 * X).tolist()
        assert p.result["v"] == [3.0, 3.0]
        assert "stored shape (2, 3)" in p.result["err"]


class _Pending:
    """A transfer still in flight."""

    done = False

    def __init__(self):
        self.waited = 0

    def wait(self):
        self.waited += 1


class _InFlightStore:
    """A store whose transfers never finish by themselves."""

    type = "dist_sync"

    def __init__(self):
        self.handle = _Pending()

    def pushpull(self, key, value, out=None, priority=0):
        return self.handle

    push = pull = pushpull


def test_pushpull_keeps_sources_and_outputs_pending_until_done():
    """A pushed array may still be sent without a copy: writing it must wait too."""
    store = _InFlightStore()
    kv = mx.kv.KVStore(store)
    g, w = mx.nd.ones((3,)), mx.nd.zeros((3,))
    kv.pushpull(0, g, out=w)
    assert g._pending is store.handle and w._pending is store.handle
    g[:] = 5  # an in-place write waits for the transfer first
    assert store.handle.waited == 1 and g._pending is None
    w.asnumpy()
    assert store.handle.waited == 2
    v = [mx.nd.ones((2,)), mx.nd.ones((2,))]
    kv.pushpull("v", v)  # no out: the values are the outputs
    assert all(x._pending is store.handle for x in v)
