"""mx.rnn (the legacy symbolic API): cells bound in Module graphs, FusedRNNCell equal to
its unfused stack, MXNet's unpacked checkpoint names, encode_sentences and
BucketSentenceIter."""

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError


def _bind_forward(sym, shapes, values):
    exe = sym.simple_bind(mx.cpu(), **shapes)
    for name, arr in exe.arg_dict.items():
        arr[:] = values[name]
    exe.forward(is_train=False)
    return exe.outputs[0].asnumpy()


@pytest.mark.parametrize("mode,bidir", [("lstm", False), ("gru", True), ("rnn_tanh", True)])
def test_fused_cell_equals_unfused_stack(mode, bidir):
    fused = mx.rnn.FusedRNNCell(4, num_layers=2, mode=mode, bidirectional=bidir, prefix=f"{mode}_")
    data = mx.sym.var("data")
    f_out, _ = fused.unroll(5, data, layout="NTC", merge_outputs=True)
    u_out, _ = fused.unfuse().unroll(5, data, layout="NTC", merge_outputs=True)
    shapes = {"data": (3, 5, 2)}
    arg_shapes, _, _ = f_out.infer_shape(**shapes)
    rs = np.random.RandomState(0)
    values = {
        n: rs.uniform(-0.5, 0.5, s).astype(np.float32)
        for n, s in zip(f_out.list_arguments(), arg_shapes)
    }
    got = _bind_forward(f_out, shapes, values)
    # the unfused graph takes the same numbers, unpacked into per-gate arrays and packed
    # per cell again
    cells = fused.unfuse()
    unpacked = fused.unpack_weights({k: mx.nd.array(v) for k, v in values.items()})
    packed = cells.pack_weights(unpacked)
    want = _bind_forward(
        u_out, shapes, {k: v.asnumpy() if hasattr(v, "asnumpy") else v for k, v in packed.items()}
    )
    assert got.shape == (3, 5, 4 * (2 if bidir else 1))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_unpack_weights_names_match_mxnet():
    cell = mx.rnn.LSTMCell(3, prefix="lstm_")
    args = {
        "lstm_i2h_weight": mx.nd.zeros((12, 2)),
        "lstm_i2h_bias": mx.nd.zeros(12),
        "lstm_h2h_weight": mx.nd.zeros((12, 3)),
        "lstm_h2h_bias": mx.nd.arange(12),
    }
    unpacked = cell.unpack_weights(args)
    assert sorted(unpacked) == sorted(
        f"lstm_{g}_{k}_{t}" for g in ("i2h", "h2h") for k in "ifco" for t in ("weight", "bias")
    )
    np.testing.assert_array_equal(unpacked["lstm_h2h_f_bias"].asnumpy(), [3, 4, 5])
    back = cell.pack_weights(unpacked)
    np.testing.assert_array_equal(back["lstm_h2h_bias"].asnumpy(), np.arange(12))
    fused = mx.rnn.FusedRNNCell(3, num_layers=2, mode="gru", bidirectional=True, prefix="gru_")
    size = 2 * (9 * (2 + 3 + 2) + 9 * (6 + 3 + 2))
    names = fused.unpack_weights({"gru_parameters": mx.nd.arange(size)})
    assert len(names) == 48 and names["gru_r1_i2h_z_weight"].shape == (3, 6)
    assert "gru_l0_h2h_o_bias" in names


def test_rnn_checkpoint_round_trip(tmp_path):
    cell = mx.rnn.FusedRNNCell(3, num_layers=1, mode="lstm", prefix="lstm_")
    out, _ = cell.unroll(2, mx.sym.var("data"), merge_outputs=True)
    arg = {"lstm_parameters": mx.nd.arange(4 * 3 * (2 + 3 + 2))}
    mx.rnn.save_rnn_checkpoint(cell, str(tmp_path / "m"), 3, out, arg, {})
    saved = mx.nd.load(str(tmp_path / "m-0003.params"))
    assert "arg:lstm_l0_i2h_f_weight" in saved and "arg:lstm_parameters" not in saved
    _, arg2, _ = mx.rnn.load_rnn_checkpoint(cell, str(tmp_path / "m"), 3)
    np.testing.assert_array_equal(
        arg2["lstm_parameters"].asnumpy(), arg["lstm_parameters"].asnumpy()
    )


def test_fused_rnn_initializer_sets_forget_bias():
    cell = mx.rnn.FusedRNNCell(2, num_layers=1, mode="lstm", forget_bias=1.5, prefix="l_")
    out, _ = cell.unroll(2, mx.sym.var("data"), merge_outputs=True)
    mod = mx.mod.Module(out, label_names=None)
    mod.bind(data_shapes=[("data", (1, 2, 3))])
    mod.init_params(mx.init.Xavier())
    params = cell.unpack_weights(mod.get_params()[0])
    np.testing.assert_array_equal(params["l_l0_i2h_f_bias"].asnumpy(), [1.5, 1.5])
    np.testing.assert_array_equal(params["l_l0_i2h_i_bias"].asnumpy(), [0, 0])
    assert np.abs(params["l_l0_i2h_i_weight"].asnumpy()).sum() > 0


def test_encode_sentences_as_mxnet():
    coded, vocab = mx.rnn.encode_sentences([["a", "b"], ["b", "c"]], invalid_label=0, start_label=0)
    assert coded == [[1, 2], [2, 3]] and vocab == {"\n": 0, "a": 1, "b": 2, "c": 3}
    with pytest.raises(MXNetError, match="Unknown token d"):
        mx.rnn.encode_sentences([["d"]], vocab=dict(vocab))


def test_bucket_sentence_iter_batches():
    sents = [[1, 2, 3]] * 4 + [[1, 2, 3, 4, 5]] * 5 + [[9] * 12]
    it = mx.rnn.BucketSentenceIter(sents, 2, buckets=[3, 6], invalid_label=0)
    assert it.default_bucket_key == 6
    assert it.provide_data[0].shape == (2, 6) and it.provide_label[0].name == "softmax_label"
    batches = list(it)
    assert sorted(b.bucket_key for b in batches) == [3, 3, 6, 6]
    for b in batches:
        data, label = b.data[0].asnumpy(), b.label[0].asnumpy()
        assert data.shape == (2, b.bucket_key)
        np.testing.assert_array_equal(label[:, :-1], data[:, 1:])
        assert np.all(label[:, -1] == 0)
    if_b = [b for b in batches if b.bucket_key == 6][0].data[0].asnumpy()
    np.testing.assert_array_equal(if_b[0], [1, 2, 3, 4, 5, 0])
    tn = mx.rnn.BucketSentenceIter(sents, 2, buckets=[3, 6], layout="TN")
    assert tn.provide_data[0].shape == (6, 2) and next(iter(tn)).data[0].shape[1] == 2
