"""Module.fit in a real dist_sync job: workers end with identical parameters, equal to
one process training on the whole global batch."""

import numpy as np
import pytest

import distnet as mx
import dist_jobs as jobs


@pytest.mark.parametrize("on_kvstore", ["1", "0"])
def test_dist_sync_fit_matches_one_process_on_the_global_batch(run_distributed, on_kvstore):
    """on the servers (default) or on the workers (MXNET_UPDATE_ON_KVSTORE=0: rank 0's
    starting values still reach every worker, unlike MXNet 1.9.1)."""
    job = run_distributed(
        "dist_jobs:fit_dist_sync",
        num_workers=2,
        num_servers=1,
        timeout=90,
        env={"MXNET_UPDATE_ON_KVSTORE": on_kvstore},
    )
    job.check()
    w0, w1 = (w.result for w in job.workers)
    assert sorted(w0) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    for k in w0:
        np.testing.assert_array_equal(np.array(w0[k]), np.array(w1[k]))
    # the same training in one process: batches of BATCH*2, rank 0's starting values
    x, y = jobs.dataset()
    it = mx.io.NDArrayIter(x, y, batch_size=jobs.BATCH * 2)
    mod = mx.mod.Module(jobs.mlp(mx))
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Zero())
    mod.set_params(jobs.start_params(mx, mod, seed=100), {})
    mod.fit(it, num_epoch=2, optimizer_params={"learning_rate": 0.3, "momentum": 0.9})
    for k, v in mod.get_params()[0].items():
        np.testing.assert_allclose(np.array(w0[k]), v.asnumpy(), rtol=1e-4, atol=1e-5)
