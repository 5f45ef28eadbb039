"""Seed 003, "MXNet/Gluon for users of Tensorflow", the MXNet side as a script on distnet.

The MXNet cells in order, ``distnet`` for ``mxnet`` (the Tensorflow cells are not part of
it). Fixes, each marked where it is made: Python 2's ``xrange`` and ``print`` statements,
the ``from __future__`` import that stood mid-cell, and the last cell's undefined
``test_accuracy`` and averages over ``i`` batches where there were ``i + 1``.

Fashion-MNIST is read from ``$DISTNET_HOME/datasets/fashion-mnist`` (downloaded there
when missing).

    python scripts/examples/gluon_for_tensorflow_users.py
"""

import distnet as mx
from distnet import gluon, init, autograd
from distnet.gluon import nn

# ### Loading the Data
mx_fashion_mnist_train = mx.gluon.data.vision.datasets.FashionMNIST(train=True)
mx_fashion_mnist_test = mx.gluon.data.vision.datasets.FashionMNIST(train=False)


# ### Data preprocessing and transformation
def transformer(data):
    return data.astype("float32") / 255


mx_fashion_mnist_train = mx_fashion_mnist_train.transform_first(transformer)
mx_fashion_mnist_test = mx_fashion_mnist_test.transform_first(transformer)

# ### Model definition
net = nn.HybridSequential()
with net.name_scope():
    net.add(nn.Flatten(), nn.Dense(120, activation="relu"), nn.Dense(10))
net.initialize(init=init.Xavier())
net.hybridize()

# ### Loss and optimizer
softmax_cross_entropy = gluon.loss.SoftmaxCrossEntropyLoss()
trainer = gluon.Trainer(net.collect_params(), "adam")

# ### Train the model
import time
# (the cell's `from __future__ import division` is Python 3's behaviour already)

batch_size = 64
data_size = len(mx_fashion_mnist_train)
epochs = 5
train_data = gluon.data.DataLoader(mx_fashion_mnist_train, batch_size=batch_size, shuffle=True)
test_data = gluon.data.DataLoader(mx_fashion_mnist_test, batch_size=batch_size)


def acc(output, label):
    # output: (batch, num_output) float32 ndarray
    # label: (batch, ) int32 ndarray
    acc = output.argmax(axis=1) == label.astype("float32")
    return acc.mean().asscalar()


for e in range(epochs):  # fixed: xrange
    total_loss = 0
    accuracy = 0
    tic = time.time()
    for i, (data, label) in enumerate(train_data):
        with autograd.record():
            output = net(data)
            loss = softmax_cross_entropy(output, label)
        loss.backward()
        trainer.step(batch_size=128)
        total_loss += loss.mean().asscalar()
        accuracy += acc(output, label)
    # fixed: print statements; averages over the i + 1 batches seen (the cell had i)
    print("Epoch %d/%d" % (e + 1, epochs))
    print(
        "%ds %dus/sample - loss: %.4f - acc: %.4f"
        % (
            (time.time() - tic),
            (time.time() - tic) * 10**6 // data_size,
            total_loss / (i + 1),
            accuracy / (i + 1),
        )
    )

# ### Validate model on test data
total_accuracy = 0
for i, (data, label) in enumerate(test_data):
    with autograd.record():
        output = net(data)
    total_accuracy += acc(output, label)
# fixed: the cell printed an undefined `test_accuracy`, over i batches where there were i + 1
print("Test accuracy:", total_accuracy / (i + 1))
