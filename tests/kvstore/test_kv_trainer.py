"""gluon's Trainer on 2 workers (dist_sync, 1 server), each on half of a fixed batch,
ends with the parameters of one process trained on the whole batch."""

import numpy as np
import pytest

pytest.importorskip("distnet.gluon")

import kv_mx_jobs as jobs  # noqa: E402

pytestmark = pytest.mark.timeout(120)

CASES = {
    "sgd": {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3},
    "adam": {"learning_rate": 0.01},
}


@pytest.mark.parametrize("on_kvstore", [True, False], ids=["server_update", "worker_update"])
@pytest.mark.parametrize("optimizer", sorted(CASES))
def test_two_workers_on_half_batches_equal_one_process(run_distributed, on_kvstore, optimizer):
    params = CASES[optimizer]
    job = run_distributed(
        jobs.trainer_half_batch,
        num_workers=2,
        num_servers=1,
        timeout=90,
        args=[on_kvstore, optimizer, params],
        env={"DISTNET_KVSTORE_TIMEOUT": "60"},
    )
    job.check()
    one = jobs.train(None, None, optimizer, params)
    assert one.pop("update_on_kvstore") is None
    untrained = jobs.train(None, None, optimizer, dict(params, learning_rate=0.0))
    untrained.pop("update_on_kvstore")
    assert sorted(one) == [
        "mlp_dense0_bias",
        "mlp_dense0_weight",
        "mlp_dense1_bias",
        "mlp_dense1_weight",
    ]
    a, b = (w.result for w in job.workers)
    assert a.pop("update_on_kvstore") is b.pop("update_on_kvstore") is on_kvstore
    for name, want in one.items():
        assert not np.allclose(want, untrained[name])  # training moved every parameter
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)  # workers agree
        # the halves' gradients are summed in another order than one batch's: not bit-equal
        np.testing.assert_allclose(a[name], want, rtol=1e-5, atol=1e-6, err_msg=name)
