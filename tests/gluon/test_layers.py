"""gluon.nn layers: every layer gives the same outputs, input gradients, parameter
gradients (and running statistics) hybridized as imperatively; reprs and deferred shapes
as MXNet; a few values against numpy."""

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, nd
from distnet.gluon import nn

from .helpers import assert_close, lenet, load_json, mxnet_strings

# (id, constructor, input shape, training mode, integer input)
LAYERS = [
    ("dense_relu", lambda: nn.Dense(5, activation="relu"), (3, 7), True, False),
    (
        "dense_noflat_nobias",
        lambda: nn.Dense(5, flatten=False, use_bias=False),
        (2, 3, 7),
        True,
        False,
    ),
    ("dropout_predict", lambda: nn.Dropout(0.3), (4, 6), False, False),
    ("batchnorm_train", lambda: nn.BatchNorm(), (4, 3, 5, 5), True, False),
    (
        "batchnorm_global",
        lambda: nn.BatchNorm(scale=False, use_global_stats=True),
        (4, 3, 5),
        True,
        False,
    ),
    ("batchnorm_predict", lambda: nn.BatchNorm(axis=-1), (4, 5, 3), False, False),
    ("instancenorm", lambda: nn.InstanceNorm(scale=True), (2, 3, 6), True, False),
    ("instancenorm_axis2", lambda: nn.InstanceNorm(axis=2), (2, 3, 4, 5), True, False),
    ("layernorm", lambda: nn.LayerNorm(), (3, 8), True, False),
    ("layernorm_axis1", lambda: nn.LayerNorm(axis=1), (3, 4, 2), True, False),
    ("embedding", lambda: nn.Embedding(10, 4), (2, 5), True, True),
    ("flatten", lambda: nn.Flatten(), (2, 3, 4), True, False),
    ("hybridlambda_fn", lambda: nn.HybridLambda(lambda F, x: F.tanh(x) * 2), (3, 4), True, False),
    ("hybridlambda_name", lambda: nn.HybridLambda("relu"), (3, 4), True, False),
    ("act_relu", lambda: nn.Activation("relu"), (3, 4), True, False),
    ("act_sigmoid", lambda: nn.Activation("sigmoid"), (3, 4), True, False),
    ("act_tanh", lambda: nn.Activation("tanh"), (3, 4), True, False),
    ("act_softrelu", lambda: nn.Activation("softrelu"), (3, 4), True, False),
    ("act_softsign", lambda: nn.Activation("softsign"), (3, 4), True, False),
    ("leakyrelu", lambda: nn.LeakyReLU(0.1), (3, 4), True, False),
    ("prelu", lambda: nn.PReLU(), (3, 4), True, False),
    ("prelu_channels", lambda: nn.PReLU(in_channels=3), (2, 3, 4), True, False),
    ("elu", lambda: nn.ELU(0.7), (3, 4), True, False),
    ("selu", lambda: nn.SELU(), (3, 4), True, False),
    ("gelu", lambda: nn.GELU(), (3, 4), True, False),
    ("swish", lambda: nn.Swish(1.5), (3, 4), True, False),
    ("conv1d", lambda: nn.Conv1D(4, 3, padding=1), (2, 3, 9), True, False),
    (
        "conv2d_groups",
        lambda: nn.Conv2D(4, 3, strides=2, groups=2, activation="tanh"),
        (2, 4, 7, 7),
        True,
        False,
    ),
    (
        "conv2d_dilate_nobias",
        lambda: nn.Conv2D(3, (3, 2), dilation=2, use_bias=False),
        (1, 2, 8, 8),
        True,
        False,
    ),
    ("conv3d", lambda: nn.Conv3D(2, 2), (1, 2, 4, 4, 4), True, False),
    (
        "conv1d_t",
        lambda: nn.Conv1DTranspose(3, 3, strides=2, output_padding=1),
        (2, 4, 5),
        True,
        False,
    ),
    (
        "conv2d_t",
        lambda: nn.Conv2DTranspose(3, (3, 2), strides=2, padding=1),
        (2, 2, 4, 4),
        True,
        False,
    ),
    ("conv3d_t", lambda: nn.Conv3DTranspose(2, 2), (1, 2, 3, 3, 3), True, False),
    ("maxpool1d", lambda: nn.MaxPool1D(2), (2, 3, 8), True, False),
    ("maxpool2d_ceil", lambda: nn.MaxPool2D(3, 2, 1, ceil_mode=True), (2, 3, 7, 7), True, False),
    ("maxpool3d", lambda: nn.MaxPool3D(), (1, 2, 4, 4, 4), True, False),
    ("avgpool1d", lambda: nn.AvgPool1D(3, 1), (2, 3, 8), True, False),
    (
        "avgpool2d_nopad_count",
        lambda: nn.AvgPool2D(3, 2, 1, count_include_pad=False),
        (2, 3, 6, 6),
        True,
        False,
    ),
    ("avgpool3d", lambda: nn.AvgPool3D(), (1, 2, 4, 4, 4), True, False),
    ("globalmax1d", lambda: nn.GlobalMaxPool1D(), (2, 3, 5), True, False),
    ("globalmax2d", lambda: nn.GlobalMaxPool2D(), (2, 3, 5, 4), True, False),
    ("globalmax3d", lambda: nn.GlobalMaxPool3D(), (1, 2, 3, 3, 3), True, False),
    ("globalavg1d", lambda: nn.GlobalAvgPool1D(), (2, 3, 5), True, False),
    ("globalavg2d", lambda: nn.GlobalAvgPool2D(), (2, 3, 5, 4), True, False),
    ("globalavg3d", lambda: nn.GlobalAvgPool3D(), (1, 2, 3, 3, 3), True, False),
    ("reflectionpad2d", lambda: nn.ReflectionPad2D(2), (1, 2, 5, 5), True, False),
]


