"""The Gluon code of seeds 000, 003 and 004, run as written with ``distnet`` for ``mxnet``
and ``mx.cpu()`` for ``mx.gpu()``; data sets are small IDX files in a temporary
DISTNET_HOME (handwritten digits for FashionMNIST, synthetic bars for MNIST), which the
seeds' models learn within the few steps a test affords.

The only other edits (listed in ``_EDITS``) make Python-2 or notebook-state lines run:
seed 003's ``xrange``/print statements and ``from __future__`` line, its undefined
``test_accuracy`` (a typo in the tutorial), and seed 004's ``sequential18_`` (the counter
of the author's notebook session).
"""

import os
import re

import numpy as np
import pytest

from .data.files import write_idx
from .seed_cells import SEED000, SEED003, SEED004

_PY2_PRINT = (
    "    print 'Epoch %d/%d' % (e+1, epochs)\n"
    "    print '%ds %dus/sample - loss: %.4f - acc: %.4f'%((time.time()-tic),\n"
    "                                                      (time.time()-tic)*10**6//data_size,\n"
    "                                                      total_loss/i,\n"
    "                                                      accuracy/i)\n"
)
_PY3_PRINT = (
    "    print('Epoch %d/%d' % (e+1, epochs))\n"
    "    print('%ds %dus/sample - loss: %.4f - acc: %.4f'%((time.time()-tic),\n"
    "          (time.time()-tic)*10**6//data_size, total_loss/i, accuracy/i))\n"
)
_EDITS = {
    ("003", 13): [
        ("from __future__ import division\n", ""),
        ("xrange(", "range("),
        (_PY2_PRINT, _PY3_PRINT),
    ],
    ("003", 15): [("test_accuracy/i", "total_accuracy/i")],
}


def run_cell(seed, number, cells, namespace, edits=()):
    """Run one seed cell as the seed README says (distnet for mxnet, cpu for gpu)."""
    code = cells[number].replace("mxnet", "distnet").replace("mx.gpu()", "mx.cpu()")
    for old, new in list(_EDITS.get((seed, number), ())) + list(edits):
        assert old in code, f"seed {seed} cell {number} no longer contains {old!r}"
        code = code.replace(old, new)
    exec(compile(code, f"<seed {seed} cell {number}>", "exec"), namespace)
    return namespace


def _write_digits(folder, n_train, n_test, offset):
    """MNIST-format files of real handwritten digits: the 8x8 UCI digits bundled with
    distnet (values 0..16), scaled to 24x24 and centred in 28x28 like MNIST."""
    import distnet.gluon.data.vision as vision

    bundled = np.load(os.path.join(os.path.dirname(vision.__file__), "_digits.npz"))
    images = np.kron(bundled["images"].astype(np.int64) * 255 // 16, np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    labels = bundled["labels"]
    os.makedirs(folder, exist_ok=True)
    for prefix, start, count in (("train", offset, n_train), ("t10k", offset + n_train, n_test)):
        write_idx(
            os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images[start : start + count]
        )
        write_idx(
            os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels[start : start + count]
        )


def _write_bars(folder, n_train, n_test, seed):
    """MNIST-format files of easy synthetic digits: class c is a horizontal bar at a
    height and a vertical bar at a column given by c, jittered by a pixel. LeNet learns
    them within the few steps a test can afford at seed 004's learning rate of 0.5."""
    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    for prefix, count in (("train", n_train), ("t10k", n_test)):
        labels = rng.permutation(np.arange(count) % 10)
        images = np.zeros((count, 28, 28), np.uint8)
        for i, c in enumerate(labels):
            row = 3 + 2 * c + rng.randint(0, 2)
            col = 4 + 2 * ((3 * c) % 10) + rng.randint(0, 2)
            images[i, row : row + 2, 4:24] = 255
            images[i, 4:24, col : col + 2] = 255
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels)


@pytest.fixture
def seed_home(tmp_path, monkeypatch):
    """A DISTNET_HOME with MNIST (synthetic bars) and FashionMNIST (handwritten digits);
    the cells' files go to a fresh working directory."""
    home = tmp_path / "home"
    _write_bars(str(home / "datasets" / "mnist"), 256, 64, seed=0)
    _write_digits(str(home / "datasets" / "fashion-mnist"), 640, 320, offset=400)
    monkeypatch.setenv("DISTNET_HOME", str(home))
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")  # never the network
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _mean_loss(mx, net, loader, values=None):
    params = net.collect_params()
    if values is not None:
        for key, value in values.items():
            params[key].set_data(value)
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    return np.mean([loss_fn(net(d), l).mean().asscalar() for d, l in loader])


