"""mx.operator: Python operators (CustomOp/CustomOpProp) through the one operator registry:
nd.Custom, sym.Custom, autograd, executor, graph JSON, hybridized blocks and Module."""

import json

import numpy as np
import pytest

import distnet as mx
from distnet import autograd
from distnet.base import MXNetError
from distnet.gluon import HybridBlock
from distnet.test_utils import check_numeric_gradient


class _Scale(mx.operator.CustomOp):
    def __init__(self, factor):
        self.factor = factor

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * in_data[0] * self.factor)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], 2 * self.factor * in_data[0] * out_grad[0])


@mx.operator.register("test_scaled_square")
class _ScaleProp(mx.operator.CustomOpProp):
    def __init__(self, factor="1"):
        super().__init__(need_top_grad=True)
        assert isinstance(factor, str)  # attributes arrive as strings, as in MXNet
        self.factor = float(factor)

    def create_operator(self, ctx, shapes, dtypes):
        return _Scale(self.factor)


class _AddSub(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] + in_data[1])
        self.assign(out_data[1], req[1], in_data[0] - in_data[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] + out_grad[1])
        self.assign(in_grad[1], req[1], out_grad[0] - out_grad[1])


@mx.operator.register("test_add_sub")
class _AddSubProp(mx.operator.CustomOpProp):
    def list_arguments(self):
        return ["lhs", "rhs"]

    def list_outputs(self):
        return ["sum", "diff"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0], in_shape[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _AddSub()


def test_nd_custom_forward_backward_and_string_attributes():
    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = mx.nd.Custom(x, op_type="test_scaled_square", factor=3)
    y.backward(mx.nd.array([1.0, 1.0, 2.0]))
    np.testing.assert_allclose(y.asnumpy(), [3.0, 12.0, 27.0])
    np.testing.assert_allclose(x.grad.asnumpy(), [6.0, 12.0, 36.0])
    np.testing.assert_allclose(
        mx.nd.Custom(data=x, op_type="test_scaled_square").asnumpy(), [1.0, 4.0, 9.0]
    )


def test_two_inputs_two_outputs_by_name():
    a, b = mx.nd.array([5.0, 7.0]), mx.nd.array([1.0, 2.0])
    total, diff = mx.nd.Custom(lhs=a, rhs=b, op_type="test_add_sub")
    assert total.asnumpy().tolist() == [6.0, 9.0] and diff.asnumpy().tolist() == [4.0, 5.0]
    sym = mx.sym.Custom(
        mx.sym.Variable("a"), mx.sym.Variable("b"), op_type="test_add_sub", name="as"
    )
    assert sym.list_outputs() == ["as_sum", "as_diff"]
    assert sym.infer_shape(a=(2, 3), b=(2, 3))[1] == [(2, 3), (2, 3)]
    check_numeric_gradient(
        sym[0] * 2 + sym[1] * 3, [np.random.rand(2, 3), np.random.rand(2, 3)], rtol=1e-2, atol=1e-3
    )


def test_symbol_json_keeps_op_type_and_attributes_and_round_trips():
    data = mx.sym.Variable("data")
    sym = mx.sym.Custom(data, op_type="test_scaled_square", factor=2, name="sq")
    node = json.loads(sym.tojson())["nodes"][1]
    assert node["op"] == "Custom" and node["attrs"] == {
        "factor": "2",
        "op_type": "test_scaled_square",
    }
    again = mx.sym.load_json(sym.tojson())
    exe = again.simple_bind(mx.cpu(), data=(2,))
    exe.forward(is_train=True, data=mx.nd.array([1.0, -2.0]))
    exe.backward(mx.nd.ones(2))
    assert exe.outputs[0].asnumpy().tolist() == [2.0, 8.0]
    assert exe.grad_arrays[0].asnumpy().tolist() == [4.0, -8.0]
    assert mx.sym.Custom(op_type="test_scaled_square", name="auto").list_arguments() == [
        "auto_data"
    ]


def test_hybridized_block_and_module_train_through_a_custom_op():
    class Net(HybridBlock):
        def hybrid_forward(self, F, x):
            return F.Custom(x, op_type="test_scaled_square", factor=0.5)

    net = Net()
    net.hybridize()
    x = mx.nd.array([[2.0, 4.0]])
    x.attach_grad()
    with autograd.record():
        out = net(x)
    out.backward()
    assert out.asnumpy().tolist() == [[2.0, 8.0]] and x.grad.asnumpy().tolist() == [[2.0, 4.0]]

    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=1, name="fc")
    loss = mx.sym.MakeLoss(mx.sym.Custom(fc, op_type="test_scaled_square"))
    mod = mx.mod.Module(loss, data_names=["data"], label_names=None)
    rng = np.random.RandomState(0)
    it = mx.io.NDArrayIter(rng.rand(32, 3).astype("float32"), batch_size=8)
    mod.bind(it.provide_data)
    mod.init_params(mx.init.Constant(1.0))
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.05})
    first = last = None
    for _ in range(20):
        it.reset()
        total = 0.0
        for batch in it:
            mod.forward(batch, is_train=True)
            total += float(mod.get_outputs()[0].sum().asscalar())
            mod.backward()
            mod.update()
        first = total if first is None else first
        last = total
    assert last < 0.1 * first  # minimising fc(x)^2 drives the output to zero


