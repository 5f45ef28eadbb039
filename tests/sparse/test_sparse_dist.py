"""row_sparse keys in real multi-process jobs: MXNet's nightly closed-form checks (each
worker pushes its rank's rows, pulls a subset) on dist_sync and dist_async, a key split
by rows over two servers, and MXNet's no-compression rule for sparse pushes."""

import numpy as np
import pytest

import sparse_jobs as jobs

pytestmark = pytest.mark.timeout(150)

ENV = {"DISTNET_KVSTORE_BIGARRAY_BOUND": "100", "DISTNET_KVSTORE_TIMEOUT": "60"}


def test_dist_sync_row_sparse_closed_form(run_distributed):
    job = run_distributed(jobs.sync_row_sparse, num_workers=3, num_servers=2, timeout=120, env=ENV)
    job.check()
    assert len(job.workers) == 3
    for w in job.workers:
        assert w.result["keys"] == {"9": 0.0, "10": 0.0, "b9": 0.0}, w.result
        assert all(w.result["rows_pulled"]), w.result


def test_dist_async_row_sparse_totals_and_compression_rule(run_distributed):
    job = run_distributed(jobs.async_row_sparse, num_workers=2, num_servers=2, timeout=120, env=ENV)
    job.check()
    for w in job.workers:
        assert w.result["diff"] == 0.0, w.result
        assert (
            "Gradient compression for row sparse storage type is not supported"
            in w.result["compression_error"]
        )


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("sparse", [True, "weight"], ids=["sparse_grad", "row_sparse_weight"])
def test_dist_trainer_sparse_grads_equal_one_process(run_distributed, optimizer, sparse):
    """Two workers on halves of each batch, row_sparse gradients summed on the servers and
    applied lazily there == one process on the whole batch (lazy sgd/adam). With
    ``'weight'`` the table is a row_sparse Parameter (SparseEmbedding) the servers hold,
    rows pulled per batch."""
    job = run_distributed(
        jobs.trainer_half_batch,
        num_workers=2,
        num_servers=1,
        timeout=120,
        args=[optimizer, sparse],
        env=ENV,
    )
    job.check()
    want = jobs.train_embedding(None, True, optimizer=optimizer)
    for w in job.workers:
        for got, exp in zip(w.result, want):
            np.testing.assert_allclose(np.asarray(got), np.asarray(exp), rtol=1e-5, atol=1e-6)


def test_dist_sync_dense_pull_of_row_sparse_key_sees_the_round(run_distributed):
    """A dense pull right after a row_sparse push waits for that sync round (5 rounds,
    3 workers, the key split by rows over 2 servers below the bound too)."""
    job = run_distributed(
        jobs.sync_dense_pull_of_row_key, num_workers=3, num_servers=2, timeout=120, env=ENV
    )
    job.check()
    assert [w.result["diff"] for w in job.workers] == [0.0, 0.0, 0.0]
