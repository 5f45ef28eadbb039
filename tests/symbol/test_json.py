"""MXNet graph JSON both ways: files written by MXNet 1.9.1 (and the older ``param``
layout) load, and distnet writes the same bytes MXNet writes for the same graph."""

import glob
import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

from . import nets

MXNET = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet")
HERE = os.path.join(os.path.dirname(__file__), "fixtures")
SCRIPT = os.path.join(
    os.path.dirname(__file__), "..", "..", "scripts", "fixtures", "make_symbol_fixtures.py"
)


def _text(name):
    with open(os.path.join(MXNET, name + "-symbol.json"), encoding="utf-8") as f:
        return f.read()


def _built():
    """The fixture networks built with distnet, as the fixture script builds them."""
    with mx.name.NameManager():
        parts, grp, sq = nets.split_nets()
        return {
            "sym_mlp": nets.seed_mlp(),
            "sym_mlp002": nets.seed002_mlp(),
            "sym_mlp_auto": nets.mlp_auto(),
            "sym_lenet": nets.lenet(),
            "sym_bn": nets.bn_net(),
            "sym_attrs": nets.attrs_net(),
            "sym_split": parts,
            "sym_split_group": grp,
            "sym_split_squeeze_auto": sq,
            "sym_arith": nets.arith_net(),
        }


@pytest.mark.parametrize("name", sorted(_built()))
def test_tojson_is_byte_identical_to_mxnet(name):
    assert _built()[name].tojson() == _text(name)


MXNET_FILES = sorted(
    os.path.basename(p)[: -len("-symbol.json")]
    for p in glob.glob(os.path.join(MXNET, "*-symbol.json"))
    if "legacy_v09-" not in p
)


@pytest.mark.parametrize("name", MXNET_FILES)
def test_mxnet_files_load_and_resave_identically(name):
    text = _text(name)
    sym = mx.sym.load(os.path.join(MXNET, name + "-symbol.json"))
    assert sym.tojson() == text
    assert mx.sym.load_json(sym.tojson()).tojson() == sym.tojson()


@pytest.mark.parametrize("name", ["sym_mlp", "sym_bn", "sym_split_group", "sym_arith"])
def test_loaded_graph_matches_mxnet_listing(name):
    with open(os.path.join(MXNET, name + ".meta.json")) as f:
        meta = json.load(f)
    sym = mx.sym.load_json(_text(name))
    assert sym.list_arguments() == meta["list_arguments"]
    assert sym.list_outputs() == meta["list_outputs"]
    assert sym.list_auxiliary_states() == meta["list_auxiliary_states"]
    assert sym.get_internals().list_outputs() == meta["internals_list_outputs"]
    assert sym.attr_dict() == meta["attr_dict"]


def test_legacy_param_format_is_upgraded_as_mxnet_does():
    sym = mx.sym.load(os.path.join(MXNET, "sym_legacy_v09-symbol.json"))
    assert sym.tojson() == _text("sym_legacy_v09_resaved")
    assert sym.list_arguments() == [
        "data",
        "fc1_weight",
        "fc1_bias",
        "fc2_weight",
        "fc2_bias",
        "softmax_label",
    ]
    assert sym.get_internals()["fc1_weight"].attr("lr_mult") == "2.0"
    assert sym.infer_shape(data=(3, 7))[0][1] == (16, 7)


def _compose_cases():
    """The compose cases of the fixture script, run with distnet."""
    with open(SCRIPT, encoding="utf-8") as f:
        src = f.read()
    code = src[src.index("def compose_cases") : src.index("def sec_compose")]

    class Uniform:  # stands in for mx.init.Uniform(0.1), which only needs dumps()
        def dumps(self):
            return '["uniform", {"scale": 0.1}]'

    scope = {"mx": mx, "np": np, "seed_mlp": nets.seed_mlp, "Uniform": Uniform}
    exec(code.replace("mx.init.Uniform(0.1)", "Uniform()"), scope)  # noqa: S102
    return scope["compose_cases"]()