def test_errors_name_the_problem():
    with pytest.raises(MXNetError, match="op_type 'nope' is not registered"):
        mx.nd.Custom(mx.nd.ones(2), op_type="nope")
    with pytest.raises(MXNetError, match="'op_type' is missing"):
        mx.nd.Custom(mx.nd.ones(2))
    with pytest.raises(MXNetError, match="CustomOpProp subclass"):
        mx.operator.register("bad")(object)

    class Broken(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            raise ValueError("user code failed")

    @mx.operator.register("test_broken")
    class BrokenProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, shapes, dtypes):
            return Broken()

    with pytest.raises(Exception, match="user code failed"):
        mx.nd.Custom(mx.nd.ones(2), op_type="test_broken")

    @mx.operator.register("test_with_aux")
    class AuxProp(mx.operator.CustomOpProp):
        def list_auxiliary_states(self):
            return ["state"]

    with pytest.raises(MXNetError, match="auxiliary states"):
        mx.sym.Custom(mx.sym.Variable("d"), op_type="test_with_aux").infer_shape(d=(2,))


def test_registered_operator_names_include_custom():
    names = mx.operator.get_all_registered_operators()
    assert "Custom" in names and "FullyConnected" in names


def test_user_exception_arrives_as_mxneterror_with_cause():
    class Boom(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            raise ZeroDivisionError("no luck")

    @mx.operator.register("c1_boom")
    class BoomProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, shapes, dtypes):
            return Boom()

    with pytest.raises(
        MXNetError, match="forward of BoomProp raised ZeroDivisionError: no luck"
    ) as info:
        mx.nd.Custom(mx.nd.ones((2,)), op_type="c1_boom")
    assert isinstance(info.value.__cause__, ZeroDivisionError)


class _Counted(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        aux[0][:] += 1  # an auxiliary state, updated in place
        self.assign(out_data[0], req[0], in_data[0] * in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        assert (aux[0].asnumpy() >= 1).all()
        self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])


@mx.operator.register("c1_counted")
class _CountedProp(mx.operator.CustomOpProp):
    def list_auxiliary_states(self):
        return ["count"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], [in_shape[0]]

    def create_operator(self, ctx, shapes, dtypes):
        return _Counted()


def test_auxiliary_states_bind_and_update_in_place():
    data = mx.sym.var("data")
    op = mx.sym.Custom(data, name="sqr", op_type="c1_counted")
    assert op.list_arguments() == ["data"]
    assert op.list_auxiliary_states() == ["sqr_count"]
    assert mx.sym.load_json(op.tojson()).list_auxiliary_states() == ["sqr_count"]
    named = mx.sym.Custom(data=data, count=mx.sym.var("c"), op_type="c1_counted")
    assert named.list_auxiliary_states() == ["c"]
    with pytest.raises(MXNetError, match=r"inputs \['aux'\] are not among its inputs"):
        mx.sym.Custom(data=data, aux=mx.sym.var("aux"), op_type="c1_counted")
    exe = op.simple_bind(mx.cpu(), data=(2, 3))
    for step in (1, 2):
        exe.forward(is_train=True, data=mx.nd.ones((2, 3)) * 3)
        exe.backward(mx.nd.ones((2, 3)))
        np.testing.assert_array_equal(exe.aux_dict["sqr_count"].asnumpy(), np.full((2, 3), step))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), np.full((2, 3), 9.0))
    np.testing.assert_array_equal(exe.grad_dict["data"].asnumpy(), np.full((2, 3), 6.0))
    # imperative: the state is the trailing positional NDArray
    x, state = mx.nd.ones((2, 3)) * 2, mx.nd.zeros((2, 3))
    x.attach_grad()
    with autograd.record():
        y = mx.nd.Custom(x, state, op_type="c1_counted")
    y.backward()
    np.testing.assert_array_equal(y.asnumpy(), np.full((2, 3), 4.0))
    np.testing.assert_array_equal(x.grad.asnumpy(), np.full((2, 3), 4.0))
    np.testing.assert_array_equal(state.asnumpy(), np.ones((2, 3)))


def test_legacy_numpy_and_ndarray_ops():
    class Square(mx.operator.NumpyOp):
        def forward(self, in_data, out_data):
            assert isinstance(in_data[0], np.ndarray)
            out_data[0][:] = in_data[0] ** 2

        def backward(self, out_grad, in_data, out_data, in_grad):
            in_grad[0][:] = 2 * in_data[0] * out_grad[0]

    x = mx.sym.var("X")
    for op, want_out, want_grad in (
        (mx.operator.NumpyOp(), [3.0, 3.0], [1.0, 2.0]),  # the default is the identity
        (mx.operator.NDArrayOp(), [3.0, 3.0], [1.0, 2.0]),
        (Square(), [9.0, 9.0], [6.0, 12.0]),
    ):
        sym = op.get_symbol(x, name="legacy")
        assert sym.list_arguments() == ["X"]
        dx = mx.nd.zeros((2,))
        exe = sym.bind(mx.cpu(), args=[mx.nd.ones((2,)) * 3], args_grad={"X": dx})
        exe.forward(is_train=True)
        np.testing.assert_array_equal(exe.outputs[0].asnumpy(), want_out)
        exe.backward(mx.nd.array([1.0, 2.0]))
        np.testing.assert_array_equal(dx.asnumpy(), want_grad)
