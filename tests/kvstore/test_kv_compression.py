"""fp16 gradient compression (a distnet extension): float16 on the wire, float32 sums.

Closed forms: float16(1/3) = 0.333251953125, float16(0.1) = 0.0999755859375, 7e4 is
beyond float16 (max 65504) and arrives as inf, -2e-8 flushes to -0 (below the
smallest subnormal), and 1 + 2**-11 is exact in float32 but not in float16 (so it
proves the servers add in float32).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import distnet as mx
import kv_harness as harness
import kvstore
from kvstore import KVStoreError
from kvstore.compression import Fp16Compression, decode_push, make_compression

pytestmark = pytest.mark.timeout(90)

THIRD16 = 0.333251953125
TENTH16 = 0.0999755859375
HERE = os.path.dirname(os.path.abspath(__file__))
# kv_compression_jobs.fp16_sums: rank 0 pushes PUSHED[0], rank 1 PUSHED[1] (round 2: twice)
ROUND_ONE = [1.0 + 2.0**-11, 2 * THIRD16, np.inf, -2.5 + TENTH16, 0.0]
# 2/3 -> 0.66650390625 in float16, 0.2 -> 0.199951171875, -4e-8 -> -2**-24 (a subnormal)
ROUND_TWO = [2.0 + 2.0**-10, 2 * 0.66650390625, np.inf, -5.0 + 0.199951171875, -(2.0**-24)]
SPLIT_SUM = THIRD16 + 0.66650390625  # pushpull of (r + 1) / 3 from both ranks


def test_fp16_sends_half_the_bytes_and_rounds_each_value():
    comp = make_compression({"type": "fp16"})
    g = np.array([1.0, 1 / 3, 70000.0, 0.1, -2e-8, 2.0**-11], np.float32)
    q = comp.quantize("k", g)
    assert q.dtype == np.float16 and q.nbytes == g.nbytes // 2
    assert q.astype(np.float64).tolist() == [1.0, THIRD16, np.inf, TENTH16, -0.0, 2.0**-11]
    back = comp.roundtrip("k", g)
    assert back.dtype == np.float32 and back.tolist() == q.astype(np.float32).tolist()
    assert comp.params() == {"type": "fp16"}


def test_unknown_or_malformed_compression_is_named():
    with pytest.raises(KVStoreError, match=r"Unknown type for gradient compression '1bit'"):
        make_compression({"type": "1bit"})
    with pytest.raises(KVStoreError, match=r"\{'type': 'fp16'\}"):
        make_compression("fp16")
    with pytest.raises(KVStoreError, match="fp16 compression takes"):
        Fp16Compression.from_params({"type": "fp16", "threshold": 0.5})
    kv = mx.kv.create("local")
    with pytest.raises(mx.base.MXNetError, match="Unknown type for gradient compression"):
        kv.set_gradient_compression({"type": "int8"})


def test_server_decodes_fp16_and_refuses_a_wrong_payload():
    got = decode_push({"type": "fp16"}, np.array([1, 0.5], np.float16), 2, np.float32, "push")
    assert got.dtype == np.float32 and got.tolist() == [1.0, 0.5]
    with pytest.raises(KVStoreError, match=r"push of key 'w': malformed fp16 payload \(3 values"):
        decode_push({"type": "fp16"}, np.zeros(3, np.float16), 2, np.float32, "push of key 'w'")
    with pytest.raises(KVStoreError, match="malformed fp16 payload .* of float32"):
        decode_push({"type": "fp16"}, np.zeros(2, np.float32), 2, np.float32, "push")
    # a 2bit header from a worker predating the "type" field still decodes
    two = decode_push({"threshold": 0.5}, np.array([0b1001], np.uint8), 2, np.float32, "push")
    assert two.tolist() == [0.5, -0.5]


@pytest.mark.parametrize("name", ["local", "device"])
def test_local_stores_sum_fp16_values_in_float32(name):
    kv = kvstore.create(name)
    kv.set_gradient_compression({"type": "fp16"})
    kv.init("w", np.zeros(3, np.float32))
    kv.push(
        "w", [np.array([1.0, 1 / 3, 70000], np.float32), np.array([2.0**-11, 0, 1], np.float32)]
    )
    out = np.empty(3, np.float32)
    kv.pull("w", out)
    assert out.tolist() == [1.0 + 2.0**-11, np.float32(THIRD16), np.inf]


def test_trainer_with_fp16_compression_rounds_the_gradient():
    net = mx.gluon.nn.Dense(1, in_units=1, use_bias=False)
    net.initialize(mx.init.Constant(0.0), ctx=[mx.cpu(0), mx.cpu(1)])
    tr = mx.gluon.Trainer(
        net.collect_params(),
        "sgd",
        {"learning_rate": 1.0},
        kvstore="device",
        compression_params={"type": "fp16"},
    )
    with mx.autograd.record():
        losses = [net(mx.nd.array([[1 / 3]], ctx=c)) for c in (mx.cpu(0), mx.cpu(1))]
    mx.autograd.backward(losses)
    tr.step(1)
    w = net.weight.data(mx.cpu(0)).asnumpy()
    assert w.tolist() == [[-2 * np.float32(THIRD16)]]


def test_dist_sync_fp16_sums_in_float32_across_workers_and_servers():
    workers, infra = harness.run_job(
        "kv_compression_jobs:fp16_sums",
        2,
        2,
        timeout=60,
        extra={"DISTNET_KVSTORE_BIGARRAY_BOUND": "10"},
    )
    assert all(p.code == 0 for p in workers + infra), harness.explain(workers + infra)
    for rank, p in enumerate(workers):
        got = p.result
        assert got["rank"] == rank
        assert got["res"] == [ROUND_ONE, ROUND_TWO]
        assert got["split"] == [SPLIT_SUM] * 2  # both servers' parts


def test_mpi_store_fp16_matches_the_parameter_server(tmp_path):
    """The same closed forms through the MPI store's allreduce (2 ranks under mpiexec)."""
    pytest.importorskip("mpi4py")
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.access(mpiexec, os.X_OK):
        pytest.skip("mpiexec not installed (pip install 'distnet[mpi]')")
    script = (
        f"import json, sys; sys.path.insert(0, {HERE!r}); import kv_compression_jobs as j; "
        f"r = j.fp16_sums(); open({str(tmp_path)!r} + '/%d' % r['rank'], 'w').write(json.dumps(r))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(HERE))
    proc = subprocess.run(
        [mpiexec, "-n", "2", sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rank in range(2):
        got = json.loads((tmp_path / str(rank)).read_text())
        assert got["res"] == [ROUND_ONE, ROUND_TWO] and got["split"] == [SPLIT_SUM] * 2
