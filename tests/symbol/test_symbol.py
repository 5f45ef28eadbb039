"""Symbol construction, naming, listing, indexing, attributes and composition."""

import copy
import json

import pytest

import distnet as mx
from distnet.base import MXNetError

from . import nets


def test_seed_001_network_lists():
    net = nets.seed_mlp()
    assert net.list_arguments() == [
        "data",
        "fc1_weight",
        "fc1_bias",
        "fc2_weight",
        "fc2_bias",
        "softmax_label",
    ]
    assert net.list_outputs() == ["softmax_output"]
    assert net.list_auxiliary_states() == []
    assert net.name == "softmax"
    assert repr(net) == "<Symbol softmax>"
    assert repr(mx.sym.Variable("data")) == "<Symbol data>"


def test_mx_symbol_and_sym_are_the_same_module():
    assert mx.symbol is mx.sym
    assert mx.sym.var is mx.sym.Variable
    assert isinstance(mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=2), mx.sym.Symbol)


def test_automatic_names_count_per_operator():
    data = mx.sym.var("data")
    a = mx.sym.FullyConnected(data, num_hidden=3)
    b = mx.sym.FullyConnected(a, num_hidden=3)
    act = mx.sym.Activation(b, act_type="relu")
    assert (a.name, b.name, act.name) == ("fullyconnected0", "fullyconnected1", "activation0")
    assert b.list_arguments()[-2:] == ["fullyconnected1_weight", "fullyconnected1_bias"]
    # the function's own name is the hint: flatten vs Flatten, split vs SliceChannel
    assert mx.sym.flatten(data).name == "flatten0"
    assert mx.sym.Flatten(data).name == "flatten1"
    assert mx.sym.split(data, num_outputs=2).name == "split0"


def test_name_manager_scopes_and_prefix():
    data = mx.sym.var("data")
    with mx.name.NameManager():
        assert mx.sym.Activation(data, act_type="relu").name == "activation0"
    with mx.name.Prefix("net_"):
        fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc1")
        act = mx.sym.Activation(fc, act_type="relu")
        var = mx.sym.var("v")
    assert fc.list_arguments() == ["data", "net_fc1_weight", "net_fc1_bias"]
    assert act.name == "net_activation0"
    assert var.name == "v"  # variables are not prefixed, as in MXNet
    manager = mx.name.NameManager()
    assert [manager.get(None, "fc"), manager.get(None, "fc"), manager.get("x", "fc")] == [
        "fc0",
        "fc1",
        "x",
    ]
    assert mx.name.Prefix("a_").get("n", "fc") == "a_n"


def test_missing_inputs_become_named_variables():
    out = mx.sym.SoftmaxOutput(mx.sym.var("data"), name="softmax")
    assert out.list_arguments() == ["data", "softmax_label"]
    auto = mx.sym.SoftmaxOutput(mx.sym.var("data"))
    assert auto.list_arguments() == ["data", "softmaxoutput0_label"]
    nobias = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4, no_bias=True, name="f")
    assert nobias.list_arguments() == ["x", "f_weight"]
    nodata = mx.sym.FullyConnected(num_hidden=3, name="fc")
    assert nodata.list_arguments() == ["fc_data", "fc_weight", "fc_bias"]


def test_inputs_given_by_keyword_and_position():
    w = mx.sym.var("w")
    fc = mx.sym.FullyConnected(mx.sym.var("x"), w, num_hidden=2, name="fc")
    assert fc.list_arguments() == ["x", "w", "fc_bias"]
    fc = mx.sym.FullyConnected(data=mx.sym.var("x"), bias=mx.sym.var("b"), num_hidden=2, name="fc")
    assert fc.list_arguments() == ["x", "fc_weight", "b"]
    # positional attributes follow the inputs, in declaration order
    clip = mx.sym.clip(mx.sym.var("x"), 0.5, 2.0)
    assert clip.attr("a_min") == "0.5" and clip.attr("a_max") == "2.0"


