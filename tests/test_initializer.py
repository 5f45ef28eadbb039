"""Initializers: MXNet's dumps() strings and name rules, sample statistics, create/Load/
Mixed, legacy calls and verbosity."""

import json
import logging
import os
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.initializer import InitDesc

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet", "initializers.json")
META = json.load(open(FIX))
DUMPS = {k: v["value"] for k, v in META["dumps"].items() if v["ok"]}


@pytest.mark.parametrize("expr", sorted(DUMPS))
def test_dumps_matches_mxnet(expr):
    init = eval(
        expr,
        {
            "Xavier": mx.init.Xavier,
            "Uniform": mx.init.Uniform,
            "Normal": mx.init.Normal,
            "Constant": mx.init.Constant,
            "Zero": mx.init.Zero,
            "One": mx.init.One,
            "Orthogonal": mx.init.Orthogonal,
            "MSRAPrelu": mx.init.MSRAPrelu,
            "Bilinear": mx.init.Bilinear,
            "LSTMBias": mx.init.LSTMBias,
            "nd": nd,
        },
    )
    assert init.dumps() == DUMPS[expr]
    assert mx.init.create(init.dumps()) == init or expr.startswith("Constant(nd")


@pytest.mark.parametrize(
    "name", ["fc1_bias", "bn_gamma", "bn_beta", "stn_loc_bias", "foo_min", "foo_max"]
)
def test_name_rules_match_mxnet(name):
    shape = (len(META["behaviour"][name]["result"]),)
    arr = nd.full(shape, 7.0)
    mx.init.Uniform()(InitDesc(name), arr)
    np.testing.assert_array_equal(arr.asnumpy(), META["behaviour"][name]["result"])


@pytest.mark.parametrize("name", ["fc1_weight", "stn_loc_weight", "upsampling_weight"])
def test_weights_get_the_initializer_rule(name):
    arr = nd.zeros((30, 40))
    mx.init.Uniform()(InitDesc(name), arr)
    vals = arr.asnumpy()
    assert np.abs(vals).max() <= 0.07 and vals.std() > 0.02


def test_unknown_names_raise_mxnets_message():
    with pytest.raises(ValueError) as err:
        mx.init.Xavier()(InitDesc("foo"), nd.zeros((2,)))
    assert str(err.value) == META["behaviour"]["foo"]["message"]


@pytest.mark.parametrize(
    "name,value",
    [
        ("bn_moving_mean", 0.0),
        ("bn_moving_var", 1.0),
        ("bn_moving_inv_var", 0.0),
        ("bn_moving_avg", 0.0),
        ("bn0_running_mean", 0.0),
        ("bn0_running_var", 1.0),
    ],
)
def test_batchnorm_statistics_need_no_init_attribute(name, value):
    # MXNet relied on BatchNorm setting __init__ on these variables; distnet also knows them
    arr = nd.full((3,), 5.0)
    mx.init.Xavier()(InitDesc(name), arr)
    np.testing.assert_array_equal(arr.asnumpy(), [value] * 3)


def test_init_attribute_overrides_the_name_rule():
    arr = nd.zeros((4,))
    desc = InitDesc("anything", attrs={"__init__": mx.init.Constant(2.5).dumps()})
    mx.init.Uniform()(desc, arr)
    np.testing.assert_array_equal(
        arr.asnumpy(),
        META["behaviour"]["InitDesc('anything', attrs={'__init__': Constant(2.5).dumps()})"],
    )
    for spec in ("ones", mx.init.One(), '["one", {}]'):
        arr = nd.zeros((2, 2))
        mx.init.Zero()(InitDesc("fc_weight", attrs={"__init__": spec}), arr)
        np.testing.assert_array_equal(arr.asnumpy(), np.ones((2, 2)))


def test_initdesc_is_a_str_with_attrs_and_global_init():
    desc = InitDesc("w_weight", attrs={"a": "1"})
    assert isinstance(desc, str) and desc == "w_weight" and desc.attrs == {"a": "1"}
    assert desc.global_init is None
    init = mx.init.Uniform()
    init(desc, nd.zeros((2, 2)))
    assert desc.global_init is init
    keep = InitDesc("x_bias", global_init=mx.init.One())
    mx.init.Uniform()(keep, nd.zeros((2,)))
    assert isinstance(keep.global_init, mx.init.One)


