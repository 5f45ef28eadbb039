"""Seed 001, MXNet's "Training and Inference Module" tutorial, as a script on distnet.

Every code cell of the tutorial in order, ``distnet`` for ``mxnet``. Notebook cells that
end in an expression show its value; here those values are printed. Writes the
``mx_mlp-*`` checkpoints into the current folder.

    python scripts/examples/module_tutorial.py
"""

import logging

import distnet as mx
from data_iter import SyntheticData

# mlp
net = mx.sym.Variable("data")
net = mx.sym.FullyConnected(net, name="fc1", num_hidden=64)
net = mx.sym.Activation(net, name="relu1", act_type="relu")
net = mx.sym.FullyConnected(net, name="fc2", num_hidden=10)
net = mx.sym.SoftmaxOutput(net, name="softmax")
# synthetic 10 classes dataset with 128 dimension
data = SyntheticData(10, 128)
try:
    graph = mx.viz.plot_network(net)
    print("plot_network: %d graph statements" % len(graph.body))
except ImportError as err:  # the graphviz package is the optional 'viz' extra
    print("plot_network skipped: %s" % err)

# ### Create Module
mod = mx.mod.Module(
    symbol=net, context=mx.cpu(), data_names=["data"], label_names=["softmax_label"]
)

# ### Train, Predict, and Evaluate
logging.basicConfig(level=logging.INFO)

batch_size = 32
mod.fit(
    data.get_iter(batch_size),
    eval_data=data.get_iter(batch_size),
    optimizer="sgd",
    optimizer_params={"learning_rate": 0.1},
    eval_metric="acc",
    num_epoch=5,
)

y = mod.predict(data.get_iter(batch_size))
print("shape of predict: %s" % (y.shape,))

for preds, i_batch, batch in mod.iter_predict(data.get_iter(batch_size)):
    pred_label = preds[0].asnumpy().argmax(axis=1)
    label = batch.label[0].asnumpy().astype("int32")
    print("batch %d, accuracy %f" % (i_batch, float(sum(pred_label == label)) / len(label)))

print(mod.score(data.get_iter(batch_size), ["mse", "acc"]))

# ### Save and Load
# construct a callback function to save checkpoints
model_prefix = "mx_mlp"
checkpoint = mx.callback.do_checkpoint(model_prefix)

mod = mx.mod.Module(symbol=net)
mod.fit(data.get_iter(batch_size), num_epoch=5, epoch_end_callback=checkpoint)

sym, arg_params, aux_params = mx.model.load_checkpoint(model_prefix, 3)
print(sym.tojson() == net.tojson())

# assign the loaded parameters to the module
mod.set_params(arg_params, aux_params)

mod = mx.mod.Module(symbol=sym)
mod.fit(
    data.get_iter(batch_size),
    num_epoch=5,
    arg_params=arg_params,
    aux_params=aux_params,
    begin_epoch=3,
)

# ## Module as a computation "machine"
# initial state
mod = mx.mod.Module(symbol=net)

# bind, tell the module the data and label shapes, so
# that memory could be allocated on the devices for computation
train_iter = data.get_iter(batch_size)
mod.bind(data_shapes=train_iter.provide_data, label_shapes=train_iter.provide_label)

# init parameters
mod.init_params(initializer=mx.init.Xavier(magnitude=2.0))

# init optimizer
mod.init_optimizer(optimizer="sgd", optimizer_params=(("learning_rate", 0.1),))

# use accuracy as the metric
metric = mx.metric.create("acc")

# train one epoch, i.e. going over the data iter one pass
for batch in train_iter:
    mod.forward(batch, is_train=True)  # compute predictions
    mod.update_metric(metric, batch.label)  # accumulate prediction accuracy
    mod.backward()  # compute gradients
    mod.update()  # update parameters using SGD

# training accuracy
print(metric.get())

print((mod.data_shapes, mod.label_shapes, mod.output_shapes))
print(mod.get_params())
