"""Run the project's CPU benchmarks and write one markdown table, the one in the README.

    python scripts/bench/run_all.py                                   # distnet only
    python scripts/bench/run_all.py --mxnet /opt/mxnet-ref/bin/python --torch /tmp/t/bin/python
    python scripts/bench/run_all.py --mxnet PY --torch PY --contended --readme README.md
    python scripts/bench/run_all.py --mxnet PY --base /tmp/main --only gluon,module,cnn

Each benchmark family (import time, operator calls, Gluon and Module training, the
executor, LeNet convolutions, the kvstore, train_mnist.py end to end) runs through the
functions of its own script in ``scripts/bench/`` (bench_ops.py, bench_gluon.py, ...), in
a fresh process of the library's own interpreter, ``--runs`` times; each cell is the
median of those runs. Libraries take turns within every run, so a change of machine load
hits them alike. MXNet 1.9.1 is measured with ``--mxnet PYTHON``; PyTorch (CPU, eager
``nn.Module`` with the same layers) with ``--torch PYTHON``, or in this interpreter when it
imports torch. The table's header line describes the machine and its load.

``--readme FILE`` replaces the text between ``<!-- bench:begin -->`` and
``<!-- bench:end -->`` in FILE (written atomically); ``--out FILE`` writes the table alone.
``--contended`` runs the Gluon, Module and CNN families a second time next to two
busy-loop processes and adds those columns (the shared-machine case of issue 15).
``--quick`` runs every family with small sizes (a smoke test, not figures to publish).
``--threads N`` sets every library's BLAS/OpenMP threads to N; the default (0) leaves each
library its own (MXNet's and PyTorch's OpenMP defaults, distnet's load-aware policy of
``distnet/_threads.py``), which is what a user gets. ``--base ROOT`` is an A/B test: it
adds distnet imported from another checkout ROOT (same interpreter; ROOT holds the
``distnet``, ``kvstore`` and ``launcher`` packages), taking turns with this one in every
run, in extra columns. The README's table (every family, ``--contended``, 3 runs) takes
about 10 minutes on the 2-core machine with a light load.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
LIBS = ("distnet", "mxnet", "torch")
#: The column of ``--base ROOT``: distnet from another checkout, same interpreter (A/B).
BASE = "distnet-base"

# (family, row key, label, unit, higher is better); a row's cell is None where the
# library has no such workload.
ROWS = [
    ("import", "import", "`import` the library", "s", False),
    ("ops", "add", "`a + b` on 8x8 float32, one call", "µs", False),
    ("ops", "add_rec", "`a + b` under `autograd.record()`", "µs", False),
    ("gluon", "mlp_hybrid", "MLP training, Gluon hybridized, batch 64", "samples/s", True),
    (
        "gluon",
        "mlp_imperative",
        "MLP training, Gluon imperative (PyTorch eager)",
        "samples/s",
        True,
    ),
    (
        "gluon",
        "lenet_hybrid",
        "LeNet training, Gluon hybridized (PyTorch eager)",
        "samples/s",
        True,
    ),
    ("module", "fit64", "MLP `Module.fit`, batch 64", "samples/s", True),
    ("module", "fit256", "MLP `Module.fit`, batch 256", "samples/s", True),
    ("executor", "step", "MLP executor forward+backward, batch 64", "µs", False),
    ("conv", "lenet_nd", "LeNet training step through `nd.*` ops, batch 64", "samples/s", True),
    (
        "cnn",
        "resnet20",
        "ResNet-20 (CIFAR) training, Gluon hybridized, batch 64 of 3x32x32",
        "ms/batch",
        False,
    ),
    (
        "cnn",
        "lenet_tanh",
        "`train_mnist.py` LeNet (tanh) through Module, batch 64",
        "ms/batch",
        False,
    ),
    ("kvstore", "local", "kvstore `local` push+pull, 10 x 1M float32", "GB/s", True),
    ("kvstore", "dist", "`dist_sync` 2 workers + 1 server, 16 MB key, per worker", "GB/s", True),
    ("kvstore", "mpi", "MPI store allreduce, 2 ranks, 16 MB", "GB/s", True),
    ("train_mnist", "seconds", "`train_mnist.py` on Digits, `-n 2 -s 1`, 20 epochs", "s", False),
    ("train_mnist", "accuracy", "... its test accuracy", "%", True),
]
FAMILIES = list(dict.fromkeys(row[0] for row in ROWS))


def _bench(name):
    """Import one of the scripts in scripts/bench as a module."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    return __import__(name)


