"""Operator results that follow MXNet 1.9.1 exactly (values checked against it): integer
arange, gather_nd's IndexError, linalg.gemm2's ``axis``, integer mod's gradient."""

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError


def test_arange_integer_dtype_truncates_start_and_step():
    # MXNet 1.9.1: 351 values 1, 2, ..., 351 (start and step cast to int32 first)
    out = mx.nd.arange(1.3, 456.6, 1.3, dtype="int32")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out.asnumpy(), np.arange(1, 352, dtype=np.int32))
    np.testing.assert_array_equal(
        mx.nd.arange(0, 10, 3, repeat=2).asnumpy(), [0, 0, 3, 3, 6, 6, 9, 9]
    )
    np.testing.assert_array_equal(mx.nd.arange(4).asnumpy(), [0, 1, 2, 3])


def test_gather_nd_out_of_bounds_is_an_index_error():
    data = mx.nd.array([[0, 1, 2], [3, 4, 5]])
    for bad in (3, -5):
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds for axis 1") as info:
            mx.nd.gather_nd(data, mx.nd.array([[0, 1, 0], [0, 1, bad]]))
        assert isinstance(info.value, MXNetError)
    np.testing.assert_array_equal(
        mx.nd.gather_nd(data, mx.nd.array([[0, 1], [2, -1]])).asnumpy(), [2, 5]
    )


def test_gemm2_rows_axis_shapes_and_values():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    b = a * 0.5
    out = mx.nd.linalg.gemm2(mx.nd.array(a), mx.nd.array(b), transpose_b=True, axis=0)
    want = [  # MXNet 1.9.1
        [[7.0, 43.0], [63.0, 195.0], [183.0, 411.0]],
        [[43.0, 367.0], [195.0, 615.0], [411.0, 927.0]],
    ]
    np.testing.assert_allclose(out.asnumpy(), want)
    sym = mx.sym.linalg.gemm2(mx.sym.var("a"), mx.sym.var("b"), transpose_b=True, axis=0)
    assert sym.infer_shape(a=(2, 3, 4), b=(2, 3, 4))[1] == [(2, 3, 2)]
    for ax, rows in ((1, 3), (-3, 3), (-4, 2), (0, 2)):
        sym = mx.sym.linalg.gemm2(mx.sym.var("a"), mx.sym.var("b"), transpose_b=True, axis=ax)
        got = mx.nd.linalg.gemm2(
            mx.nd.ones((2, 3, 4, 5)), mx.nd.ones((2, 3, 4, 5)), transpose_b=True, axis=ax
        )
        assert sym.infer_shape(a=(2, 3, 4, 5), b=(2, 3, 4, 5))[1] == [got.shape]
        assert got.shape[ax] == rows and got.shape[-1] == rows


def test_integer_mod_has_no_gradient_and_head_gradient_takes_output_dtype():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    lhs = mx.nd.array([[7, 5, 3]])
    rhs = mx.nd.array([[2, 0, 4]])
    # MXNet 1.9.1: integer mod passes no gradient (zeros, not NaN where rhs == 0)
    c = mx.sym.cast(a, dtype="int32") % mx.sym.cast(b, dtype="int32")
    ga, gb = mx.nd.ones((1, 3)), mx.nd.ones((1, 3))
    exe = c.bind(mx.cpu(), {"a": lhs, "b": rhs}, args_grad=[ga, gb])
    exe.forward(is_train=True)
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), [[1, 0, 3]])
    exe.backward(mx.nd.array([[2.7, 2.7, 2.7]]))
    np.testing.assert_array_equal(ga.asnumpy(), np.zeros((1, 3)))
    np.testing.assert_array_equal(gb.asnumpy(), np.zeros((1, 3)))
    # the head gradient is copied into the int32 output's dtype first: 2.7 -> 2
    c = mx.sym.cast(a, dtype="int32") + mx.sym.cast(b, dtype="int32")
    exe = c.bind(mx.cpu(), {"a": lhs, "b": rhs}, args_grad=[ga, gb])
    exe.forward(is_train=True)
    exe.backward(mx.nd.array([[2.7, 2.7, 2.7]]))
    np.testing.assert_array_equal(ga.asnumpy(), [[2, 2, 2]])
    np.testing.assert_array_equal(gb.asnumpy(), [[2, 2, 2]])


