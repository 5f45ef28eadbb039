"""mx.viz: print_summary prints MXNet's table; plot_network builds MXNet's Digraph."""

import contextlib
import io
import json
import os
import sys
import types

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

from . import nets

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
MXNET = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet")

with open(os.path.join(HERE, "viz.json"), encoding="utf-8") as _f:
    VIZ = json.load(_f)


def _concat_net():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    fa = mx.sym.FullyConnected(a, num_hidden=4, name="fa")
    fb = mx.sym.FullyConnected(b, num_hidden=6, name="fb")
    c = mx.sym.Concat(fa, fb, dim=1, name="cat")
    return mx.sym.FullyConnected(c, num_hidden=3, name="out")


def _summary(sym, shape):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert mx.viz.print_summary(sym, shape) is None
    return buf.getvalue()


def test_print_summary_matches_mxnet_strings():
    with open(os.path.join(MXNET, "strings.json"), encoding="utf-8") as f:
        strings = json.load(f)
    assert (
        _summary(nets.seed_mlp(), {"data": (1, 784)})
        == strings["print_summary(seed mlp, shape={'data':(1,784)})"]
    )
    assert (
        _summary(nets.bn_net(), {"data": (1, 3, 8, 8)})
        == strings["print_summary(bn net, shape={'data':(1,3,8,8)})"]
    )


@pytest.mark.parametrize(
    "case,build,shape",
    [
        ("lenet", nets.lenet, {"data": (1, 1, 28, 28)}),
        ("mlp_noshape", nets.seed_mlp, None),
        ("bn_noshape", nets.bn_net, None),
        ("concat", _concat_net, {"a": (2, 5), "b": (2, 7)}),
    ],
)
def test_print_summary_matches_mxnet(case, build, shape):
    assert _summary(build(), shape) == VIZ["print_summary"][case]


def test_print_summary_errors():
    with pytest.raises(MXNetError, match="must be a Symbol"):
        mx.viz.print_summary("net")
    with (
        pytest.raises(MXNetError, match="Input shape is incomplete"),
        pytest.warns(UserWarning, match="Cannot decide shape"),
    ):
        mx.viz.print_summary(nets.seed_mlp(), shape={"softmax_label": (2,)})


class _Digraph:
    """Records the calls plot_network makes (as the fixture script's recorder)."""

    def __init__(self, name=None, format=None, **kwargs):
        self.calls = {"name": name, "format": format, "nodes": [], "edges": []}

    def node(self, name, label=None, **attrs):
        self.calls["nodes"].append({"name": name, "label": label, "attrs": attrs})

    def edge(self, tail_name, head_name, **attrs):
        self.calls["edges"].append({"tail": tail_name, "head": head_name, "attrs": attrs})


@pytest.fixture
def recording_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Digraph=_Digraph))


@pytest.mark.parametrize(
    "case,call",
    [
        ("mlp_shape", lambda: mx.viz.plot_network(nets.seed_mlp(), shape={"data": (1, 784)})),
        (
            "lenet_weights",
            lambda: mx.viz.plot_network(
                nets.lenet(),
                title="lenet",
                save_format="png",
                shape={"data": (1, 1, 28, 28)},
                hide_weights=False,
            ),
        ),
        (
            "bn_dtype",
            lambda: mx.viz.plot_network(
                nets.bn_net(), dtype={"data": np.float32}, node_attrs={"shape": "oval"}
            ),
        ),
        ("concat", lambda: mx.viz.plot_network(_concat_net())),
    ],
)
def test_plot_network_draws_what_mxnet_draws(recording_graphviz, case, call):
    assert call().calls == VIZ["plot_network"][case]


def test_plot_network_without_graphviz_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match="pip install graphviz"):
        mx.viz.plot_network(nets.seed_mlp())


def test_plot_network_returns_a_graphviz_digraph():
    graphviz = pytest.importorskip("graphviz")
    dot = mx.viz.plot_network(nets.seed_mlp(), shape={"data": (1, 784)})
    assert isinstance(dot, graphviz.Digraph)
    source = dot.source
    assert "FullyConnected\n64" in source.replace("\\n", "\n")
    assert "fc1_weight" not in source and "softmax_label" in source


def test_plot_network_warns_with_the_repeated_names(recording_graphviz):
    net = mx.sym.FullyConnected(mx.sym.var("data"), name="fc", num_hidden=8)
    net = mx.sym.FullyConnected(mx.sym.Activation(net, act_type="relu"), name="fc", num_hidden=4)
    with pytest.warns(RuntimeWarning) as record:
        mx.viz.plot_network(net, shape={"data": (2, 5)})
    assert [str(w.message) for w in record] == [
        "There are multiple variables with the same name in your graph, this may result in "
        "cyclic graph. Repeated names: fc,fc_bias,fc_weight"
    ]