# ------------------------------------------------------------------ probes -------------
# Each probe runs in a fresh process of the library's interpreter and returns
# {row key: value}; `quick` shrinks the work.


def probe_import(lib, quick):
    """Seconds to import the library in a fresh interpreter (the cell is the median of
    the runs: one interpreter a run keeps the table within its 10 minutes)."""
    return {"import": _bench("bench_ops")._import_time(sys.executable, lib, 1)}


def probe_ops(lib, quick):
    """Microseconds per `a + b` call on 8x8 arrays, plain and recorded."""
    number = 200 if quick else 2000
    if lib == "torch":
        import timeit

        setup = "import torch; a = torch.ones(8, 8); b = torch.ones(8, 8){}"
        plain = min(timeit.repeat("a + b", setup.format(""), repeat=5, number=number))
        rec = min(
            timeit.repeat(
                "a + b",
                setup.format("; a.requires_grad_(); b.requires_grad_()"),
                repeat=5,
                number=number,
            )
        )
        return {"add": plain / number * 1e6, "add_rec": rec / number * 1e6}
    ops = _bench("bench_ops")
    return {
        "add": ops._time_snippet(lib, "a + b", False, 5, number),
        "add_rec": ops._time_snippet(lib, "a + b", True, 5, number),
    }


def probe_gluon(lib, quick):
    """Training samples/s of bench_gluon.py's cases (PyTorch: the same nets, eager)."""
    seconds = 0.3 if quick else 2.0
    if lib == "torch":
        return {
            "mlp_imperative": _torch_train("mlp", 64, seconds),
            "lenet_hybrid": _torch_train("lenet", 64, seconds),
        }
    return _bench("bench_gluon").run(lib, 64, seconds)


def _torch_train(kind, batch, seconds):
    """Samples/s of an eager PyTorch training loop (SGD, cross-entropy) on the CPU."""
    import numpy as np
    import torch

    net = _bench("bench_gpu").torch_net(torch, kind)  # the one PyTorch twin of our nets
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.RandomState(0)
    batches = [
        (
            torch.tensor(rng.rand(batch, 1, 28, 28), dtype=torch.float32),
            torch.tensor(rng.randint(0, 10, batch)),
        )
        for _ in range(8)
    ]

    def step(i):
        data, label = batches[i % len(batches)]
        opt.zero_grad()
        loss_fn(net(data), label).backward()
        opt.step()

    for i in range(5):
        step(i)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(n)
        n += 1
    return n * batch / (time.perf_counter() - start)


def probe_module(lib, quick):
    """Samples/s of one Module.fit epoch (bench_module.py) at batch 64 and 256."""
    samples = 6400 if quick else 30000  # 470 batches of 64 an epoch, after a warm-up epoch
    run = _bench("bench_module").run
    return {
        "fit64": run(lib, 64, 1, samples)["rates"][0],
        "fit256": run(lib, 256, 1, samples)["rates"][0],
    }


def probe_executor(lib, quick):
    """Microseconds per forward+backward of the seed MLP's bound executor."""
    ex = _bench("bench_executor")
    mx = __import__(lib)
    exe = ex.seed_mlp(mx).simple_bind(mx.cpu(), data=(64, 784))
    for key, value in ex.params(64).items():
        exe.arg_dict[key][:] = value

    def step():
        exe.forward(is_train=True)
        exe.backward()
        mx.nd.waitall()

    iters = 30 if quick else 300
    return {"step": ex.time_all({"step": step}, iters, 3)["step"][1]}


def probe_conv(lib, quick):
    """Samples/s of bench_conv.py's LeNet training step through nd.* operators."""
    res = _bench("bench_conv").run(lib, 64, 5 if quick else 30, 3 if quick else 10)
    return {"lenet_nd": res["lenet_samples_per_s"][1]}


def probe_cnn(lib, quick):
    """Milliseconds per training batch of bench_cnn.py's ResNet-20 and tanh LeNet."""
    cnn = _bench("bench_cnn")
    steps = 2 if quick else 6
    return {model: cnn.run(lib, model, steps)["ms"] for model in cnn.MODELS}


