"""The data-loading cells of seeds 000, 003 and 004, run as written (``distnet`` for
``mxnet``, ``mx.cpu()`` for ``mx.gpu()``) on small IDX files in a temporary DISTNET_HOME."""

import importlib.util
import textwrap

import numpy as np
import pytest

# Import lines naming parts other engineers are still building: while the module is
# missing the line runs without that name (everything else in the cell is verbatim).
_PENDING_IMPORTS = {
    "from distnet import nd, gluon, init, autograd": (
        "distnet.initializer",
        "from distnet import nd, gluon, autograd",
    ),
    "from distnet.gluon import nn": ("distnet.gluon.nn", ""),
    "import distnet.gluon.nn as nn": ("distnet.gluon.nn", ""),
}


def _available(module):
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_cell(source, namespace):
    """Execute a notebook cell the way the seed README says: distnet for mxnet."""
    code = textwrap.dedent(source).replace("mxnet", "distnet").replace("mx.gpu()", "mx.cpu()")
    lines = []
    for line in code.splitlines():
        pending = _PENDING_IMPORTS.get(line.strip())
        if pending and not _available(pending[0]):
            line = pending[1]
        lines.append(line)
    exec(compile("\n".join(lines), "<seed cell>", "exec"), namespace)
    return namespace


SEED000_IMPORTS = """
import logging
logging.basicConfig(level=logging.INFO)

import numpy as np
import mxnet as mx
from mxnet.gluon.data import ArrayDataset, DataLoader
from mxnet.gluon import nn
from mxnet import gluon

batch_size = 5
dataset_length = 200
"""
SEED000_RANDOM_DATA = """
train_data = np.random.rand(dataset_length, 28,28).astype('float32')
train_label = np.random.randint(0, 10, (dataset_length,)).astype('float32')
"""
SEED000_DATALOADER = """
dataset = ArrayDataset(train_data, train_label)
dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
for data, label in dataloader:
    print(data.shape, label)
    break
"""
SEED000_NDARRAYITER = """
data_iter = mx.io.NDArrayIter(data=train_data, label=train_label, batch_size=batch_size, shuffle=False, data_name='data', label_name='softmax_label')
for batch in data_iter:
    print(batch.data[0].shape, batch.label[0])
    break;
"""
SEED000_ITER_LOADER = """
class DataIterLoader():
    def __init__(self, data_iter):
        self.data_iter = data_iter

    def __iter__(self):
        self.data_iter.reset()
        return self

    def __next__(self):
        batch = self.data_iter.__next__()
        assert len(batch.data) == len(batch.label) == 1
        data = batch.data[0]
        label = batch.label[0]
        return data, label

    def next(self):
        return self.__next__() # for Python 2
"""
SEED000_ITER_LOADER_USE = """
data_iter = mx.io.NDArrayIter(data=train_data, label=train_label, batch_size=batch_size)
data_iter_loader = DataIterLoader(data_iter)
for data, label in data_iter_loader:
    print(data.shape, label)
    break
"""


def test_seed000_gluon_data_loading(capsys):
    ns = run_cell(SEED000_IMPORTS, {})
    np.random.seed(0)
    run_cell(SEED000_RANDOM_DATA, ns)
    run_cell(SEED000_DATALOADER, ns)
    out = capsys.readouterr().out
    assert out.startswith("(5, 28, 28) \n[")
    assert "<NDArray 5 @cpu(0)>" in out
    np.testing.assert_array_equal(ns["label"].asnumpy(), ns["train_label"][:5])
    np.testing.assert_array_equal(ns["data"].asnumpy(), ns["train_data"][:5])
    assert len(ns["dataloader"]) == 40


def test_seed000_dataiter_cells(capsys):
    io = importlib.import_module("distnet.io") if _available("distnet.io") else None
    if not hasattr(io, "NDArrayIter"):
        pytest.skip("mx.io.NDArrayIter is another part of distnet, not built yet")
    ns = run_cell(SEED000_IMPORTS, {})
    run_cell(SEED000_RANDOM_DATA, ns)
    run_cell(SEED000_NDARRAYITER, ns)
    run_cell(SEED000_ITER_LOADER, ns)
    run_cell(SEED000_ITER_LOADER_USE, ns)
    out = capsys.readouterr().out
    assert out.count("(5, 28, 28) \n[") == 2