def test_batchnorm_aux_states_and_multi_output_names():
    bn = mx.sym.BatchNorm(mx.sym.var("x"), name="bn")
    assert bn.list_arguments() == ["x", "bn_gamma", "bn_beta"]
    assert bn.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert bn.list_inputs() == ["x", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"]
    both = mx.sym.BatchNorm(mx.sym.var("x"), output_mean_var=True, name="b2")
    assert both.list_outputs() == ["b2_output", "b2_mean", "b2_var"]
    split = mx.sym.SliceChannel(mx.sym.var("x"), num_outputs=3, name="sp")
    assert split.list_outputs() == ["sp_output0", "sp_output1", "sp_output2"]
    assert len(split) == 3 and split.name == "sp"


def test_indexing_by_position_name_and_slice():
    split = mx.sym.SliceChannel(mx.sym.var("x"), num_outputs=3, name="sp")
    assert split[1].list_outputs() == ["sp_output1"]
    assert split["sp_output2"].list_outputs() == ["sp_output2"]
    assert split[-1].list_outputs() == ["sp_output2"]
    assert split[0:2].list_outputs() == ["sp_output0", "sp_output1"]
    assert [s.list_outputs()[0] for s in split] == ["sp_output0", "sp_output1", "sp_output2"]
    with pytest.raises(MXNetError, match="Cannot find output that matches name 'nope'"):
        split["nope"]
    with pytest.raises(IndexError, match="out of range"):
        split[3]


def test_internals_children_and_group():
    net = nets.seed_mlp()
    internals = net.get_internals()
    assert internals.list_outputs() == [
        "data",
        "fc1_weight",
        "fc1_bias",
        "fc1_output",
        "relu1_output",
        "fc2_weight",
        "fc2_bias",
        "fc2_output",
        "softmax_label",
        "softmax_output",
    ]
    fc1 = internals["fc1_output"]
    assert fc1.list_arguments() == ["data", "fc1_weight", "fc1_bias"]
    children = fc1.get_children()
    assert children.list_outputs() == ["data", "fc1_weight", "fc1_bias"]
    assert repr(children) == "<Symbol group [data, fc1_weight, fc1_bias]>"
    assert mx.sym.var("d").get_children() is None
    group = mx.sym.Group([fc1, internals["relu1_output"]])
    assert group.name is None and len(group) == 2
    assert group.list_outputs() == ["fc1_output", "relu1_output"]
    with pytest.raises(MXNetError, match="non-empty list of Symbols"):
        mx.sym.Group([])


def test_variable_attributes_and_attr_dict():
    init = nets.XAVIER
    w = mx.sym.Variable(
        "w",
        shape=(5, 3),
        dtype="float16",
        lr_mult=2.0,
        wd_mult=0.0,
        init=init,
        __extra__="yes",
        attr={"lr_mult": "9", "k": "v"},
    )
    assert w.attr("__shape__") == "(5, 3)"
    assert w.attr("__dtype__") == "2"  # MXNet's type flag of float16
    assert w.attr("lr_mult") == "2.0" and w.attr("__lr_mult__") == "2.0"
    assert w.attr("__init__") == init
    assert w.list_attr() == {
        "__shape__": "(5, 3)",
        "__dtype__": "2",
        "__lr_mult__": "2.0",
        "lr_mult": "2.0",
        "__wd_mult__": "0.0",
        "wd_mult": "0.0",
        "__init__": init,
        "__extra__": "yes",
        "k": "v",
    }
    assert w.attr("nope") is None

    class Init:
        def dumps(self):
            return '["one", {}]'

    assert mx.sym.var("z", init=Init()).attr("__init__") == '["one", {}]'
    with pytest.raises(MXNetError, match="double underscores"):
        mx.sym.var("v", foo=3)
    with pytest.raises(MXNetError, match="name must be a string"):
        mx.sym.var(3)


def test_attr_scope_and_hidden_keys():
    with mx.AttrScope(ctx_group="dev1", lr_mult="0.5", __mood__="happy"):
        fc = mx.sym.FullyConnected(mx.sym.var("d"), num_hidden=5, name="fc")
    assert fc.attr("ctx_group") == "dev1"
    assert fc.list_attr() == {
        "num_hidden": "5",
        "__ctx_group__": "dev1",
        "ctx_group": "dev1",
        "__lr_mult__": "0.5",
        "lr_mult": "0.5",
        "__mood__": "happy",
    }
    # auto-created parameters inherit the node's attributes, as in MXNet
    assert fc.attr_dict()["fc_weight"]["__ctx_group__"] == "dev1"
    with mx.AttrScope(a="1"):
        with mx.AttrScope(b="2"):
            v = mx.sym.var("v")
    assert v.list_attr() == {"a": "1", "b": "2"}
    with pytest.raises(MXNetError, match="must be a string"):
        mx.AttrScope(a=1)
    # an attribute the operator does not know must be written __key__
    with mx.AttrScope(mood="sad"):
        with pytest.raises(MXNetError, match="unknown argument 'mood'"):
            mx.sym.FullyConnected(mx.sym.var("d"), num_hidden=5)


def test_set_attr_revalidates_operator_attributes():
    fc = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")
    fc._set_attr(__note__="hi", lr_mult="2")
    assert fc.attr("__note__") == "hi" and fc.attr("__lr_mult__") == "2"
    with pytest.raises(MXNetError, match="must be a string"):
        fc._set_attr(__note__=3)
    with pytest.raises(MXNetError, match="unknown argument 'foo'"):
        fc._set_attr(foo="bar")
    fc._set_attr(num_hidden="7")
    assert fc.infer_shape(x=(2, 4))[1] == [(2, 7)]


def test_bad_operator_arguments_name_the_attribute():
    x = mx.sym.var("x")
    with pytest.raises(MXNetError, match="unknown argument 'bogus'"):
        mx.sym.FullyConnected(x, num_hidden=3, bogus=2)
    with pytest.raises(MXNetError, match="required argument 'num_hidden' is missing"):
        mx.sym.FullyConnected(x)
    with pytest.raises(MXNetError, match="invalid value 'abc' for argument 'num_hidden'"):
        mx.sym.FullyConnected(x, num_hidden="abc")
    with pytest.raises(MXNetError, match="unknown input"):
        mx.sym.FullyConnected(x, num_hidden=3, nope=mx.sym.var("y"))
    split = mx.sym.SliceChannel(x, num_outputs=2)
    with pytest.raises(MXNetError, match="single-output Symbol"):
        mx.sym.relu(split)


def test_arithmetic_operators_map_to_mxnet_operators():
    x, y = mx.sym.var("x"), mx.sym.var("y")
    cases = [
        (x + y, "elemwise_add", "_plus0", None),
        (x + 1, "_plus_scalar", "_plusscalar0", "1"),
        (1 + x, "_plus_scalar", "_plusscalar1", "1"),
        (x - 1, "_minus_scalar", "_minusscalar0", "1"),
        (1 - x, "_rminus_scalar", "_rminusscalar0", "1"),
        (x * y, "elemwise_mul", "_mul0", None),
        (x / 2, "_div_scalar", "_divscalar0", "2"),
        (2 / x, "_rdiv_scalar", "_rdivscalar0", "2"),
        (x**y, "_power", "_power0", None),
        (2**x, "_rpower_scalar", "_rpower_scalar0", "2"),
        (-x, "_mul_scalar", "_mulscalar0", "-1.0"),
        (x == 1, "_equal_scalar", "_equal_scalar0", "1"),
        (x < y, "_lesser", "_lesser0", None),
        (abs(x), "abs", "abs0", None),
    ]
    for sym, op, name, scalar in cases:
        node = json.loads(sym.tojson())["nodes"][-1]
        assert (node["op"], node["name"]) == (op, name)
        assert node.get("attrs", {}).get("scalar") == scalar
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(mx.base.NotImplementedForSymbol, match='operator "bool"'):
        bool(x)  # MXNet's error (an MXNetError), as `if sym:` raises there


def test_operator_methods_like_ndarray():
    h = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=6, name="h")
    assert h.reshape((0, 2, 3)).infer_shape(x=(4, 5))[1] == [(4, 2, 3)]
    assert h.sum(axis=1).infer_shape(x=(4, 5))[1] == [(4,)]
    assert h.astype("float16").attr("dtype") == "float16"
    assert h.transpose().infer_shape(x=(4, 5))[1] == [(6, 4)]
    assert h.relu().list_outputs() == ["relu0_output"]