def probe_kvstore(lib, quick):
    """GB/s of bench_kvstore.py's local, dist_sync and MPI cases (MPI: distnet only); a
    case that fails is reported under "_skipped" and the others still count."""
    kv = _bench("bench_kvstore")
    cases = {
        "local": lambda: kv.bench_local(lib, 1),
        "dist": lambda: kv.bench_dist(sys.executable, lib, 1, 1),
    }
    if lib == "distnet":
        cases["mpi"] = lambda: kv.bench_mpi(1)["store"]
    out, skipped = {}, {}
    for row, case in cases.items():
        try:
            out[row] = case()
        except Exception as err:  # noqa: BLE001 - any failure of one case is reported
            last = (str(err).strip().splitlines() or [""])[-1]
            skipped[row] = f"{type(err).__name__}: {last}"
    if skipped:
        out["_skipped"] = skipped
    return out


def probe_train_mnist(lib, quick):
    """Wall seconds and test accuracy (%) of the README's distributed job, 2 workers."""
    epochs = "3" if quick else "20"
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "-n",
            "2",
            "-s",
            "1",
            "--",
            sys.executable,
            os.path.join(ROOT, "scripts", "train_mnist.py"),
            "--kv-store",
            "dist_sync",
            "--num-epochs",
            epochs,
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(f"train_mnist.py job failed:\n{out.stdout[-2000:]}")
    acc = [line for line in out.stdout.splitlines() if "Node[0] Test-accuracy=" in line]
    return {"seconds": seconds, "accuracy": 100 * float(acc[-1].split("=")[-1])}


PROBES = {
    "import": probe_import,
    "ops": probe_ops,
    "gluon": probe_gluon,
    "module": probe_module,
    "executor": probe_executor,
    "conv": probe_conv,
    "cnn": probe_cnn,
    "kvstore": probe_kvstore,
    "train_mnist": probe_train_mnist,
}
# Which libraries have each family's workloads.
SUPPORTED = {
    "import": LIBS,
    "ops": LIBS,
    "gluon": LIBS,
    "module": ("distnet", "mxnet"),
    "executor": ("distnet", "mxnet"),
    "conv": ("distnet", "mxnet"),
    "cnn": LIBS,
    "kvstore": ("distnet", "mxnet"),
    "train_mnist": ("distnet",),
}


# ------------------------------------------------------------------ driver -------------

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _probe_once(python, family, lib, quick, threads=0, timeout=1800, root=ROOT, tag=None):
    """Run one probe in a fresh `python` that imports `lib` from `root` first; {row:
    value}, or raises RuntimeError.

    The probe runs in its own session with its output in files, and the whole session
    is killed afterwards: a benchmark that leaves helper processes behind (a kvstore
    scheduler whose workers failed) can neither hang this run nor outlive it.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    if threads:  # numpy's OpenBLAS, MXNet's and PyTorch's OpenMP pools alike
        env.update({var: str(threads) for var in THREAD_VARS})
    cmd = [python, os.path.abspath(__file__), "--probe", family, "--lib", lib]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            cmd + (["--quick"] if quick else []),
            stdout=out,
            stderr=err,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = f"timeout after {timeout} s"
        finally:
            _kill_session(proc.pid)
            proc.wait()
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read().strip().splitlines()
    if code != 0 or not lines:
        last = (errors or ["no output"])[-1]
        raise RuntimeError(f"{family} on {tag or lib} failed (exit {code}): {last}")
    return json.loads(lines[-1])


def _kill_session(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def measure(pythons, families, runs, quick, threads=0, log=print, contended=(), base=None):
    """{(lib, row): [values of each run]} and [error notes]; libraries take turns. For
    families in `contended`, each probe runs a second time next to two busy-loop
    processes, its values under (lib + "@busy", row). `pythons[BASE]`, when present, runs
    distnet imported from the checkout `base`."""
    values, errors, failed = {}, [], set()
    for run in range(runs):
        for family in families:
            for lib, python in pythons.items():
                for busy in (False, True) if family in contended else (False,):
                    tag = lib + ("@busy" if busy else "")
                    module = "distnet" if lib == BASE else lib
                    if module not in SUPPORTED[family] or (family, tag) in failed:
                        continue
                    log(f"run {run + 1}/{runs}: {family} on {tag}")
                    root = base if lib == BASE else ROOT
                    loops = _bench("bench_cnn").start_busy_loops() if busy else []
                    start = time.perf_counter()
                    try:
                        result = _probe_once(
                            python, family, module, quick, threads, root=root, tag=tag
                        )
                    except RuntimeError as err:
                        failed.add((family, tag))
                        errors.append(str(err).splitlines()[0][:300])
                        continue
                    finally:
                        _bench("bench_cnn").stop_busy_loops(loops)
                    log(f"  {time.perf_counter() - start:.0f} s")
                    for row, reason in result.pop("_skipped", {}).items():
                        errors.append(f"{row} on {tag}: {reason}"[:300])
                    for row, value in result.items():
                        values.setdefault((tag, row), []).append(value)
    return values, errors


def _version(python, lib, root=None):
    code = f"import {lib}; print({lib}.__version__)"
    env = dict(os.environ, PYTHONPATH=root) if root else None
    try:
        return (
            subprocess.run(
                [python, "-c", code],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                cwd=root,  # `-c` puts the working folder first on sys.path
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _git_id(root):
    """`root`'s commit (short), or its folder name where it is no git checkout."""
    out = subprocess.run(
        ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return out.stdout.strip() or os.path.basename(os.path.abspath(root))


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        return "RAM unknown"


def _blas():
    """numpy's BLAS as numpy reports it ('scipy-openblas 0.3.27'), or ''."""
    import numpy as np

    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{deps.get('name', '')} {deps.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older numpy has no dict mode; the BLAS is optional
        return ""


def describe_machine(load_before, load_after):
    """One paragraph: CPU, cores, memory, OS, Python, numpy/BLAS, date, load."""
    import numpy as np

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} cores" + (
        f" ({usable} usable)" if usable and usable != os.cpu_count() else ""
    )
    blas = _blas()
    return (
        f"{_cpu_model()}, {cores}, {_memory_gib()}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, numpy "
        f"{np.__version__}{' (' + blas + ')' if blas else ''}. Measured "
        f"{datetime.date.today().isoformat()}; load average {load_before:.2f} before, "
        f"{load_after:.2f} after."
    )