SEED003_IMPORTS = """
import mxnet as mx
from mxnet import nd, gluon, init, autograd
from mxnet.gluon import nn
"""
SEED003_DATASETS = """
mx_fashion_mnist_train = mx.gluon.data.vision.datasets.FashionMNIST(train=True)
mx_fashion_mnist_test = mx.gluon.data.vision.datasets.FashionMNIST(train=False)
"""
SEED003_TRANSFORM = """
def transformer(data):
    return data.astype('float32')/255

mx_fashion_mnist_train = mx_fashion_mnist_train.transform_first(transformer)
mx_fashion_mnist_test = mx_fashion_mnist_test.transform_first(transformer)
"""
# The data-loading lines of the training cell (the rest of it is Python 2: print
# statements, xrange, a late `from __future__` import, and needs the model).
SEED003_LOADERS = """
batch_size = 64
data_size = len(mx_fashion_mnist_train)
epochs = 5
train_data = gluon.data.DataLoader(mx_fashion_mnist_train, batch_size=batch_size, shuffle=True)
test_data = gluon.data.DataLoader(mx_fashion_mnist_test, batch_size=batch_size)

def acc(output, label):
    # output: (batch, num_output) float32 ndarray
    # label: (batch, ) int32 ndarray
    acc = (output.argmax(axis=1) == label.astype('float32'))
    return acc.mean().asscalar()
"""


def test_seed003_fashion_mnist_pipeline(distnet_home):
    ns = run_cell(SEED003_IMPORTS, {})
    run_cell(SEED003_DATASETS, ns)
    run_cell(SEED003_TRANSFORM, ns)
    run_cell(SEED003_LOADERS, ns)
    mx, nd = ns["mx"], ns["nd"]
    assert ns["data_size"] == 200 and len(ns["train_data"]) == 4
    seen = []
    for i, (data, label) in enumerate(ns["train_data"]):
        assert data.dtype == np.float32 and data.shape[1:] == (28, 28, 1)
        assert label.dtype == np.int32 and float(data.max().asscalar()) <= 1.0
        onehot = nd.array(np.eye(10)[label.asnumpy()])  # a perfect "network output"
        assert ns["acc"](onehot, label) == 1.0
        seen.extend(label.asnumpy().tolist())
    assert sorted(seen) == sorted(distnet_home["fashion"]["train"][1].tolist())
    sizes = [d.shape[0] for d, _ in ns["test_data"]]
    assert sizes == [64, 36]
    first = next(iter(ns["test_data"]))[0].asnumpy()[..., 0]
    np.testing.assert_allclose(first, distnet_home["fashion"]["test"][0][:64] / 255, rtol=1e-6)
    assert isinstance(mx.gluon.data.vision.datasets.FashionMNIST, type)


SEED004_IMPORTS = """
import mxnet as mx
import mxnet.ndarray as nd
from mxnet import gluon
import mxnet.gluon.nn as nn
"""
SEED004_DATASETS = """
def transform(data, label):
    return data.astype('float32') / 255, label.astype('float32')

minist_train_dataset = gluon.data.vision.MNIST(train=True, transform=transform)
minist_test_dataset = gluon.data.vision.MNIST(train=False, transform=transform)
"""
SEED004_LOADERS = """
batch_size = 64
train_data = gluon.data.DataLoader(dataset=minist_train_dataset, shuffle=True, batch_size=batch_size)
test_data = gluon.data.DataLoader(dataset=minist_train_dataset, shuffle=False, batch_size=batch_size)
"""
SEED004_LEN = """
num_examples = len(train_data)
print(num_examples)
"""
SEED004_ACCURACY = """
def accuracy(output, label):
     return nd.mean(output.argmax(axis=1)==label).asscalar()
def evaluate_accuracy(net, data_iter):
    acc = 0
    for data, label in data_iter:
        data = data.transpose((0,3,1,2))
        data = data.as_in_context(mx.gpu())
        label = label.as_in_context(mx.gpu())
        output = net(data)
        acc += accuracy(output, label)
    return acc / len(data_iter)
"""


def test_seed004_mnist_pipeline(distnet_home, capsys):
    ns = run_cell(SEED004_IMPORTS, {})
    run_cell(SEED004_DATASETS, ns)
    run_cell(SEED004_LOADERS, ns)
    run_cell(SEED004_LEN, ns)
    assert capsys.readouterr().out == "4\n"  # 200 samples in batches of 64
    run_cell(SEED004_ACCURACY, ns)
    nd = ns["nd"]
    shapes = []

    def net(x):  # a stand-in model that always answers class 0
        shapes.append(x.shape)
        return nd.ones((x.shape[0], 10)) * nd.array(np.eye(10)[0])

    got = ns["evaluate_accuracy"](net, ns["test_data"])
    labels = distnet_home["mnist"]["train"][1]
    per_batch = [np.mean(labels[i : i + 64] == 0) for i in range(0, 200, 64)]
    assert got == pytest.approx(np.mean(per_batch), rel=1e-6)
    assert shapes == [(64, 1, 28, 28)] * 3 + [(8, 1, 28, 28)]
    data, label = next(iter(ns["train_data"]))
    assert data.dtype == np.float32 and label.dtype == np.float32
