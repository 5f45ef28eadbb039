"""Generate tests/optimizer/mxnet_reference.{npz,json} with the real MXNet 1.9.1.

Run: /opt/mxnet-ref/bin/python tests/optimizer/make_mxnet_reference.py
Covers what tests/fixtures/mxnet/optimizers.* does not: weight decay, clipping and
rescaling on every optimizer, lr/wd multipliers by name, float16 multi_precision, a
learning-rate scheduler, and lists of parameters through one updater call.
"""

import json
import os
import warnings

import numpy as np
import mxnet as mx

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 4
rng = np.random.RandomState(7)
W0 = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
GRADS = rng.uniform(-2, 2, (STEPS, 3, 4)).astype(np.float32)

COMMON = {"wd": 0.03, "rescale_grad": 0.7, "clip_gradient": 0.9}
CASES = {
    "sgd_mom": ("sgd", dict(learning_rate=0.1, momentum=0.8, **COMMON)),
    "nag_mom": ("nag", dict(learning_rate=0.1, momentum=0.8, **COMMON)),
    "nag_nomom": ("nag", dict(learning_rate=0.1, **COMMON)),
    "adam": ("adam", dict(learning_rate=0.05, **COMMON)),
    "adagrad": ("adagrad", dict(learning_rate=0.1, **COMMON)),
    "rmsprop": ("rmsprop", dict(learning_rate=0.01, **COMMON)),
    "rmsprop_centered": (
        "rmsprop",
        dict(learning_rate=0.01, centered=True, clip_weights=0.8, **COMMON),
    ),
    "adadelta": ("adadelta", dict(**COMMON)),
    "adamax": ("adamax", dict(learning_rate=0.01, **COMMON)),
    "nadam": ("nadam", dict(learning_rate=0.01, **COMMON)),
    "ftrl": ("ftrl", dict(learning_rate=0.1, lamda1=0.05, **COMMON)),
    "ftml": ("ftml", dict(learning_rate=0.05, **COMMON)),
    "signum": ("signum", dict(learning_rate=0.01, momentum=0.8, wd_lh=0.02, **COMMON)),
    "signsgd": ("signum", dict(learning_rate=0.01, momentum=0.0, **COMMON)),
    "lamb": ("lamb", dict(learning_rate=0.01, **COMMON)),
    "lamb_nobias": ("lamb", dict(learning_rate=0.01, bias_correction=False, **COMMON)),
    "lars": ("lars", dict(learning_rate=0.1, momentum=0.9, eta=0.01, **COMMON)),
    "sgd_sched": (
        "sgd",
        dict(
            learning_rate=0.1,
            momentum=0.5,
            lr_scheduler=mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=0.1),
        ),
    ),
}


def run_case(name, kwargs):
    opt = mx.optimizer.create(name, **kwargs)
    up = mx.optimizer.get_updater(opt)
    w = mx.nd.array(W0)
    out = []
    for t in range(STEPS):
        up(0, mx.nd.array(GRADS[t]), w)
        out.append(w.asnumpy())
    return np.stack(out)


def run_multi():
    """Two named parameters through list calls, with lr/wd multipliers and idx2name."""
    idx2name = {0: "fc_weight", 1: "fc_bias"}
    opt = mx.optimizer.create(
        "sgd", learning_rate=0.1, momentum=0.9, wd=0.1, param_idx2name=idx2name
    )
    opt.set_lr_mult({"fc_bias": 2.0})
    up = mx.optimizer.get_updater(opt)
    ws = [mx.nd.array(W0), mx.nd.array(W0[0])]
    out0, out1 = [], []
    for t in range(STEPS):
        up([0, 1], [mx.nd.array(GRADS[t]), mx.nd.array(GRADS[t][1])], ws)
        out0.append(ws[0].asnumpy())
        out1.append(ws[1].asnumpy())
    return np.stack(out0), np.stack(out1)


def run_fp16():
    opt = mx.optimizer.create("sgd", learning_rate=0.1, momentum=0.9, multi_precision=True)
    up = mx.optimizer.get_updater(opt)
    w = mx.nd.array(W0, dtype="float16")
    out = []
    for t in range(STEPS):
        up(0, mx.nd.array(GRADS[t], dtype="float16"), w)
        out.append(w.asnumpy())
    return np.stack(out), up.states[0][1].asnumpy()


def main():
    arrays = {"w0": W0, "grads": GRADS}
    meta = {}
    for key, (name, kwargs) in CASES.items():
        arrays[key] = run_case(name, kwargs)
        meta[key] = {
            "name": name,
            "kwargs": {k: v for k, v in kwargs.items() if k != "lr_scheduler"},
        }
    meta["sgd_sched"]["scheduler"] = {"step": 1, "factor": 0.5, "base_lr": 0.1}
    arrays["multi_w"], arrays["multi_b"] = run_multi()
    arrays["fp16_w"], arrays["fp16_master"] = run_fp16()
    np.savez(os.path.join(HERE, "mxnet_reference.npz"), **arrays)
    with open(os.path.join(HERE, "mxnet_reference.json"), "w") as f:
        json.dump(
            {"mxnet_version": mx.__version__, "steps": STEPS, "cases": meta},
            f,
            indent=1,
            sort_keys=True,
        )


if __name__ == "__main__":
    main()
