"""Parameter, Constant and ParameterDict: shapes, contexts, gradients, reprs, save/load."""

import warnings

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon, nd
from distnet.base import MXNetError
from distnet.gluon import Constant, ParameterDict
from distnet.gluon.parameter import DeferredInitializationError

from .helpers import assert_close, mxnet_strings


def test_parameter_repr_matches_mxnet():
    strings = mxnet_strings()
    p = gluon.Parameter("my_params", shape=(3, 3))
    assert repr(p) == strings["repr(Parameter before init)"]
    p.initialize()
    assert repr(p) == strings["repr(Parameter after init)"]
    assert repr(gluon.Parameter("w", shape=(0, 4))) == strings["repr(Parameter deferred shape)"]
    q = gluon.Parameter("q", shape=(2,), dtype="int32", grad_req="null")
    assert repr(q) == strings["repr(Parameter int32 grad_req null)"]


def test_data_and_grad_seed_004():
    p = gluon.Parameter("my_params", shape=(3, 3))
    p.initialize()
    data, grad = p.data(), p.grad()
    assert data.shape == (3, 3) and data.dtype == np.float32
    assert np.all(np.abs(data.asnumpy()) <= 0.07)  # default Uniform(0.07)
    assert np.all(grad.asnumpy() == 0)
    assert p.list_ctx() == [mx.cpu(0)]


def test_one_copy_per_context_and_gradients_flow_to_each():
    p = gluon.Parameter("w", shape=(2, 3))
    p.initialize(init=mx.init.One(), ctx=[mx.cpu(0), mx.cpu(1)])
    assert p.list_ctx() == [mx.cpu(0), mx.cpu(1)]
    d0, d1 = p.list_data()
    assert d0 is p.data(mx.cpu(0)) and d1 is p.data(mx.cpu(1)) and d0 is not d1
    assert d1.context == mx.cpu(1)
    with autograd.record():
        y = (p.data(mx.cpu(1)) * 3).sum()
    y.backward()
    assert np.all(p.grad(mx.cpu(1)).asnumpy() == 3)
    assert np.all(p.grad(mx.cpu(0)).asnumpy() == 0)
    with pytest.raises(RuntimeError, match="was not initialized on context cpu\\(2\\)"):
        p.data(mx.cpu(2))
    p.zero_grad()
    assert np.all(p.grad(mx.cpu(1)).asnumpy() == 0)


def test_uninitialized_and_deferred_errors_name_the_parameter():
    p = gluon.Parameter("weight7", shape=(2, 3))
    with pytest.raises(RuntimeError, match="Parameter 'weight7' has not been initialized"):
        p.data()
    d = gluon.Parameter("late", shape=(4, 0), allow_deferred_init=True)
    d.initialize(ctx=mx.cpu(0))
    assert d.list_ctx() == [mx.cpu(0)]
    with pytest.raises(DeferredInitializationError, match="'late'.*deferred"):
        d.data()
    with pytest.raises(
        ValueError, match="Cannot initialize Parameter 'bad' because it has invalid shape"
    ):
        gluon.Parameter("bad", shape=(4, 0)).initialize()
    d.shape = (4, 5)
    d._finish_deferred_init()
    assert d.data().shape == (4, 5)
    with pytest.raises(MXNetError, match="incompatible"):
        d.shape = (4, 6)


def test_initialize_twice_warns_and_force_reinit_redraws():
    p = gluon.Parameter("w", shape=(5,))
    p.initialize(init=mx.init.Zero())
    with pytest.warns(UserWarning, match="Parameter 'w' is already initialized, ignoring"):
        p.initialize(init=mx.init.One())
    assert np.all(p.data().asnumpy() == 0)
    p.initialize(init=mx.init.One(), force_reinit=True)
    assert np.all(p.data().asnumpy() == 1)