def test_compose_replaces_variables_and_keeps_the_original():
    net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    other = mx.sym.var("other") * 2
    composed = net(data=other)
    assert composed.list_arguments() == ["other", "fc_weight", "fc_bias"]
    assert net.list_arguments() == ["data", "fc_weight", "fc_bias"]
    renamed = net(data=mx.sym.var("z"), name="renamed")
    assert renamed.list_outputs() == ["renamed_output"] and net.name == "fc"
    with pytest.raises(MXNetError, match="'nope' is not an input"):
        net(nope=other)
    with pytest.raises(MXNetError, match="keyword arguments only"):
        net(other)


def test_copy_is_deep():
    net = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")
    before = net.tojson()
    dup = copy.deepcopy(net)
    assert dup.tojson() == before
    dup._set_attr(__note__="copy")
    assert dup.attr("__note__") == "copy" and net.attr("__note__") is None
    assert net.tojson() == before


def test_variadic_operators_count_their_inputs():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    cat = mx.sym.Concat(a, b, dim=0)
    assert (cat.attr("num_args"), cat.attr("dim")) == ("2", "0")
    assert cat.infer_shape(a=(2, 3), b=(4, 3))[1] == [(6, 3)]
    total = mx.sym.add_n(a, b, a)
    assert total.attr("num_args") == "3" and total.list_arguments() == ["a", "b"]
    with pytest.raises(MXNetError, match="positional Symbols"):
        mx.sym.Concat(data=a)


def test_children_of_a_multi_output_node_and_of_shared_inputs():
    data = mx.sym.var("data")
    sliced = mx.sym.SliceChannel(data, num_outputs=3, name="slice")
    assert sliced.get_children().list_outputs() == ["data"]
    concat = mx.sym.Concat(*list(sliced))
    assert concat.get_children().list_outputs() == [f"slice_output{i}" for i in range(3)]
    a, b = mx.sym.relu(data, name="a"), mx.sym.sin(data, name="b")
    assert mx.sym.Group([a, b]).get_children().list_outputs() == ["data", "data"]
    assert (data + data).get_children().list_outputs() == ["data", "data"]


def test_gen_atomic_symbol_recomposes_with_new_inputs():
    data, w = mx.sym.var("data"), mx.sym.var("w")
    fc = mx.sym.FullyConnected(data, w, num_hidden=3, no_bias=True, name="fc")
    atom = fc._gen_atomic_symbol()
    assert (atom.name, atom.list_outputs(), atom.list_arguments()) == ("", ["output"], [])
    assert atom.list_attr() == {"num_hidden": "3", "no_bias": "True"}
    again = atom(mx.sym.var("x"), mx.sym.var("v"), name="fc2")
    assert again.list_arguments() == ["x", "v"]
    assert again.infer_shape(x=(2, 5))[0] == [(2, 5), (3, 5)]
    with pytest.raises(MXNetError, match="variable"):
        data._gen_atomic_symbol()