def _run(layer, x_np, train):
    """Forward + backward with a fixed head gradient; returns output, input grad, param
    values and grads."""
    x = nd.array(x_np)
    x.attach_grad()
    with autograd.record(train_mode=train):
        out = layer(x)
    head = nd.array(np.random.RandomState(1).uniform(-1, 1, out.shape))
    out.backward(head)
    params = layer.collect_params()
    values = {k: p.data().asnumpy() for k, p in params.items()}
    grads = {k: p.grad().asnumpy() for k, p in params.items() if p.grad_req != "null"}
    return out.asnumpy(), x.grad.asnumpy(), values, grads


@pytest.mark.parametrize("name,make,shape,train,integer", LAYERS, ids=[c[0] for c in LAYERS])
def test_hybridized_layer_equals_imperative(name, make, shape, train, integer):
    rng = np.random.RandomState(0)
    x_np = (
        rng.randint(0, 10, shape).astype(np.float32)
        if integer
        else rng.uniform(-1, 1, shape).astype(np.float32)
    )
    layer = make()
    layer.initialize(mx.init.Xavier())
    with autograd.pause():
        layer(nd.array(x_np))  # complete deferred initialization
    start = {k: p.data().copy() for k, p in layer.collect_params().items()}
    imperative = _run(layer, x_np, train)
    for key, param in layer.collect_params().items():
        param.set_data(start[key])  # running statistics back to where they were
    layer.hybridize()
    hybrid = _run(layer, x_np, train)
    assert layer._hybrid_cache.op is not None, "the hybridized layer did not build its cached op"
    assert_close(hybrid[0], imperative[0], rtol=1e-5, atol=1e-6, msg=f"{name} output")
    if not integer:
        assert_close(hybrid[1], imperative[1], rtol=1e-5, atol=1e-6, msg=f"{name} dx")
    for key in imperative[2]:
        assert_close(
            hybrid[2][key], imperative[2][key], rtol=1e-5, atol=1e-6, msg=f"{name} {key} value"
        )
    for key in imperative[3]:
        assert_close(
            hybrid[3][key], imperative[3][key], rtol=1e-5, atol=1e-6, msg=f"{name} {key} grad"
        )


def test_dense_values_against_numpy():
    layer = nn.Dense(3, activation="relu", in_units=4)
    layer.initialize(mx.init.Xavier())
    x = np.random.RandomState(2).randn(5, 4).astype(np.float32)
    w, b = layer.weight.data().asnumpy(), layer.bias.data().asnumpy()
    assert_close(layer(nd.array(x)), np.maximum(x @ w.T + b, 0), rtol=1e-5)
    flat = nn.Dense(2, flatten=False, in_units=4)
    flat.initialize()
    assert flat(nd.ones((3, 5, 4))).shape == (3, 5, 2)


def test_dropout_drops_in_training_only():
    layer = nn.Dropout(0.5)
    x = nd.ones((200, 50))
    assert_close(layer(x), x.asnumpy())  # inference: identity
    with autograd.record():
        y = layer(x).asnumpy()
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    assert np.allclose(y[kept], 2.0)
    shared = nn.Dropout(0.5, axes=(1,))
    with autograd.record():
        z = shared(x).asnumpy()
    assert np.all((z == z[:, :1]))  # the mask is shared along axis 1


def test_batchnorm_running_stats_follow_momentum():
    layer = nn.BatchNorm(in_channels=2, momentum=0.9)
    layer.initialize()
    x = np.random.RandomState(3).randn(6, 2, 3).astype(np.float32)
    with autograd.record():
        y = layer(nd.array(x))
    y.backward()
    mean = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))
    assert_close(layer.running_mean.data(), 0.1 * mean, rtol=1e-5, atol=1e-6)
    assert_close(layer.running_var.data(), 0.9 + 0.1 * var, rtol=1e-4, atol=1e-6)
    assert_close(
        y, (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-5), rtol=1e-4, atol=1e-5
    )