def test_own_init_takes_precedence_over_default():
    p = gluon.Parameter("b", shape=(3,), init="ones")
    p.initialize(default_init=mx.init.Zero())
    assert np.all(p.data().asnumpy() == 1)


def test_set_data_before_and_after_deferred_init():
    p = gluon.Parameter("w", shape=(2, 0), allow_deferred_init=True)
    p.initialize()
    p.set_data(nd.ones((2, 3)) * 5)
    assert p.shape == (2, 3)
    p._finish_deferred_init()
    assert np.all(p.data().asnumpy() == 5)
    p.set_data(nd.full((2, 3), 2.0))
    assert np.all(p.data().asnumpy() == 2)


def test_grad_req_null_detaches_and_add_accumulates():
    p = gluon.Parameter("w", shape=(2,))
    p.initialize(init=mx.init.One())
    p.grad_req = "add"
    for _ in range(2):
        with autograd.record():
            y = (p.data() * 2).sum()
        y.backward()
    assert np.all(p.grad().asnumpy() == 4)
    p.grad_req = "null"
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    with pytest.raises(AssertionError, match="grad_req must be one of"):
        p.grad_req = "sometimes"
    nd_p = gluon.Parameter("nd", shape=(2,), differentiable=False)
    assert nd_p.grad_req == "null"


def test_cast_and_reset_ctx_keep_values():
    p = gluon.Parameter("w", shape=(2, 2))
    p.initialize(init=mx.init.One(), ctx=[mx.cpu(0), mx.cpu(1)])
    p.data(mx.cpu(1))[:] = 3  # copies differ: reset_ctx averages them
    p.reset_ctx(mx.cpu(2))
    assert p.list_ctx() == [mx.cpu(2)]
    assert np.all(p.data().asnumpy() == 2)
    p.cast("float64")
    assert p.data().dtype == np.float64 and p.grad().dtype == np.float64
    with autograd.record():
        y = p.data().sum()
    y.backward()
    assert np.all(p.grad().asnumpy() == 1)


def test_var_carries_attributes():
    p = gluon.Parameter("fc_weight", shape=(4, 0), lr_mult=2.0, wd_mult=0.5)
    var = p.var()
    assert var.name == "fc_weight"
    attrs = var.list_attr()
    assert attrs["__shape__"] == "(4, 0)" and attrs["__lr_mult__"] == "2.0"
    assert attrs["__wd_mult__"] == "0.5"


def test_constant():
    c = Constant("const", [[1, 2], [3, 4]])
    assert repr(c) == "Constant const (shape=(2, 2), dtype=<class 'numpy.float32'>)"
    c.initialize(init=mx.init.Zero())
    assert_close(c.data(), [[1, 2], [3, 4]])
    assert c.grad_req == "null"
    with pytest.warns(UserWarning, match="does not support grad_req"):
        c.grad_req = "write"


# ---- ParameterDict ----


def test_parameter_dict_repr_and_prefix_seed_004():
    strings = mxnet_strings()
    pd = gluon.ParameterDict(prefix="custom_layer_name")
    pd.get("custom_layer_param1", shape=(3, 3))
    assert repr(pd) == strings["repr(ParameterDict)"]
    assert list(pd.keys()) == strings["ParameterDict keys"]


def test_get_returns_existing_and_fills_unknown_dims():
    pd = ParameterDict("net_")
    w = pd.get("w", shape=(4, 0))
    assert pd.get("w", shape=(4, 7)) is w and w.shape == (4, 7)
    with pytest.raises(AssertionError, match="desired attribute does not match"):
        pd.get("w", shape=(5, 7))
    assert pd.get("w", dtype="float32") is w


def test_shared_dict_and_update():
    base = ParameterDict("a_")
    w = base.get("w", shape=(1,))
    shared = ParameterDict("a_", shared=base)
    assert shared.get("w") is w
    other = ParameterDict()
    other.update(shared)
    assert other["a_w"] is w
    clash = ParameterDict("a_")
    clash.get("w", shape=(1,))
    with pytest.raises(AssertionError, match="different Parameters with the same name 'a_w'"):
        other.update(clash)


