"""Benchmark ImageRecordIter: images per second decoded and augmented, distnet and MXNet.

    python scripts/bench/bench_image_iter.py                       # distnet only
    python scripts/bench/bench_image_iter.py --mxnet /work/mxvenv/bin/python   # side by side

Two RecordIO files are written first (by distnet's encoder) in --data: ``jpeg224``, 512
JPEG images of 256x(256..340) pixels read as 3x224x224 with a random crop, random mirror
and mean/std normalisation (the ImageNet recipe); ``cifar32``, 8192 JPEG images of 32x32
read with pad 4, random 32x32 crop and mirror (the CIFAR recipe). Each run iterates one
epoch in a fresh process after one warm-up batch; figures are medians of --runs runs,
interleaved between the frameworks, for 1 and 2 decoding threads (preprocess_threads).
The load average is printed before and after: the figures depend on it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = {
    "jpeg224": dict(
        count=512,
        batch_size=32,
        data_shape=(3, 224, 224),
        rand_crop=True,
        rand_mirror=True,
        mean_r=123.68,
        mean_g=116.28,
        mean_b=103.53,
        std_r=58.395,
        std_g=57.12,
        std_b=57.375,
    ),
    "cifar32": dict(
        count=8192,
        batch_size=128,
        data_shape=(3, 32, 32),
        rand_crop=True,
        rand_mirror=True,
        pad=4,
        fill_value=0,
        mean_r=125.3,
        mean_g=123.0,
        mean_b=113.9,
        std_r=63.0,
        std_g=62.1,
        std_b=66.7,
    ),
}


def make_data(folder):
    """Write <case>.rec/.idx in ``folder`` (smooth random pictures, JPEG quality 90)."""
    sys.path.insert(0, ROOT)
    import numpy as np
    from distnet import recordio
    from distnet.image import _codec

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for case, spec in CASES.items():
        path = os.path.join(folder, case)
        if os.path.exists(path + ".rec"):
            continue
        writer = recordio.MXIndexedRecordIO(path + ".idx", path + ".rec", "w")
        for i in range(spec["count"]):
            h, w = (256, int(rng.integers(256, 341))) if case == "jpeg224" else (32, 32)
            small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
            img = np.repeat(np.repeat(small, 8, 0), 8, 1)[:h, :w]
            img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
            header = recordio.IRHeader(0, float(i % 10), i, 0)
            writer.write_idx(i, recordio.pack(header, _codec.encode(img, 90, ".jpg")))
        writer.close()


def run_one(framework, folder, case, threads):
    """Images per second of one epoch of ``case`` (after one warm-up batch)."""
    if framework == "mxnet":
        import mxnet as mx
    else:
        sys.path.insert(0, ROOT)
        import distnet as mx
    spec = dict(CASES[case])
    spec.pop("count")
    path = os.path.join(folder, case)
    it = mx.io.ImageRecordIter(
        path_imgrec=path + ".rec", path_imgidx=path + ".idx", preprocess_threads=threads, **spec
    )
    next(it)
    tic = time.perf_counter()
    seen = spec["batch_size"]
    for batch in it:
        batch.data[0].asnumpy()  # MXNet's arrays are asynchronous: wait for the data
        seen += spec["batch_size"] - batch.pad
    return (
        (seen - spec["batch_size"]) / (time.perf_counter() - tic)
        if seen > spec["batch_size"]
        else float("nan")
    )


def measure(python, framework, folder, case, threads):
    """Run ``run_one`` in a fresh process of ``python``; its images/s."""
    out = subprocess.run(
        [
            python,
            os.path.abspath(__file__),
            "--one",
            framework,
            "--data",
            folder,
            "--case",
            case,
            "--threads",
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=os.path.join(ROOT, ".bench_data", "image_iter"))
    p.add_argument("--mxnet", help="a Python with MXNet 1.x, to run it side by side")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cases", default="jpeg224,cifar32")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--one", choices=("distnet", "mxnet"), help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        rate = run_one(args.one, args.data, args.case, int(args.threads))
        print(json.dumps({"images_per_s": rate}))
        return 0
    make_data(args.data)
    print(f"load average before: {open('/proc/loadavg').read().strip()}", flush=True)
    frameworks = [("distnet", sys.executable)] + ([("mxnet", args.mxnet)] if args.mxnet else [])
    for case in args.cases.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            rates = {name: [] for name, _ in frameworks}
            for _ in range(args.runs):  # interleaved runs
                for name, python in frameworks:
                    rates[name].append(measure(python, name, args.data, case, threads))
            line = f"{case:8s} threads={threads}: " + ", ".join(
                f"{name} {statistics.median(r):8.1f} images/s (runs {', '.join(f'{x:.0f}' for x in r)})"
                for name, r in rates.items()
            )
            if args.mxnet:
                line += (
                    f"; distnet/MXNet = "
                    f"{statistics.median(rates['distnet']) / statistics.median(rates['mxnet']):.2f}"
                )
            print(line, flush=True)
    print(f"load average after: {open('/proc/loadavg').read().strip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