def test_deferred_shapes_of_conv_and_norm_layers():
    net = lenet()
    net.initialize()
    assert net[0].weight.shape == (20, 0, 5, 5)
    net(nd.ones((2, 1, 16, 16)))
    meta = load_json("gluon_lenet_meta.json")
    shapes = [tuple(s) for s in meta["shapes"].values()]
    assert [p.shape for p in net.collect_params().values()] == shapes
    assert repr(net) == meta["repr"]
    bn = nn.BatchNorm()
    bn.initialize()
    bn(nd.ones((2, 7, 3)))
    assert bn.gamma.shape == bn.running_var.shape == (7,)


def test_reprs_match_mxnet():
    strings = mxnet_strings()
    with mx.name.NameManager():
        net = lenet(nn.Sequential)
    assert repr(net) == strings["repr(lenet) seed 004 (Sequential)"]
    assert list(net.collect_params().keys()) == [
        k.replace("sequential1_", "sequential0_") for k in strings["lenet collect_params keys"]
    ]
    misc = nn.HybridSequential()
    with misc.name_scope():
        misc.add(
            nn.BatchNorm(),
            nn.Dropout(0.5),
            nn.Embedding(10, 3),
            nn.Conv2DTranspose(4, 3),
            nn.AvgPool2D(),
            nn.GlobalMaxPool2D(),
            nn.LayerNorm(),
            nn.Activation("tanh"),
            nn.LeakyReLU(0.1),
            nn.HybridLambda("relu"),
            nn.Conv1D(2, 3, strides=2, padding=1, use_bias=False),
            nn.Dense(5, in_units=3),
        )
    assert repr(misc) == strings["repr(misc layers)"]


def test_sequential_add_index_slice_len():
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(3), nn.Dense(4))
        net.add(nn.Dense(5))
    assert len(net) == 3 and net[1] is list(net._children.values())[1]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is net[0]
    assert head.prefix == net.prefix
    hnet = nn.HybridSequential()
    hnet.add(nn.Dense(2))
    assert isinstance(hnet[0:1], nn.HybridSequential)
    with pytest.warns(UserWarning, match="Consider using HybridSequential"):
        net.hybridize()


def test_layer_argument_errors():
    with pytest.raises(AssertionError, match="Only supports 'NCW'"):
        nn.Conv1D(2, 3, layout="NWC")
    with pytest.raises(AssertionError, match="kernel_size must be a number or a list of 2"):
        nn.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="Slope coefficient for LeakyReLU"):
        nn.LeakyReLU(-1)
    with pytest.raises(AssertionError, match="not found in ndarray"):
        nn.Lambda("no_such_op")


def test_positional_arguments_follow_mxnet_signatures():
    conv = nn.Conv2D(8, 3, 2, 1, 2)  # channels, kernel, strides, padding, dilation
    assert conv._kwargs["dilate"] == (2, 2) and conv._kwargs["pad"] == (1, 1)
    deconv = nn.Conv2DTranspose(8, 3, 2, 1, 1)  # ..., padding, output_padding
    assert deconv._kwargs["adj"] == (1, 1)
    pool = nn.MaxPool3D(2, 2, 0, True)  # MaxPool3D: ceil_mode before layout
    assert pool._kwargs["pooling_convention"] == "full"
    avg = nn.AvgPool1D(2, 2, 0, "NWC")  # AvgPool1D: layout before ceil_mode
    assert avg._kwargs["layout"] == "NWC"


def test_operator_errors_name_the_layer():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(3, in_units=4), nn.Dense(2, in_units=3))
    net.initialize()
    with pytest.raises(
        mx.base.MXNetError,
        match=r"weight has shape \(3, 4\), expected "
        r"\(3, 5\) \(in block net_dense0\)$",
    ):
        net(nd.ones((2, 5)))


def test_lambda_blocks():
    x = nd.array([[-1.0, 0.5]])
    seq = nn.Sequential()
    seq.add(nn.Lambda("tanh"), nn.Lambda(lambda v: v * 2))
    assert_close(seq(x), np.tanh([[-1.0, 0.5]]) * 2, rtol=1e-6)
    assert repr(seq[0]) == "Lambda(tanh)"
    with pytest.raises(ValueError, match="Unrecognized function in lambda"):
        nn.Lambda(3)
    hybrid = nn.HybridLambda(lambda F, v, w: F.broadcast_add(v, w))
    assert_close(hybrid(x, nd.ones((1, 1))), [[0.0, 1.5]])
