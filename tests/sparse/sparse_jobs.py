"""Worker functions of the multi-worker row_sparse tests (run by run_distributed): the
closed-form checks of MXNet's nightly dist_sync_kvstore.py / dist_async_kvstore.py."""

import numpy as np

RATE = 2
SHAPE = (4, 3)
BIG = (60, 5)  # split by whole rows over 2 servers: the tests set the bound to 100
NREPEAT = 3


def _diff(got, want):
    return float(
        np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64)).max()
        if np.size(want)
        else 0.0
    )


def _rsp_of(mx, dense):
    return mx.nd.array(dense).tostype("row_sparse")


def _update_rows(nworker, indices):
    """Row sets per rank as the nightly big-key test chooses them."""
    return [np.array(indices[:: (rank + 1) * 2]) for rank in range(nworker)]


def sync_row_sparse():
    """dist_sync: each worker pushes its rank's rows, pulls a random subset; returns the
    largest deviation from the closed form per check."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    rank, nworker = kv.rank, kv.num_workers
    kv.init(
        ["9", "10", "b9"],
        [
            mx.nd.ones(SHAPE).tostype("row_sparse"),
            mx.nd.ones(SHAPE).tostype("row_sparse"),
            mx.nd.ones(BIG).tostype("row_sparse"),
        ],
    )
    kv.set_optimizer(mx.optimizer.create("test", rescale_grad=RATE))
    out = {"rank": rank, "rows_pulled": [], "keys": {}}
    # check_row_sparse_keys
    v = np.zeros(SHAPE, "float32")
    v[rank % SHAPE[0]] = rank + 1
    worst = 0.0
    rng = np.random.RandomState(rank)
    for i in range(NREPEAT):
        kv.push("9", _rsp_of(mx, v))
        row_ids = rng.randint(SHAPE[0], size=SHAPE[0])
        val = mx.nd.zeros(SHAPE, stype="row_sparse")
        kv.row_sparse_pull("9", out=val, row_ids=mx.nd.array(row_ids).reshape((-1, 2)))
        updated = np.ones(SHAPE)
        for r in range(nworker):
            updated[r % SHAPE[0]] += (r + 1) * RATE * (i + 1)
        want = np.zeros(SHAPE)
        want[row_ids] = updated[row_ids]
        worst = max(worst, _diff(val.asnumpy(), want))
        out["rows_pulled"].append(val.indices.asnumpy().tolist() == sorted(set(row_ids)))
    out["keys"]["9"] = worst
    # check_row_sparse_keys_with_zeros
    worst = 0.0
    for _ in range(NREPEAT):
        kv.push("10", mx.nd.sparse.zeros("row_sparse", SHAPE))
        val = mx.nd.sparse.zeros("row_sparse", SHAPE)
        kv.row_sparse_pull("10", out=val, row_ids=mx.nd.array(np.arange(SHAPE[0])))
        worst = max(worst, _diff(val.asnumpy(), np.ones(SHAPE)))
        kv.row_sparse_pull("10", out=val, row_ids=mx.nd.array([]))
        worst = max(worst, _diff(val.asnumpy(), np.zeros(SHAPE)))
    out["keys"]["10"] = worst
    out["keys"]["b9"] = _big(mx, kv, rank, nworker)
    kv.close()
    return out


def _big(mx, kv, rank, nworker):
    """check_big_row_sparse_keys on a key split by rows over the servers."""
    rnd = np.random.RandomState(123)
    indices = np.argwhere(rnd.rand(BIG[0]) < 0.3).flatten()
    update_rows = _update_rows(nworker, indices)
    v = np.zeros(BIG, "float32")
    v[update_rows[rank]] = rank + 1
    worst = 0.0
    for i in range(NREPEAT):
        kv.push("b9", _rsp_of(mx, v))
        row_ids = np.random.RandomState(rank).randint(BIG[0], size=BIG[0])
        val = mx.nd.zeros(BIG, stype="row_sparse")
        kv.row_sparse_pull("b9", out=val, row_ids=mx.nd.array(row_ids))
        updated = np.ones(BIG)
        for r in range(nworker):
            updated[update_rows[r]] += (r + 1) * RATE * (i + 1)
        want = np.zeros(BIG)
        want[row_ids] = updated[row_ids]
        worst = max(worst, _diff(val.asnumpy(), want))
    return worst


def async_row_sparse():
    """dist_async: every worker pushes its rows NREPEAT times; after a barrier every row
    holds its closed-form total."""
    import distnet as mx

    kv = mx.kv.create("dist_async")
    rank, nworker = kv.rank, kv.num_workers
    kv.init("a", mx.nd.ones(BIG).tostype("row_sparse"))
    kv.set_optimizer(mx.optimizer.create("test", rescale_grad=RATE))
    v = np.zeros(BIG, "float32")
    v[rank :: nworker + 1] = rank + 1
    for _ in range(NREPEAT):
        kv.push("a", _rsp_of(mx, v))
    val = mx.nd.zeros(BIG, stype="row_sparse")
    kv.row_sparse_pull("a", out=val, row_ids=mx.nd.array(np.arange(BIG[0])))  # own pushes done
    kv.barrier()
    kv.row_sparse_pull("a", out=val, row_ids=mx.nd.array(np.arange(BIG[0])))
    want = np.ones(BIG)
    for r in range(nworker):
        want[r :: nworker + 1] += (r + 1) * RATE * NREPEAT
    err = ""
    kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    try:
        kv.push("a", _rsp_of(mx, v))
    except mx.base.MXNetError as e:
        err = str(e)
    kv.close()
    return {"rank": rank, "diff": _diff(val.asnumpy(), want), "compression_error": err}


# ---- gluon Trainer with a sparse-gradient embedding: 2 workers on halves of each batch ----
VOCAB, DIM, TBATCH, TSTEPS = 50, 4, 8, 3


def trainer_batches():
    """The fixed batches (ids, targets) every run uses."""
    rng = np.random.RandomState(4)
    return [(rng.randint(0, VOCAB, (TBATCH, 3)), rng.rand(TBATCH, 1)) for _ in range(TSTEPS)]


def train_embedding(kvstore, sparse, lo=0, hi=TBATCH, optimizer="sgd"):
    """Train Embedding + Dense on rows [lo, hi) of every batch; returns the weights."""
    import distnet as mx
    from distnet import autograd, gluon

    mx.random.seed(9)
    rsp_weight = sparse == "weight"  # a row_sparse table (SparseEmbedding), else dense
    net = gluon.nn.Sequential()
    if rsp_weight:
        net.add(gluon.contrib.nn.SparseEmbedding(VOCAB, DIM), gluon.nn.Dense(1))
    else:
        net.add(gluon.nn.Embedding(VOCAB, DIM, sparse_grad=sparse), gluon.nn.Dense(1))
    net.initialize(mx.init.Uniform(0.5))
    # the first forward creates the store (to pull rows), before step() could set the
    # scale: with a row_sparse table the scale is given up front (as in MXNet)
    scale = {"rescale_grad": 1.0 / TBATCH} if rsp_weight else {}
    trainer = gluon.Trainer(
        net.collect_params(), optimizer, {"learning_rate": 0.1, **scale}, kvstore=kvstore
    )
    for x, y in trainer_batches():
        with autograd.record():
            loss = ((net(mx.nd.array(x[lo:hi])) - mx.nd.array(y[lo:hi])) ** 2).sum()
        loss.backward()
        trainer.step(1 if rsp_weight else TBATCH)
    all_rows = mx.nd.arange(0, VOCAB)
    return [
        (p.row_sparse_data(all_rows) if p._stype == "row_sparse" else p.data()).asnumpy().tolist()
        for p in net.collect_params().values()
    ]


def trainer_half_batch(optimizer, sparse=True):
    """Worker r of 2 trains on half r of each batch through dist_sync (``sparse='weight'``:
    a row_sparse table pulled by rows)."""
    import os

    rank = int(os.environ["DMLC_WORKER_ID"])
    half = TBATCH // 2
    return train_embedding("dist_sync", sparse, rank * half, (rank + 1) * half, optimizer)


def sync_dense_pull_of_row_key():
    """dist_sync: every round each worker pushes rows of a row_sparse key, then pulls it
    into a dense array at once; the pull must see that round applied (closed form)."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    rank, nworker = kv.rank, kv.num_workers
    kv.init("d", mx.nd.ones(SHAPE).tostype("row_sparse"))
    kv.set_optimizer(mx.optimizer.create("test", rescale_grad=RATE))
    worst = 0.0
    for i in range(5):
        v = np.zeros(SHAPE, "float32")
        v[rank % SHAPE[0]] = rank + 1
        kv.push("d", _rsp_of(mx, v))
        out = mx.nd.zeros(SHAPE)
        kv.pull("d", out=out)
        want = np.ones(SHAPE)
        for r in range(nworker):
            want[r % SHAPE[0]] += (r + 1) * RATE * (i + 1)
        worst = max(worst, _diff(out.asnumpy(), want))
    kv.close()
    return {"rank": rank, "diff": worst}