def _stats(init, shape, name="w_weight"):
    arr = nd.zeros(shape)
    init(InitDesc(name), arr)
    return arr.asnumpy().astype(np.float64)


def test_uniform_and_normal_statistics():
    vals = _stats(mx.init.Uniform(0.1), (300, 400))
    assert -0.1 <= vals.min() and vals.max() < 0.1
    assert abs(vals.mean()) < 2e-3 and vals.var() == pytest.approx(0.01 / 3, rel=0.02)
    vals = _stats(mx.init.Normal(0.5), (300, 400))
    assert abs(vals.mean()) < 5e-3 and vals.std() == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize(
    "kwargs,shape,std",
    [
        ({}, (200, 300), np.sqrt(3 / 250) / np.sqrt(3)),
        (
            {"rnd_type": "gaussian", "factor_type": "in", "magnitude": 2},
            (64, 32, 3, 3),
            np.sqrt(2 / (32 * 9)),
        ),
        (
            {"rnd_type": "gaussian", "factor_type": "out", "magnitude": 2},
            (64, 32, 3, 3),
            np.sqrt(2 / (64 * 9)),
        ),
    ],
)
def test_xavier_statistics(kwargs, shape, std):
    vals = _stats(mx.init.Xavier(**kwargs), shape)
    assert vals.std() == pytest.approx(std, rel=0.03)
    if not kwargs:
        assert np.abs(vals).max() <= np.sqrt(3 / 250)


def test_xavier_errors():
    with pytest.raises(ValueError, match="cannot be applied to vector fc_weight"):
        mx.init.Xavier()(InitDesc("fc_weight"), nd.zeros((5,)))
    with pytest.raises(ValueError, match="Incorrect factor type"):
        mx.init.Xavier(factor_type="sideways")(InitDesc("fc_weight"), nd.zeros((5, 5)))
    with pytest.raises(ValueError, match="Unknown random type"):
        mx.init.Xavier(rnd_type="cauchy")(InitDesc("fc_weight"), nd.zeros((5, 5)))


def test_msraprelu_is_gaussian_xavier():
    vals = _stats(mx.init.MSRAPrelu(factor_type="in", slope=0.0), (256, 512))
    assert vals.std() == pytest.approx(np.sqrt(2.0 / 512), rel=0.03)


def test_orthogonal_rows_are_orthonormal_times_scale():
    vals = _stats(mx.init.Orthogonal(scale=2.0), (20, 5, 2, 3))
    mat = vals.reshape(20, 30)
    np.testing.assert_allclose(mat @ mat.T, 4.0 * np.eye(20), atol=1e-4)
    tall = _stats(mx.init.Orthogonal(rand_type="normal"), (30, 10))
    np.testing.assert_allclose(tall.T @ tall, 1.414**2 * np.eye(10), atol=1e-4)


def test_bilinear_matches_mxnets_loop():
    shape = (2, 1, 4, 5)
    got = _stats(mx.init.Bilinear(), shape)
    f = np.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    want = np.zeros(int(np.prod(shape)))
    for i in range(want.size):
        x, y = i % shape[3], (i // shape[3]) % shape[2]
        want[i] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
    np.testing.assert_allclose(got, want.reshape(shape), rtol=1e-6)


def test_lstm_bias_and_constant_array():
    arr = nd.ones((8,))
    desc = InitDesc("lstm_i2h_bias", attrs={"__init__": mx.init.LSTMBias(2.0).dumps()})
    mx.init.Xavier()(desc, arr)
    np.testing.assert_array_equal(arr.asnumpy(), [0, 0, 2, 2, 0, 0, 0, 0])
    arr = nd.zeros((2, 2))
    mx.init.Constant(nd.array([1, 2]))(InitDesc("c_weight"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), [[1, 2], [1, 2]])


def test_seed_makes_initialization_reproducible():
    mx.random.seed(42)
    a = _stats(mx.init.Xavier(), (10, 10))
    mx.random.seed(42)
    b = _stats(mx.init.Xavier(), (10, 10))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _stats(mx.init.Xavier(), (10, 10)))


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_other_dtypes(dtype):
    arr = nd.zeros((50, 60), dtype=dtype)
    mx.init.Xavier()(InitDesc("w_weight"), arr)
    assert arr.dtype == np.dtype(dtype) and np.abs(arr.asnumpy()).max() > 0


