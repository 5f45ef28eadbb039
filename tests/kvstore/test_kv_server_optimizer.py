"""distnet's real optimizers running on the parameter servers (3 workers, 2 servers):
exactly the weights a single-process updater gives for the same summed gradients,
optimizer states saved and loaded through the servers, float16 keys with a float32
master copy (multi_precision)."""

import os

import msgpack
import numpy as np
import pytest

pytest.importorskip("distnet.optimizer")
import distnet as mx  # noqa: E402

import kv_mx_jobs as jobs  # noqa: E402

pytestmark = pytest.mark.timeout(120)
HERE = os.path.dirname(os.path.abspath(__file__))

OPTIMIZERS = {
    "sgd": {
        "learning_rate": 0.1,
        "momentum": 0.9,
        "wd": 1e-3,
        "rescale_grad": 0.5,
        "multi_precision": True,
    },
    "adam": {"learning_rate": 0.01, "wd": 1e-3, "rescale_grad": 0.5, "multi_precision": True},
}


def _summed(step, key, workers=3):
    """The servers' sum: rank order, in the key's dtype."""
    total = jobs.gradient(0, step, key).copy()
    for r in range(1, workers):
        total += jobs.gradient(r, step, key)
    return total


def _single_process(name, params, reload=True):
    """The same steps through one process's updater, states saved and loaded alike.
    Returns the weights after every step and the states as saved."""
    upd = mx.optimizer.get_updater(mx.optimizer.create(name, **params))
    weights = {k: mx.nd.array(jobs.initial(k), dtype=jobs.OPT_KEYS[k][1]) for k in jobs.OPT_KEYS}
    hist, saved = [], None
    for step in range(jobs.OPT_STEPS):
        if step == jobs.SAVE_AT:
            saved = upd.get_states()
        if step == jobs.LOAD_AT and reload:
            upd.set_states(saved)
        for k, w in weights.items():
            upd(k, mx.nd.array(_summed(step, k), dtype=w.dtype), w)
        hist.append({str(k): w.asnumpy() for k, w in weights.items()})
    return hist, msgpack.unpackb(saved, raw=False)


def _arrays(state):
    """The ("nd", dtype, shape, bytes) leaves of a saved state."""
    if isinstance(state, list) and state and state[0] == "nd":
        return [state]
    if isinstance(state, list) and state and state[0] in ("tuple", "list"):
        return [a for s in state[1] for a in _arrays(s)]
    return []


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_servers_run_the_optimizer_exactly_as_one_process(run_distributed, tmp_path, name):
    params = OPTIMIZERS[name]
    job = run_distributed(
        jobs.server_optimizer,
        num_workers=3,
        num_servers=2,
        timeout=90,
        args=[name, params, str(tmp_path / "states.bin")],
        env={"DISTNET_KVSTORE_BIGARRAY_BOUND": "20", "DISTNET_KVSTORE_TIMEOUT": "60"},
    )
    job.check()
    want, saved = _single_process(name, params)
    assert len(job.workers) == 3
    for w in job.workers:
        assert w.result["rank"] == w.rank
        for step, (got, exp) in enumerate(zip(w.result["hist"], want)):
            for k, v in exp.items():
                arr = np.asarray(got[k], dtype=v.dtype)
                np.testing.assert_array_equal(arr, v, err_msg=f"{name} key {k} step {step}")
    # the reload mattered: with the newer states step LOAD_AT comes out differently
    stale, _ = _single_process(name, params, reload=False)
    assert not np.array_equal(stale[jobs.LOAD_AT]["3"], want[jobs.LOAD_AT]["3"])
    # the file holds each server's states (msgpack, no pickle): 'big' split in two halves,
    # and the float32 master copy of the float16 key exactly as one process saves it
    doc = msgpack.unpackb((tmp_path / "states.bin").read_bytes(), raw=False)
    servers = [dict(msgpack.unpackb(b, raw=False)["states"]) for b in doc["servers"]]
    assert len(servers) == 2 and all("big" in s for s in servers)
    assert [a[2] for s in servers for a in _arrays(s["big"])][:1] == [[15]]
    one = dict(saved["states"])
    (h_states,) = [s["h"] for s in servers if "h" in s]
    assert ["<f4", [6]] in [a[1:3] for a in _arrays(h_states)]
    assert h_states == one["h"]
    (k3,) = [s[3] for s in servers if 3 in s]
    assert k3 == one[3]
