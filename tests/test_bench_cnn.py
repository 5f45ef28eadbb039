"""scripts/bench: the convolutional workloads of bench_cnn.py and run_all's --contended."""

import os
import shutil
import subprocess
import sys

import numpy as np

import distnet as mx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts", "bench"))
import bench_cnn  # noqa: E402


def _resnet20_weights():
    """Weights of CIFAR ResNet-20 v1 with 1x1 projection shortcuts, counted by hand."""
    conv = lambda cin, cout, k: cin * cout * k * k  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731  (gamma, beta; moving stats are not trained)
    total = conv(3, 16, 3) + bn(16)
    cin = 16
    for cout in (16, 32, 64):
        for i in range(3):
            total += conv(cin, cout, 3) + bn(cout) + conv(cout, cout, 3) + bn(cout)
            if cin != cout:
                total += conv(cin, cout, 1) + bn(cout)
            cin = cout
    return total + 64 * 10 + 10


def test_resnet20_is_the_cifar_network():
    net = bench_cnn._resnet20(mx)
    net.initialize()
    out = net(mx.nd.ones((2, 3, 32, 32)))
    assert out.shape == (2, 10)
    trained = sum(
        int(np.prod(p.shape)) for p in net.collect_params().values() if p.grad_req != "null"
    )
    assert trained == _resnet20_weights() == 272_474
    convs = [n for n in net.collect_params() if n.endswith("weight") and "conv" in n]
    assert len(convs) == 19 + 2  # 19 3x3 layers, 2 projection shortcuts


def test_both_workloads_train_and_report_wall_and_cpu_time(monkeypatch):
    monkeypatch.setattr(bench_cnn, "BATCH", 8)  # the code path, not the figure
    for model in bench_cnn.MODELS:
        res = bench_cnn.run("distnet", model, 1)
        assert set(res) == {"ms", "cpu_ms"} and res["ms"] > 0 and res["cpu_ms"] > 0


def _run_all(tmp_path, *args):
    """run_all.py --quick, one run of the cheap `ops` family: (stderr, table lines)."""
    out = tmp_path / "table.md"
    res = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "bench", "run_all.py"), "--quick"]
        + ["--runs", "1", "--only", "ops", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ, PYTHONPATH=REPO),
    )
    assert res.returncode == 0, res.stderr
    return res.stderr, out.read_text().splitlines()


def test_run_all_contended_adds_busy_columns_and_stops_its_loops(tmp_path):
    _, lines = _run_all(tmp_path, "--contended", "ops")
    head = next(line for line in lines if line.startswith("| benchmark |"))
    assert "2 busy loops" in head and head.endswith("| distnet busy / quiet |")
    row = next(line for line in lines if line.startswith("| `a + b` on 8x8"))
    assert row.count("|") == head.count("|")
    assert float(row.split(" | ")[-2].replace(",", "")) > 0  # the busy figure
    left = subprocess.run(
        ["pgrep", "-f", "while True: pass", "-P", str(os.getpid())], capture_output=True, text=True
    )
    assert left.stdout.strip() == ""


def test_run_all_base_adds_an_interleaved_ab_column(tmp_path):
    """--base ROOT runs distnet imported from ROOT in turns with this checkout."""
    base = tmp_path / "old"
    for package in ("distnet", "kvstore", "launcher"):  # a checkout's packages
        shutil.copytree(
            os.path.join(REPO, package), base / package, ignore=shutil.ignore_patterns("*.pyc")
        )
    init = base / "distnet" / "__init__.py"
    text = init.read_text().replace('__version__ = "', '__version__ = "9.9-')
    mark = (
        "import sys as _s\nwith open(__file__ + '.argv', 'a') as _f:\n    _f.write(repr(_s.argv))\n"
    )
    init.write_text(text + mark)
    log, lines = _run_all(tmp_path, "--base", str(base))
    assert "run 1/1: ops on distnet-base" in log
    head = next(line for line in lines if line.startswith("| benchmark |"))
    assert head.endswith("| distnet 9.9-0.1.0 (old, base) | distnet vs base |")
    row = next(line for line in lines if line.startswith("| `a + b` on 8x8"))
    assert row.count("|") == head.count("|")
    assert float(row.split(" | ")[-2]) > 0 and row.split(" | ")[-1].endswith("x |")
    assert "'--probe', 'ops'" in (base / "distnet" / "__init__.py.argv").read_text()
