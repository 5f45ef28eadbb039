"""distnet's mx.kv adapter over the kvstore package (NDArrays in, MXNetError out)."""
import numpy as np
import pytest

pytest.importorskip('distnet.ndarray')
import distnet as mx  # noqa: E402

import kv_harness as harness  # noqa: E402
from kv_jobs import X  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def test_local_adapter_sums_and_writes_in_place():
    kv = mx.kv.create('local')
    assert mx.kvstore.create is mx.kv.create and kv.type == 'local'
    kv.init('x', mx.nd.array(np.ones(3, np.float32)))
    kv.push('x', [mx.nd.array(np.full(3, 2, np.float32)), mx.nd.array(np.full(3, 3, np.float32))])
    out = mx.nd.array(np.zeros(3, np.float32))
    buf = out._data
    kv.pull('x', out=out)
    assert out.asnumpy().tolist() == [5.0] * 3 and out._data is buf
    with pytest.raises(mx.base.MXNetError, match=r"push of key 'x': stored shape \(3,\)"):
        kv.push('x', mx.nd.array(np.ones(2, np.float32)))
    assert kv.is_capable(kv.OPTIMIZER)


def test_dist_adapter_marks_pending_outputs():
    workers, infra = harness.run_job('kv_jobs:mx_adapter', 2, 1, timeout=50)
    assert all(p.code == 0 for p in workers + infra), harness.explain(workers + infra)
    for p in workers:
        assert p.result['got'] == (3 * X).tolist()
        assert p.result['v'] == [3.0, 3.0]
        assert 'stored shape (2, 3)' in p.result['err']