def test_create_forms_and_errors():
    assert isinstance(mx.init.create("zeros"), mx.init.Zero)
    assert isinstance(mx.init.create("Xavier", magnitude=2), mx.init.Xavier)
    assert mx.init.create('["normal", {"sigma": 0.2}]').sigma == 0.2
    assert mx.init.create({"initializer": "uniform", "scale": 0.3}).scale == 0.3
    inst = mx.init.One()
    assert mx.init.create(inst) is inst
    with pytest.raises(MXNetError, match="nosuch is not registered"):
        mx.init.create("nosuch")
    with pytest.raises(MXNetError, match="already an instance"):
        mx.init.create(inst, 3)


def test_register_custom_initializer_by_attribute():
    @mx.init.register
    class Twos(mx.init.Initializer):
        """Fills with 2."""

        def _init_weight(self, _, arr):
            arr[:] = 2

    arr = nd.zeros((3,))
    mx.init.Uniform()(InitDesc("p", attrs={"__init__": Twos().dumps()}), arr)
    np.testing.assert_array_equal(arr.asnumpy(), [2, 2, 2])
    assert Twos().dumps() == '["twos", {}]'


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_load_from_dict_and_file(tmp_path):
    params = {"arg:fc_weight": nd.ones((2, 3)), "aux:bn_moving_var": nd.full((3,), 4.0)}
    fname = str(tmp_path / "p.params")
    nd.save(fname, params)
    for source in (params, fname):
        init = mx.init.Load(source, default_init=mx.init.Zero())
        w, v, other = nd.zeros((2, 3)), nd.zeros((3,)), nd.ones((2,))
        init("fc_weight", w)
        init("bn_moving_var", v)
        init("other_bias", other)
        np.testing.assert_array_equal(w.asnumpy(), np.ones((2, 3)))
        np.testing.assert_array_equal(v.asnumpy(), [4, 4, 4])
        np.testing.assert_array_equal(other.asnumpy(), [0, 0])
    with pytest.raises(MXNetError, match=r"Shape mismatch, target \(3, 2\) vs loaded \(2, 3\)"):
        mx.init.Load(params)("fc_weight", nd.zeros((3, 2)))
    with pytest.raises(MXNetError, match="Cannot Initialize missing"):
        mx.init.Load(params)("missing", nd.zeros((1,)))


def test_mixed_uses_first_matching_pattern():
    init = mx.init.Mixed(["fc1_.*", ".*"], [mx.init.Constant(3), mx.init.One()])
    b, w = nd.zeros((2,)), nd.zeros((2,))
    init(InitDesc("fc1_weight"), b)
    init(InitDesc("fc2_weight"), w)
    np.testing.assert_array_equal(b.asnumpy(), [3, 3])
    np.testing.assert_array_equal(w.asnumpy(), [1, 1])
    with pytest.raises(ValueError, match="Parameter name fc did not match any pattern"):
        mx.init.Mixed(["bias"], [mx.init.Zero()])("fc", nd.zeros((1,)))


def test_legacy_string_call():
    init = mx.init.Uniform()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        var, up, loc = nd.zeros((3,)), nd.zeros((1, 1, 2, 2)), nd.zeros((6,))
        init("bn_moving_var", var)
        init("upsampling0_weight", up)
        init("stn_loc_bias", loc)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    np.testing.assert_array_equal(var.asnumpy(), [1, 1, 1])
    np.testing.assert_allclose(up.asnumpy().ravel(), [1, 0, 0, 0])
    np.testing.assert_array_equal(loc.asnumpy(), [1, 0, 0, 0, 1, 0])


def test_verbose_logging(caplog):
    init = mx.init.Zero().set_verbosity(True)
    with caplog.at_level(logging.INFO):
        init(InitDesc("fc1_bias"), nd.ones((4,)))
    assert caplog.records[-1].getMessage() == "Initialized fc1_bias as bias: 0.0"


def test_variable_init_attribute_is_dumps_json():
    sym_mod = pytest.importorskip("distnet.symbol")
    if not hasattr(sym_mod, "Variable"):
        pytest.skip("symbol not available")
    var = sym_mod.Variable("w", init=mx.init.Xavier(magnitude=3))
    key = "Variable(init=Xavier(magnitude=3)).attr('__init__')"
    assert var.attr("__init__") == META["behaviour"][key]
