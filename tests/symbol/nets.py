"""The networks of the MXNet reference fixtures, built with distnet (as the fixture
script builds them with MXNet), shared by the symbol and executor tests."""

import distnet as mx

XAVIER = '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3}]'


def seed_mlp(h1=64):
    """Seed 001's MLP: fc1 (h1), relu1, fc2 (10), softmax."""
    net = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(net, name="fc1", num_hidden=h1)
    net = mx.sym.Activation(net, name="relu1", act_type="relu")
    net = mx.sym.FullyConnected(net, name="fc2", num_hidden=10)
    return mx.sym.SoftmaxOutput(net, name="softmax")


def seed002_mlp():
    """Seed 002's MLP: fc1 128, relu1, fc2 64, relu2, fc3 10, softmax."""
    data = mx.symbol.Variable("data")
    fc1 = mx.symbol.FullyConnected(data, name="fc1", num_hidden=128)
    act1 = mx.symbol.Activation(fc1, name="relu1", act_type="relu")
    fc2 = mx.symbol.FullyConnected(act1, name="fc2", num_hidden=64)
    act2 = mx.symbol.Activation(fc2, name="relu2", act_type="relu")
    fc3 = mx.symbol.FullyConnected(act2, name="fc3", num_hidden=10)
    return mx.symbol.SoftmaxOutput(fc3, name="softmax")


def lenet(f1=20, f2=50, hid=500, act1="tanh", act2="relu"):
    """LeNet: two conv/act/max-pool stages, flatten, fc1, act, fc2, softmax."""
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data=data, kernel=(5, 5), num_filter=f1, name="conv1")
    a1 = mx.sym.Activation(c1, act_type=act1, name="act1")
    p1 = mx.sym.Pooling(a1, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    c2 = mx.sym.Convolution(p1, kernel=(5, 5), num_filter=f2, name="conv2")
    a2 = mx.sym.Activation(c2, act_type=act2, name="act2")
    p2 = mx.sym.Pooling(a2, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool2")
    fl = mx.sym.Flatten(p2, name="flatten")
    fc1 = mx.sym.FullyConnected(fl, num_hidden=hid, name="fc1")
    a3 = mx.sym.Activation(fc1, act_type=act1, name="act3")
    fc2 = mx.sym.FullyConnected(a3, num_hidden=10, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


def bn_net(nf=8):
    """conv1 (3x3 pad 1), bn1 (fix_gamma=False), relu1, global avg pool, fc (10), softmax."""
    data = mx.sym.Variable("data")
    c = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=nf, name="conv1")
    b = mx.sym.BatchNorm(c, fix_gamma=False, name="bn1")
    r = mx.sym.Activation(b, act_type="relu", name="relu1")
    p = mx.sym.Pooling(r, global_pool=True, pool_type="avg", kernel=(1, 1), name="gpool")
    f = mx.sym.FullyConnected(p, num_hidden=10, name="fc")
    return mx.sym.SoftmaxOutput(f, name="softmax")


def mlp_auto():
    """The auto-named MLP (flatten0, fullyconnected0, activation0, ...)."""
    data = mx.sym.Variable("data")
    x = mx.sym.flatten(data)
    x = mx.sym.FullyConnected(x, num_hidden=16)
    x = mx.sym.Activation(x, act_type="relu")
    x = mx.sym.FullyConnected(x, num_hidden=10)
    return mx.sym.SoftmaxOutput(x)


def attrs_net(init=XAVIER):
    """Variable attributes, an AttrScope, a name Prefix and a Group."""
    w = mx.sym.Variable(
        "fc_weight", shape=(5, 3), dtype="float32", lr_mult=2.0, wd_mult=0.0, init=init
    )
    d = mx.sym.Variable("data", shape=(4, 3))
    with mx.AttrScope(ctx_group="dev1", lr_mult="0.5", __mood__="happy"):
        fc = mx.sym.FullyConnected(d, weight=w, num_hidden=5, name="fc")
    with mx.name.Prefix("pre_"):
        act = mx.sym.Activation(fc, act_type="sigmoid")
        fc2 = mx.sym.FullyConnected(act, num_hidden=2, name="fc2")
    return mx.sym.Group([fc2, act])


def split_nets():
    """(parts, group of parts with parts[1]*2, auto-named squeezed split)."""
    s = mx.sym.Variable("data")
    parts = mx.sym.SliceChannel(s, num_outputs=3, axis=1, name="split")
    grp = mx.sym.Group([parts[0], parts[1] * 2, parts[2]])
    sq = mx.sym.split(mx.sym.Variable("data"), num_outputs=3, axis=1, squeeze_axis=True)
    return parts, grp, sq


def arith_net():
    """The arithmetic group of the fixtures (x*2 is the second _mulscalar made)."""
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    a = x * 2 + y
    b = 1 - x
    c = x / y
    return mx.sym.Group([a, b, c, x**2, 2**x, -x, x - y, x * y, 3 / x])
