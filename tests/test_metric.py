"""Metrics against MXNet 1.9.1's values, names and configs; create/registry; input types."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet")
META = json.load(open(os.path.join(FIX, "metrics.json")))
DATA = np.load(os.path.join(FIX, "metrics_inputs.npz"))
INPUTS = {
    "cls": ("labels", "preds"),
    "bin": ("bl", "bp"),
    "reg": ("rl", "r"),
    "loss": ("labels", "losses"),
}
NS = {k: getattr(mx.metric, k) for k in mx.metric.__all__}


def _same(got, want):
    name, value = got
    assert name == want[0]
    np.testing.assert_allclose(
        np.array(value, float), np.array(want[1], float), rtol=1e-6, equal_nan=True
    )


def _feed(metric, kind, wrap):
    lab, pred = INPUTS[kind]
    firsts = []
    for i in (1, 2):
        labels, preds = wrap(DATA[f"{lab}{i}"]), wrap(DATA[f"{pred}{i}"])
        metric.update([labels], [preds])
        firsts.append(metric.get())
    return firsts[0]


@pytest.mark.parametrize("case", sorted(META["cases"]))
@pytest.mark.parametrize("wrap", [nd.array, np.asarray], ids=["ndarray", "numpy"])
def test_values_match_mxnet(case, wrap):
    want = META["cases"][case]
    metric = eval(want["ctor"].replace("mx.metric.", ""), NS)
    first = _feed(metric, want["kind"], wrap)
    _same(first, want["get_after_first"])
    _same(metric.get(), want["get"])
    assert metric.name == want["name"]
    if case != "pearsonr_micro":  # MXNet reports 0 here; distnet the streaming value
        _same(metric.get_global(), want["get_global"]["value"])
    if want["num_inst"] is not None:
        assert metric.num_inst == want["num_inst"]
        assert metric.sum_metric == pytest.approx(want["sum_metric"], rel=1e-6)
    assert metric.get_config() == want["config"]["value"]
    metric.reset()
    _same(metric.get(), want["get_after_reset"])


def test_pearson_micro_global_equals_streaming_value():
    metric = mx.metric.PearsonCorrelation(average="micro")
    _feed(metric, "reg", nd.array)
    _same(metric.get_global(), META["cases"]["pearsonr_micro"]["get"])
    lab = np.concatenate([DATA["rl1"].ravel(), DATA["rl2"].ravel()])
    pred = np.concatenate([DATA["r1"].ravel(), DATA["r2"].ravel()])
    assert metric.get()[1] == pytest.approx(np.corrcoef(lab, pred)[0, 1], rel=1e-9)


@pytest.mark.parametrize("alias", sorted(META["create_aliases"]))
def test_create_aliases(alias):
    want = META["create_aliases"][alias]
    if not want.get("ok", True):
        with pytest.raises(TypeError):
            mx.metric.create(alias)
        return
    kwargs = {"top_k": 5} if "top_k" in alias else {}
    metric = mx.metric.create(alias, **kwargs)
    assert type(metric).__name__ == want["class"]
    assert metric.name == want["name"]


def test_local_and_global_statistics():
    acc = mx.metric.Accuracy()
    acc.update([nd.array([1, 0])], [nd.array([[0, 1], [0, 1]])])
    acc.reset_local()
    acc.update([nd.array([1, 1])], [nd.array([[0, 1], [0, 1]])])
    assert acc.get() == ("accuracy", 1.0)
    assert acc.get_global() == ("accuracy", 0.75)
    assert acc.get_global_name_value() == [("accuracy", 0.75)]
    assert str(acc) == "EvalMetric: {'accuracy': 1.0}"
    assert str(mx.metric.Accuracy()) == "EvalMetric: {'accuracy': nan}"


def test_accuracy_with_class_labels_and_axis():
    acc = mx.metric.create("acc", axis=0)
    acc.update(nd.array([0, 2]), nd.array([[1, 0], [0, 0], [0, 1]]))  # single arrays
    assert acc.get()[1] == 1.0
    with pytest.raises(ValueError, match="does not match"):
        mx.metric.Accuracy().update([nd.array([1, 2, 3])], [nd.array([1, 2])])


def test_composite_and_list_create():
    comp = mx.metric.create(["acc", "mse", mx.metric.TopKAccuracy(top_k=2)])
    assert isinstance(comp, mx.metric.CompositeEvalMetric)
    comp.update([nd.array([1, 0])], [nd.array([[0.2, 0.8], [0.3, 0.7]])])
    names, values = comp.get()
    assert names == ["accuracy", "mse", "top_k_accuracy_2"]
    assert values[0] == 0.5 and values[2] == 1.0
    assert comp.get_name_value()[0] == ("accuracy", 0.5)
    assert comp.get_metric(1).name == "mse"
    with pytest.raises(MXNetError, match="out of range"):
        comp.get_metric(5)


def test_update_dict_selects_names():
    acc = mx.metric.Accuracy(output_names=["out1"], label_names=["lab1"])
    acc.update_dict(
        {"lab1": nd.array([1]), "lab2": nd.array([0])},
        {"out1": nd.array([[0, 1]]), "out2": nd.array([[1, 0]])},
    )
    assert acc.get()[1] == 1.0
    comp = mx.metric.CompositeEvalMetric(["acc"], label_names=["lab2"], output_names=["out2"])
    comp.update_dict(
        {"lab1": nd.array([1]), "lab2": nd.array([0])},
        {"out1": nd.array([[0, 1]]), "out2": nd.array([[1, 0]])},
    )
    assert comp.get()[1] == [1.0]


def test_custom_metric_and_np():
    def mae_sum(label, pred):
        return float(np.abs(label - pred).sum()), label.size

    metric = mx.metric.create(mae_sum)
    metric.update([nd.array([1, 2])], [nd.array([1, 4])])
    assert metric.name == "mae_sum" and metric.get()[1] == 1.0
    lam = mx.metric.np(lambda label, pred: 0.5)
    lam.update([nd.zeros((2,))], [nd.zeros((2,))])
    assert lam.get() == ("custom(<lambda>)", 0.5)
    with pytest.raises(NotImplementedError):
        lam.get_config()
    extra = mx.metric.CustomMetric(lambda l, p: 1.0, name="x", allow_extra_outputs=True)
    extra.update([nd.zeros((1,))], [nd.zeros((1,)), nd.zeros((1,))])
    assert extra.num_inst == 1


def test_errors_name_the_problem():
    with pytest.raises(MXNetError, match="nosuch is not registered"):
        mx.metric.create("nosuch")
    with pytest.raises(MXNetError, match="top_k is no more than 1"):
        mx.metric.TopKAccuracy(top_k=1)
    with pytest.raises(ValueError, match="only supports binary"):
        mx.metric.F1().update([nd.array([0, 1, 2])], [nd.array([[1, 0]] * 3)])
    with pytest.raises(MXNetError, match="shape mismatch"):
        mx.metric.Perplexity(None).update([nd.array([0, 1, 2])], [nd.ones((2, 4))])


def test_pcc_multiclass_matches_binary_mcc():
    labels, preds = DATA["bl1"], DATA["bp1"]
    pcc, mcc = mx.metric.PCC(), mx.metric.MCC()
    pcc.update([nd.array(labels)], [nd.array(preds)])
    mcc.update([nd.array(labels)], [nd.array(preds)])
    assert pcc.get()[1] == pytest.approx(mcc.get()[1])
    pcc.update([nd.array([3, 0])], [nd.array([3, 0])])  # grows to 4 classes
    assert pcc.k == 4 and np.isfinite(pcc.get()[1])


def test_loss_metric_accepts_single_array_and_perplexity_axis():
    loss = mx.metric.Loss()
    loss.update(None, nd.array([1, 2, 3]))
    assert loss.get() == ("loss", 2.0)
    ppl = mx.metric.Perplexity(ignore_label=None, axis=1)
    probs = np.array([[[0.5], [0.5]], [[0.25], [0.75]]], np.float32)  # (2, 2, 1): axis 1
    ppl.update([nd.array([[0], [1]])], [nd.array(probs)])
    assert ppl.get()[1] == pytest.approx(np.exp(-(np.log(0.5) + np.log(0.75)) / 2))


@pytest.mark.parametrize("spec", [("acc", {"axis": 0}), ("perplexity", {"ignore_label": -1})])
def test_create_from_json_config_round_trips(spec):
    name, kwargs = spec
    metric = mx.metric.create(name, **kwargs)
    again = mx.metric.create(json.dumps(metric.get_config()))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()
    composite = mx.metric.create(["acc", "f1"])
    again = mx.metric.create(json.dumps(composite.get_config()))
    assert [type(m).__name__ for m in again.metrics] == ["Accuracy", "F1"]
    assert again.get_config() == composite.get_config()


def test_create_from_bad_json_config_names_the_problem():
    with pytest.raises(MXNetError, match="not valid JSON"):
        mx.metric.create("{nope")
    with pytest.raises(MXNetError, match="with a 'metric' key"):
        mx.metric.create('{"name": "acc"}')