def _fmt(value):
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.3f}"


def _ratio(ours, theirs, higher):
    if ours is None or theirs is None or not ours or not theirs:
        return "—"
    return f"{(ours / theirs if higher else theirs / ours):.2f}x"


def render(values, versions, machine, runs, errors, quick, threads=0):
    """The markdown: header paragraph, the table, notes."""
    have = [lib for lib in LIBS if versions.get(lib)]
    ab = bool(versions.get(BASE))
    names = {
        "distnet": f"distnet {versions['distnet']}",
        "mxnet": f"MXNet {versions.get('mxnet')}",
        "torch": f"PyTorch {versions.get('torch')} (CPU)",
        BASE: f"distnet {versions.get(BASE)}",
    }
    head = ["benchmark", "unit"] + [names[lib] for lib in have]
    if "mxnet" in have:
        head.insert(4, "distnet vs MXNet")
    head += [names[BASE], "distnet vs base"] if ab else []
    busy = [lib for lib in have + [BASE] if any(key[0] == lib + "@busy" for key in values)]
    head += [f"{names[lib]}, 2 busy loops" for lib in busy]
    if busy:
        head += ["busy: distnet vs MXNet"] * ("mxnet" in busy) + ["distnet busy / quiet"]
        head += ["busy: distnet vs base"] * (BASE in busy)
    pools = (
        f"{threads} BLAS/OpenMP thread(s) per process"
        if threads
        else "the libraries' default BLAS/OpenMP threads"
    )
    lines = [
        f"Machine: {machine} Each figure is the median of {runs} run(s), every run "
        f"a fresh process with {pools}"
        + (" (--quick: sizes too small to publish)" if quick else "")
        + '. "distnet vs MXNet" is how many times faster distnet is (> 1: faster).',
        "",
        "| " + " | ".join(head) + " |",
        "|---|---|" + "--:|" * (len(head) - 2),
    ]
    for family, row, label, unit, higher in ROWS:
        cells = {lib: values.get((lib, row)) for lib in have}
        med = {lib: statistics.median(v) if v else None for lib, v in cells.items()}
        if all(v is None for v in med.values()):
            continue
        out = [label, unit] + [_fmt(med[lib]) for lib in have]
        if "mxnet" in have:
            out.insert(4, _ratio(med["distnet"], med["mxnet"], higher))
        if ab:
            base = values.get((BASE, row))
            base = statistics.median(base) if base else None
            out += [_fmt(base), _ratio(med["distnet"], base, higher)]
        if busy:
            bmed = {
                lib: statistics.median(values[(lib + "@busy", row)])
                if values.get((lib + "@busy", row))
                else None
                for lib in busy
            }
            out += [_fmt(bmed[lib]) for lib in busy]
            if "mxnet" in busy:
                out.append(_ratio(bmed["distnet"], bmed.get("mxnet"), higher))
            out.append(_ratio(bmed.get("distnet"), med["distnet"], higher))
            if BASE in busy:
                out.append(_ratio(bmed.get("distnet"), bmed[BASE], higher))
        lines.append("| " + " | ".join(out) + " |")
    lines += [
        "",
        "MLP: 784-128-64-10 (ReLU); LeNet: conv 20@5x5, pool, conv 50@5x5, pool, "
        "dense 128, dense 10; SGD; 28x28 inputs. ResNet-20 and the tanh LeNet: "
        '`scripts/bench/bench_cnn.py`. "2 busy loops": the same probe next to two '
        "`while True: pass` processes (`--contended`). Produced by "
        "`scripts/bench/run_all.py`.",
    ]
    lines += [f"Not measured: {e}" for e in dict.fromkeys(errors)]
    return "\n".join(lines) + "\n"


