"""mx.rnn graphs have MXNet 1.9.1's node names and shapes (what MXNet's own unit tests and
user code that picks outputs by name rely on)."""

import numpy as np

import distnet as mx


def _steps(n=3):
    return [mx.sym.var(f"rnn_t{i}_data") for i in range(n)]


def _shapes(n=3):
    return {f"rnn_t{i}_data": (10, 50) for i in range(n)}


def test_cells_output_names_and_shapes():
    for cell in (
        mx.rnn.RNNCell(100, prefix="rnn_"),
        mx.rnn.LSTMCell(100, prefix="rnn_"),
        mx.rnn.GRUCell(100, prefix="rnn_"),
    ):
        outputs, _ = cell.unroll(3, _steps())
        group = mx.sym.Group(outputs)
        assert sorted(cell.params._params) == [
            "rnn_h2h_bias",
            "rnn_h2h_weight",
            "rnn_i2h_bias",
            "rnn_i2h_weight",
        ]
        assert group.list_outputs() == [
            "rnn_t0_out_output",
            "rnn_t1_out_output",
            "rnn_t2_out_output",
        ]
        _, outs, _ = group.infer_shape(**_shapes())
        assert outs == [(10, 100)] * 3


def test_stack_bidirectional_and_unfused_names():
    stack = mx.rnn.SequentialRNNCell()
    for i in range(3):
        stack.add(mx.rnn.LSTMCell(100, prefix=f"rnn_stack{i}_"))
    outputs, _ = stack.unroll(3, _steps())
    assert mx.sym.Group(outputs).list_outputs() == [f"rnn_stack2_t{i}_out_output" for i in range(3)]
    assert "rnn_stack1_h2h_weight" in stack.params._params
    bi = mx.rnn.BidirectionalCell(
        mx.rnn.LSTMCell(100, prefix="rnn_l0_"),
        mx.rnn.LSTMCell(100, prefix="rnn_r0_"),
        output_prefix="rnn_bi_",
    )
    outputs, states = bi.unroll(3, _steps())
    group = mx.sym.Group(outputs)
    assert group.list_outputs() == ["rnn_bi_t0_output", "rnn_bi_t1_output", "rnn_bi_t2_output"]
    assert len(states) == 2 and len(states[0]) == 2  # [l_states, r_states]
    assert group.infer_shape(**_shapes())[1] == [(10, 200)] * 3
    unfused = mx.rnn.FusedRNNCell(
        100, num_layers=1, mode="lstm", prefix="test_", bidirectional=True
    ).unfuse()
    outputs, _ = unfused.unroll(3, _steps())
    assert mx.sym.Group(outputs).list_outputs() == [f"test_bi_l0_t{i}_output" for i in range(3)]


def test_lstm_forget_bias_in_module():
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(10, forget_bias=2.0, prefix="l0_"))
    stack.add(mx.rnn.LSTMCell(10, forget_bias=2.0, prefix="l1_"))
    sym, _ = stack.unroll(1, mx.sym.var("data"), merge_outputs=True)
    mod = mx.mod.Module(sym, label_names=None, context=mx.cpu(0))
    mod.bind(data_shapes=[("data", (4, 1, 6))], label_shapes=None)
    mod.init_params()
    want = np.hstack([np.zeros(10), 2.0 * np.ones(10), np.zeros(20)])
    np.testing.assert_allclose(mod.get_params()[0]["l0_i2h_bias"].asnumpy(), want)


def test_residual_and_merged_bidirectional():
    res = mx.rnn.ResidualCell(mx.rnn.GRUCell(50, prefix="rnn_"))
    outputs, _ = res.unroll(2, _steps(2))
    assert mx.sym.Group(outputs).list_outputs() == [
        "rnn_t0_out_plus_residual_output",
        "rnn_t1_out_plus_residual_output",
    ]
    bi = mx.rnn.BidirectionalCell(
        mx.rnn.GRUCell(20, prefix="l_"), mx.rnn.GRUCell(20, prefix="r_"), output_prefix="bi_"
    )
    merged, _ = bi.unroll(3, mx.sym.var("data"), merge_outputs=True)
    assert merged.list_outputs() == ["bi_out_output"]
    assert merged.infer_shape(data=(4, 3, 5))[1] == [(4, 3, 40)]