def test_get_operator_arguments_as_mxnet():
    from distnet.operator import OperatorArguments, get_operator_arguments

    args = get_operator_arguments("Activation")  # MXNet 1.9.1's answer, verbatim
    assert isinstance(args, OperatorArguments)
    assert args.narg == 2 and args.names == ["data", "act_type"]
    assert args.types == [
        "NDArray-or-Symbol",
        "{'relu', 'sigmoid', 'softrelu', 'softsign', 'tanh'}, required",
    ]
    fc = get_operator_arguments("FullyConnected")
    assert fc.names == ["data", "weight", "bias", "num_hidden", "no_bias", "flatten"]
    assert fc.types[3:] == [
        "int, required",
        "boolean, optional, default=0",
        "boolean, optional, default=1",
    ]
    with pytest.raises(MXNetError):
        get_operator_arguments("NoSuchOperator")


def test_sequence_reverse_length_zero_reverses_nothing():
    x = mx.nd.array(np.arange(12).reshape(3, 4))
    out = mx.nd.SequenceReverse(x, mx.nd.array([3, 3, 0, 2]), use_sequence_length=True)
    # MXNet 1.9.1
    np.testing.assert_array_equal(out.asnumpy(), [[8, 9, 2, 7], [4, 5, 6, 3], [0, 1, 10, 11]])
    with pytest.raises(MXNetError, match=r"sequence_length must lie in \[0, 3\]"):
        mx.nd.SequenceReverse(x, mx.nd.array([3, 5, 0, 2]), use_sequence_length=True)
    with pytest.raises(MXNetError, match=r"sequence_length must lie in \[1, 3\]"):
        mx.nd.SequenceLast(x, mx.nd.array([3, 3, 0, 2]), use_sequence_length=True)


def test_inputs_given_as_none_are_dropped_as_in_mxnet():
    seq = mx.sym.var("seq")
    rev = mx.sym.SequenceReverse(data=seq, sequence_length=None, use_sequence_length=False)
    assert rev.list_arguments() == ["seq"]
    x = mx.nd.array([[1, 2], [3, 4]])
    out = mx.nd.SequenceReverse(x, sequence_length=None, use_sequence_length=False)
    np.testing.assert_array_equal(out.asnumpy(), [[3, 4], [1, 2]])


def test_layer_norm_parameter_gradients_stay_accurate_over_long_sums():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4096, 512)).astype(np.float32)
    g = rng.normal(size=(4096, 512)).astype(np.float32)
    gamma = rng.normal(size=(512,)).astype(np.float32)
    exe = mx.sym.LayerNorm(mx.sym.var("data"), axis=-1, eps=1e-3, name="ln").simple_bind(
        mx.cpu(), data=x.shape
    )
    exe.arg_dict["data"][:] = x
    exe.arg_dict["ln_gamma"][:] = gamma
    exe.arg_dict["ln_beta"][:] = 0
    exe.forward(is_train=True)
    exe.backward(mx.nd.array(g))
    x64 = x.astype(np.float64)
    xhat = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-3)
    dgamma = exe.grad_dict["ln_gamma"].asnumpy()
    assert dgamma.dtype == np.float32
    np.testing.assert_allclose(dgamma, (g * xhat).sum(0), rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(
        exe.grad_dict["ln_beta"].asnumpy(), g.sum(0, dtype=np.float64), rtol=1e-5, atol=2e-5
    )


def test_ctc_loss_gradient_is_zero_past_each_sequence():
    rng = np.random.RandomState(0)
    values = rng.uniform(-1, 1, (6, 2, 4))
    values[4:, 0] = np.nan  # padding past sequence 0's length 4 must not matter
    data = mx.nd.array(values)
    label = mx.nd.array([[1, 2, 1], [3, 1, 0]])
    data.attach_grad()
    with mx.autograd.record():
        loss = mx.contrib.ndarray.CTCLoss(
            data,
            label,
            mx.nd.array([4, 6]),
            mx.nd.array([3, 2]),
            use_data_lengths=True,
            use_label_lengths=True,
        )
    loss.backward()
    # MXNet 1.9.1
    np.testing.assert_allclose(loss.asnumpy(), [3.35293, 3.85884], rtol=1e-5)
    grad = data.grad.asnumpy()
    np.testing.assert_allclose(grad[3, 0], [0.01867, -0.63905, 0.10398, 0.51639], atol=1e-5)
    np.testing.assert_array_equal(grad[4:, 0], np.zeros((2, 4)))
    assert np.isfinite(grad).all()