def write_atomic(path, text):
    """Write `text` to `path` through a temp file in the same folder and os.replace."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".run_all.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def update_readme(path, table):
    """Replace the text between the bench markers in `path` with `table`."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no '{BEGIN}' ... '{END}' section to update")
    write_atomic(path, text[: start + len(BEGIN)] + "\n" + table + text[end:])


def _torch_python(arg):
    """The interpreter to measure PyTorch with: --torch, else this one if it has torch."""
    if arg:
        return arg
    found = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    return sys.executable if found.returncode == 0 else None


def main(argv=None):
    """Command line: measure, render, write."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mxnet", metavar="PYTHON", help="an interpreter with MXNet 1.9.1")
    p.add_argument("--torch", metavar="PYTHON", help="an interpreter with PyTorch (CPU)")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    p.add_argument(
        "--only",
        default=",".join(FAMILIES),
        help="families to run (default: all): " + ",".join(FAMILIES),
    )
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS/OpenMP threads per process (default 0: each library's own default, "
        "distnet's load-aware policy included)",
    )
    p.add_argument(
        "--contended",
        nargs="?",
        const="gluon,module,cnn",
        default="",
        metavar="FAMILIES",
        help="also run these families (default gluon,module,cnn) next to two "
        "busy-loop processes, in extra columns",
    )
    p.add_argument(
        "--base",
        metavar="ROOT",
        help="A/B: also run distnet imported from the checkout ROOT (e.g. `git worktree "
        "add /tmp/base main`), in turns with this one, in extra columns",
    )
    p.add_argument("--out", help="write the table to this file")
    p.add_argument("--raw", help="write every run's value to this JSON file (the spread)")
    p.add_argument("--readme", help="update the bench section of this README")
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--lib", default="distnet", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        print(json.dumps(PROBES[args.probe](args.lib, args.quick)))
        return 0
    families = [f for f in args.only.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        p.error(f"unknown families {unknown}; choose from {FAMILIES}")
    pythons = {"distnet": sys.executable, "mxnet": args.mxnet, "torch": _torch_python(args.torch)}
    if args.base:
        pythons[BASE] = sys.executable
    pythons = {lib: py for lib, py in pythons.items() if py}
    versions = {lib: _version(py, lib) for lib, py in pythons.items() if lib != BASE}
    if args.base:
        base = _version(sys.executable, "distnet", args.base)
        versions[BASE] = base and f"{base} ({_git_id(args.base)}, base)"
    missing = [lib for lib in pythons if not versions[lib]]
    if missing:
        p.error(f"cannot import {missing} with the given interpreter(s)")
    load_before = os.getloadavg()[0]
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    contended = [f for f in args.contended.split(",") if f]
    values, errors = measure(
        pythons, families, max(args.runs, 1), args.quick, args.threads, log, contended, args.base
    )
    table = render(
        values,
        versions,
        describe_machine(load_before, os.getloadavg()[0]),
        max(args.runs, 1),
        errors,
        args.quick,
        args.threads,
    )
    if args.out:
        write_atomic(args.out, table)
    if args.raw:
        raw = {f"{lib} {row}": runs for (lib, row), runs in sorted(values.items())}
        write_atomic(args.raw, json.dumps(raw, indent=1) + "\n")
    if args.readme:
        update_readme(args.readme, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