with open(os.path.join(HERE, "compose.json"), encoding="utf-8") as _f:
    COMPOSE = json.load(_f)


@pytest.mark.parametrize("case", sorted(COMPOSE))
def test_constructions_write_mxnet_json(case):
    """Composition, variadic ops, attribute strings, variable attributes, shared aux
    states (entry versions), scopes, arithmetic functions, methods, multi-output ops."""
    with mx.name.NameManager():
        sym = _compose_cases()[case]()
    expected = COMPOSE[case]
    assert sym.tojson() == expected["json"]
    assert sym.list_arguments() == expected["list_arguments"]
    assert sym.list_outputs() == expected["list_outputs"]
    assert sym.list_auxiliary_states() == expected["list_auxiliary_states"]
    assert mx.sym.load_json(expected["json"]).tojson() == expected["json"]


def test_save_and_load_file(tmp_path):
    net = nets.seed_mlp()
    path = str(tmp_path / "mlp-symbol.json")
    net.save(path)
    with open(path, encoding="utf-8") as f:
        assert f.read() == net.tojson()
    assert os.listdir(tmp_path) == ["mlp-symbol.json"]  # no temporary file left
    loaded = mx.sym.load(path)
    assert loaded.tojson() == net.tojson()
    assert loaded.list_arguments() == net.list_arguments()


def test_names_with_special_characters_are_escaped():
    sym = mx.sym.var('a"b\\c\nd\te')
    text = sym.tojson()
    assert '"name": "a\\"b\\\\c\\nd\\te"' in text
    assert mx.sym.load_json(text).name == 'a"b\\c\nd\te'


def test_bad_json_is_reported():
    with pytest.raises(MXNetError, match="not a graph"):
        mx.sym.load_json("{}")
    with pytest.raises(MXNetError, match="not a graph"):
        mx.sym.load_json("not json")
    bad_op = json.loads(_text("sym_mlp"))
    bad_op["nodes"][4]["op"] = "NoSuchOp"
    with pytest.raises(MXNetError, match="relu1.*NoSuchOp.*not registered"):
        mx.sym.load_json(json.dumps(bad_op))
    bad_attr = json.loads(_text("sym_mlp"))
    bad_attr["nodes"][3]["attrs"]["num_hidden"] = "many"
    with pytest.raises(MXNetError, match="'fc1'.*num_hidden"):
        mx.sym.load_json(json.dumps(bad_attr))
    bad_inputs = json.loads(_text("sym_mlp"))
    bad_inputs["nodes"][3]["inputs"].pop()
    with pytest.raises(MXNetError, match="'fc1'.*has 2 inputs, the operator takes 3"):
        mx.sym.load_json(json.dumps(bad_inputs))
    with pytest.raises(MXNetError, match="cannot read"):
        mx.sym.load("/nonexistent/x-symbol.json")


def test_np_shape_flag_written_and_legacy_hints_upgraded_on_load():
    def net():
        weight = mx.sym.var("weight", shape=(128, 0))
        return mx.sym.FullyConnected(mx.sym.var("data"), weight, num_hidden=128)

    with mx.np_shape(True):
        attrs = json.loads(net().tojson())["attrs"]
    assert attrs == {"is_np_shape": ["int", 1], "mxnet_version": ["int", 10901]}
    legacy = net().tojson()
    assert json.loads(legacy)["attrs"] == {"mxnet_version": ["int", 10901]}
    for np_mode in (False, True):
        with mx.np_shape(np_mode):
            loaded = mx.sym.load_json(legacy)
            args, outs, _ = loaded.infer_shape(data=(10, 784))
        assert args == [(10, 784), (128, 784), (128,)] and outs == [(10, 128)]
    with mx.np_shape(True):
        # as MXNet: a legacy graph's unknown 0 becomes -1 when loaded in NumPy shape mode
        assert mx.sym.load_json(legacy).attr_dict()["weight"] == {"__shape__": "[128,-1]"}
