"""Learning-rate schedules against MXNet 1.9.1's values, warmup, errors, descriptions."""

import json
import logging
import os

import msgpack
import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet", "lr_schedulers.json")
CASES = {k: v for k, v in json.load(open(FIX)).items() if isinstance(v, dict) and "values" in v}


def _build(ctor):
    return eval(
        ctor,
        {
            name: getattr(mx.lr_scheduler, name)
            for name in (
                "FactorScheduler",
                "MultiFactorScheduler",
                "PolyScheduler",
                "CosineScheduler",
            )
        },
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_match_mxnet(case):
    sched = _build(CASES[case]["ctor"])
    got = [sched(i) for i in range(len(CASES[case]["values"]))]
    assert got == pytest.approx(CASES[case]["values"], rel=1e-12, abs=1e-15)


def test_factor_logs_each_change(caplog):
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, stop_factor_lr=0.03, base_lr=0.1)
    with caplog.at_level(logging.INFO):
        for i in range(8):
            sched(i)
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == [
        "Update[3]: Change learning rate to 5.00000e-02",
        "Update[5]: now learning rate arrived at 3.00000e-02, will not change in the future",
        "Update[7]: now learning rate arrived at 3.00000e-02, will not change in the future",
    ]


@pytest.mark.parametrize(
    "ctor,err",
    [
        ("FactorScheduler(step=0)", "greater or equal than 1"),
        ("FactorScheduler(step=2, factor=2)", "no more than 1"),
        ("FactorScheduler(step=2, base_lr=0.1, warmup_begin_lr=0.5)", "higher than warmup"),
        ("FactorScheduler(step=2, warmup_mode='cubic')", "linear and constant"),
        ("MultiFactorScheduler(step=[3, 2])", "increasing"),
        ("PolyScheduler(max_update=0)", "strictly positive"),
        ("CosineScheduler(max_update=0)", "strictly positive"),
    ],
)
def test_bad_arguments(ctor, err):
    with pytest.raises(ValueError, match=err):
        _build(ctor)


def test_wrong_types_are_named():
    with pytest.raises(MXNetError, match="max_update must be an int"):
        mx.lr_scheduler.PolyScheduler(max_update=2.5)
    with pytest.raises(MXNetError, match="warmup_steps must be an int"):
        mx.lr_scheduler.CosineScheduler(10, warmup_steps=1.5)
    with pytest.raises(MXNetError, match="non-empty list"):
        mx.lr_scheduler.MultiFactorScheduler(step=5)


@pytest.mark.parametrize(
    "ctor",
    [
        "FactorScheduler(step=3, factor=0.5, base_lr=0.1, warmup_steps=2, warmup_begin_lr=0.01)",
        "MultiFactorScheduler(step=[4, 9], factor=0.3, base_lr=1.0)",
        "PolyScheduler(max_update=20, base_lr=0.1, pwr=3, final_lr=0.01, warmup_steps=3)",
        "CosineScheduler(max_update=20, base_lr=0.1, final_lr=0.0)",
    ],
)
def test_description_resumes_mid_schedule(ctor):
    sched = _build(ctor)
    for i in range(12):
        sched(i)
    name, params = msgpack.unpackb(msgpack.packb(list(sched.describe())), raw=False)
    clone = mx.lr_scheduler.from_description((name, params))
    assert type(clone) is type(sched)
    assert [clone(i) for i in range(12, 25)] == [sched(i) for i in range(12, 25)]


def test_create_by_short_name_and_errors():
    sched = mx.lr_scheduler.create("cosine", max_update=10, base_lr=0.5)
    assert isinstance(sched, mx.lr_scheduler.CosineScheduler) and sched(0) == 0.5
    with pytest.raises(MXNetError, match="unknown learning-rate scheduler 'nope'"):
        mx.lr_scheduler.create("nope")
    with pytest.raises(MXNetError, match="unknown parameters"):
        mx.lr_scheduler.from_description(("FactorScheduler", {"step": 2, "bogus": 1}))
    with pytest.raises(MXNetError, match="pair"):
        mx.lr_scheduler.from_description("FactorScheduler")
