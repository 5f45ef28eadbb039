"""Seed 000, MXNet's "Converting Module API code to the Gluon API", as a script on distnet.

Every code cell in order, ``distnet`` for ``mxnet``; the one change (marked) is that
``ctx`` is the GPU only when one is present (the tutorial assumed one). Writes the
``module-model-*`` and ``gluon-model*`` files into the current folder.

    python scripts/examples/module_to_gluon.py
"""

import logging

logging.basicConfig(level=logging.INFO)

import numpy as np
import distnet as mx
from distnet.gluon.data import ArrayDataset, DataLoader
from distnet.gluon import nn
from distnet import gluon

batch_size = 5
dataset_length = 200

# ## I - Data Loading
# #### Module
train_data = np.random.rand(dataset_length, 28, 28).astype("float32")
train_label = np.random.randint(0, 10, (dataset_length,)).astype("float32")

data_iter = mx.io.NDArrayIter(
    data=train_data,
    label=train_label,
    batch_size=batch_size,
    shuffle=False,
    data_name="data",
    label_name="softmax_label",
)
for batch in data_iter:
    print(batch.data[0].shape, batch.label[0])
    break

# #### Gluon
dataset = ArrayDataset(train_data, train_label)
dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
for data, label in dataloader:
    print(data.shape, label)
    break


class DataIterLoader:
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
        return self.__next__()  # for Python 2


data_iter = mx.io.NDArrayIter(data=train_data, label=train_label, batch_size=batch_size)
data_iter_loader = DataIterLoader(data_iter)
for data, label in data_iter_loader:
    print(data.shape, label)
    break

# ## II - Model definition
# The tutorial has ctx = mx.gpu(); the CPU stands in where there is no GPU.
ctx = mx.gpu() if mx.num_gpus() > 0 else mx.cpu()

# #### Module
data = mx.sym.var("data")
data = mx.sym.flatten(data=data)
fc1 = mx.sym.FullyConnected(data=data, num_hidden=128)
act1 = mx.sym.Activation(data=fc1, act_type="relu")
fc2 = mx.sym.FullyConnected(data=act1, num_hidden=64)
act2 = mx.sym.Activation(data=fc2, act_type="relu")
fc3 = mx.sym.FullyConnected(data=act2, num_hidden=10)
mlp = mx.sym.SoftmaxOutput(data=fc3, name="softmax")

# Bind model to Module
mlp_model = mx.mod.Module(
    symbol=mlp, context=ctx, data_names=["data"], label_names=["softmax_label"]
)

# #### Gluon
net = nn.HybridSequential()
with net.name_scope():
    net.add(
        nn.Flatten(),
        nn.Dense(units=128, activation="relu"),
        nn.Dense(units=64, activation="relu"),
        nn.Dense(units=10),
    )

# ## III - Loss
# Softmax with cross entropy loss, directly part of the network
mlp = mx.sym.SoftmaxOutput(data=fc3, name="softmax")

# We simply create a loss function we will use in our training loop
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

# ## IV - Training Loop
# #### Module
mlp_model.fit(
    data_iter,  # train data
    eval_data=data_iter,  # validation data
    optimizer="adam",  # use SGD to train
    force_init=True,
    force_rebind=True,
    optimizer_params={"learning_rate": 0.1},  # use fixed learning rate
    eval_metric="acc",  # report accuracy during training
    num_epoch=5,
)  # train for at most 10 dataset passes

# #### Gluon
# Initialize network and trainer
net.initialize(mx.init.Xavier(magnitude=2.24), ctx=ctx)
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})

# Pick a metric
metric = mx.metric.Accuracy()

for e in range(5):  # start of epoch
    for data, label in dataloader:  # start of mini-batch
        data = data.as_in_context(ctx)
        label = label.as_in_context(ctx)

        with mx.autograd.record():
            output = net(data)  # forward pass
            loss = loss_fn(output, label)  # get loss
            loss.backward()  # compute gradients

        trainer.step(data.shape[0])  # update weights with SGD
        metric.update(label, output)  # update the metrics
        # end of mini-batch
    name, acc = metric.get()
    print("training metrics at epoch %d: %s=%f" % (e, name, acc))
    metric.reset()
    # end of epoch

# ## V - Exporting model
# #### Module
mlp_model.save_checkpoint("module-model", epoch=5)
# nodule-model-0005.params module-model-symbol.json

# #### Gluon
# save only the parameters
net.save_parameters("gluon-model.params")
# gluon-model.params

# save the parameters and the symbolic representation
net.hybridize()
net(mx.nd.ones((1, 1, 28, 28), ctx))

net.export("gluon-model-hybrid", epoch=5)
# gluon-model-hybrid-symbol.json gluon-model-hybrid-0005.params