def test_get_constant():
    pd = ParameterDict("p_")
    c = pd.get_constant("c", nd.array([1, 2]))
    assert pd.get_constant("c") is c and c.name == "p_c"
    with pytest.raises(KeyError, match="No constant named 'p_d'"):
        pd.get_constant("d")
    with pytest.raises(AssertionError, match="value doesn't match"):
        pd.get_constant("c", [5, 6])


def test_setattr_zero_grad_list_ctx():
    pd = ParameterDict("x_")
    a, b = pd.get("a", shape=(2,)), pd.get("b", shape=(3,))
    pd.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    assert pd.list_ctx() == [mx.cpu(0), mx.cpu(1)]
    pd.setattr("lr_mult", 0.1)
    assert a.lr_mult == b.lr_mult == 0.1
    pd.setattr("grad_req", "null")
    assert a.grad_req == "null"


def test_save_load_strip_and_restore_prefix(tmp_path):
    pd = ParameterDict("net0_")
    pd.get("w", shape=(2, 3))
    pd.get("b", shape=(3,))
    pd.initialize()
    fname = str(tmp_path / "p.params")
    pd.save(fname, strip_prefix="net0_")
    assert sorted(nd.load(fname)) == ["b", "w"]
    with pytest.raises(ValueError, match="Prefix 'zz_' is to be striped"):
        pd.save(fname + "2", strip_prefix="zz_")
    other = ParameterDict("net1_")
    other.get("w", shape=(2, 3))
    other.get("b", shape=(3,))
    other.load(fname, restore_prefix="net1_")
    assert_close(other["net1_w"].data(), pd["net0_w"].data())
    with pytest.raises(AssertionError, match="restore_prefix is 'qq_'"):
        other.load(fname, restore_prefix="qq_")


def test_load_missing_extra_and_dtype_errors(tmp_path):
    fname = str(tmp_path / "p.params")
    nd.save(fname, {"arg:w": nd.ones((2,)), "aux:extra": nd.ones((1,))})
    pd = ParameterDict("m_")
    pd.get("w", shape=(2,))
    pd.get("v", shape=(2,))
    with pytest.raises(AssertionError, match="Parameter 'v' is missing in file: .*p.params"):
        pd.load(fname, restore_prefix="m_")
    with pytest.raises(AssertionError, match="Parameter 'extra' loaded from .* not present"):
        pd.load(fname, restore_prefix="m_", allow_missing=True)
    pd.load(fname, restore_prefix="m_", allow_missing=True, ignore_extra=True)
    assert_close(pd["m_w"].data(), [1, 1])  # arg:/aux: prefixes dropped
    nd.save(fname, {"w": nd.array([1, 2], dtype="float64")})
    with pytest.raises(AssertionError, match="dtype incompatible expected"):
        pd.load(fname, restore_prefix="m_", allow_missing=True)
    pd.load(fname, restore_prefix="m_", allow_missing=True, cast_dtype=True)
    assert pd["m_w"].data().dtype == np.float32
    nd.save(fname, {"w": nd.ones((3,))})
    with pytest.raises(
        AssertionError, match="shape incompatible expected \\(2,\\) vs saved \\(3,\\)"
    ):
        pd.load(fname, restore_prefix="m_", allow_missing=True)


def test_load_completes_deferred_shape(tmp_path):
    fname = str(tmp_path / "p.params")
    nd.save(fname, {"d_w": nd.ones((4, 6))})
    pd = ParameterDict("d_")
    w = pd.get("w", shape=(4, 0), allow_deferred_init=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.initialize(ctx=mx.cpu(1))
    pd.load(fname)
    assert w.shape == (4, 6) and w.list_ctx() == [mx.cpu(1)]
    assert_close(w.data(), np.ones((4, 6)))
