"""infer_shape_partial with partly known shapes (0 = unknown dimension), as MXNet 1.9.1:
parameters whose shapes do not depend on the unknown dimensions are inferred."""

import distnet as mx


def test_fully_connected_weights_from_a_partly_known_batch():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=10, name="fc")
    assert fc.infer_shape_partial() == ([(), (), ()], [()], [])
    assert fc.infer_shape_partial(data=(0, 5)) == ([(0, 5), (10, 5), (10,)], [(0, 10)], [])


def test_convolution_weights_when_batch_and_image_size_are_unknown():
    # MXNet 1.9.1 prints ([(0, 3, 0, 0), (4, 3, 3, 3), (4,)], [(0, 4, 0, 0)], [])
    conv = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name="c")
    assert conv.infer_shape_partial(data=(0, 3, 0, 0)) == (
        [(0, 3, 0, 0), (4, 3, 3, 3), (4,)],
        [(0, 4, 0, 0)],
        [],
    )
    pooled = mx.sym.Pooling(conv, kernel=(2, 2), stride=(2, 2), pool_type="max")
    head = mx.sym.FullyConnected(pooled, num_hidden=5, name="f")
    args, outs, _ = head.infer_shape_partial(data=(0, 3, 0, 0))
    assert args[1:3] == [(4, 3, 3, 3), (4,)] and args[4] == (5,) and outs == [(0, 5)]


def test_batchnorm_and_a_chain_of_layers():
    bn = mx.sym.BatchNorm(mx.sym.var("data"), name="bn")
    assert bn.infer_shape_partial(data=(0, 3, 0, 0)) == (
        [(0, 3, 0, 0), (3,), (3,)],
        [(0, 3, 0, 0)],
        [(3,), (3,)],
    )
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=10, name="fc")
    net = mx.sym.FullyConnected(mx.sym.Activation(fc, act_type="relu"), num_hidden=3, name="fc2")
    assert net.infer_shape_partial(data=(0, 5)) == (
        [(0, 5), (10, 5), (10,), (3, 10), (3,)],
        [(0, 3)],
        [],
    )


def test_complete_inference_is_unchanged():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=10, name="fc")
    assert fc.infer_shape(data=(2, 5)) == ([(2, 5), (10, 5), (10,)], [(2, 10)], [])