def test_seed_000_gluon_cells(seed_home, capsys):
    import distnet as mx

    mx.random.seed(0)  # random data and labels: keep the run reproducible
    np.random.seed(0)
    ns = {}
    for number in (0, 1, 3, 6, 8, 10):
        run_cell("000", number, SEED000, ns)
    mx, net = ns["mx"], ns["net"]
    # Initialize as cell 12 does and keep the starting weights; cell 12's own initialize
    # then warns that the parameters are initialized already and keeps them.
    net.initialize(mx.init.Xavier(magnitude=2.24), ctx=ns["ctx"])
    net(mx.nd.ones((1, 28, 28)))
    start = {k: p.data().copy() for k, p in net.collect_params().items()}
    with pytest.warns(UserWarning, match="is already initialized, ignoring"):
        run_cell("000", 12, SEED000, ns)
    out = capsys.readouterr().out
    epochs = re.findall(r"training metrics at epoch (\d): accuracy=([0-9.]+)", out)
    assert [int(e) for e, _ in epochs] == [0, 1, 2, 3, 4]
    trained = {k: p.data().copy() for k, p in net.collect_params().items()}
    # random data, random labels: the net memorizes, the training loss falls
    before = _mean_loss(mx, net, ns["dataloader"], start)
    after = _mean_loss(mx, net, ns["dataloader"], trained)
    assert after < before
    run_cell("000", 14, SEED000, ns)
    run_cell("000", 15, SEED000, ns)
    assert sorted(os.listdir(seed_home)) == [
        "gluon-model-hybrid-0005.params",
        "gluon-model-hybrid-symbol.json",
        "gluon-model.params",
    ]
    block = mx.gluon.SymbolBlock.imports(
        "gluon-model-hybrid-symbol.json", ["data"], "gluon-model-hybrid-0005.params"
    )
    x = mx.nd.array(np.random.RandomState(0).rand(3, 1, 28, 28))
    np.testing.assert_allclose(block(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)
    again = ns["nn"].HybridSequential()
    with again.name_scope():
        again.add(
            ns["nn"].Flatten(),
            ns["nn"].Dense(128, activation="relu"),
            ns["nn"].Dense(64, activation="relu"),
            ns["nn"].Dense(10),
        )
    again.load_parameters("gluon-model.params")
    np.testing.assert_allclose(again(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)


def test_seed_003_fashion_mnist_learns(seed_home, capsys):
    ns = {}
    for number in (3, 5, 7, 9, 11, 13):
        run_cell("003", number, SEED003, ns)
    out = capsys.readouterr().out
    accs = [float(a) for a in re.findall(r"loss: [0-9.]+ - acc: ([0-9.]+)", out)]
    assert re.findall(r"Epoch (\d)/5", out) == ["1", "2", "3", "4", "5"]
    assert accs[-1] > accs[0] and accs[-1] > 0.8, out
    run_cell("003", 15, SEED003, ns)
    test_acc = float(
        re.search(
            r"Test accuracy:', ([0-9.]+)|Test accuracy: ([0-9.]+)", capsys.readouterr().out
        ).group(2)
    )
    assert test_acc > 0.8


def test_seed_004_walkthrough(seed_home, capsys):
    import distnet as mx

    mx.random.seed(0)  # lr 0.5 on 20 steps: keep the run reproducible
    np.random.seed(0)
    ns = {}
    for number in range(7):
        run_cell("004", number, SEED004, ns)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "4"  # len(train_data): 256 samples in batches of 64
    losses = [float(v) for v in re.findall(r"average loss: ([0-9.]+)", out)]
    assert len(losses) == 5 and losses[-1] < min(2.0, losses[0]), out
    for number in range(7, 14):
        run_cell("004", number, SEED004, ns)
    net = ns["net"]
    run_cell("004", 14, SEED004, ns, [("sequential18_", net.prefix)])
    out = capsys.readouterr().out
    assert f"Parameter {net.prefix}dense0_weight (shape=(4, 4), dtype=float32)" in out
    run_cell("004", 15, SEED004, ns)
    assert ns["net"][0].weight.shape == (4, 0)
    run_cell("004", 16, SEED004, ns)
    assert ns["net"][0].weight.shape == (4, 0)
    run_cell("004", 17, SEED004, ns)
    assert ns["net"][0].weight.shape == (4, 4) and ns["net"][1].weight.shape == (2, 4)
    with pytest.warns(UserWarning, match="deprecated"):
        run_cell("004", 18, SEED004, ns)
    x = ns["x"]
    np.testing.assert_allclose(ns["net2"](x).asnumpy(), ns["net"](x).asnumpy(), rtol=1e-6)
    for number in (19, 20, 21):
        run_cell("004", number, SEED004, ns)
    text = capsys.readouterr().out
    assert '"op": "FullyConnected"' in text and "_dense2_fwd" in text
