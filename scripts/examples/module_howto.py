"""Seed 002, MXNet's "Module Interface HowTo", as a script on distnet.

The how-to's snippets in order, ``distnet`` for ``mxnet``. The how-to leaves its data
(``train_dataiter``, ``val_dataiter``), ``n_epoch``, ``metric`` and ``n_epoch_load`` to
the reader; here they are the embedded Digits set (8x8 images, no network needed) and
small numbers, defined in the block marked "the reader's part". ``mod.fit(...,
epoch_end_callback=checkpoint)`` is spelled out with the same arguments as the fit
before it. Writes the ``mymodel-*`` checkpoints into the current folder.

    python scripts/examples/module_howto.py [--epochs 5]
"""

import argparse
import logging

import distnet as mx

# ---- the reader's part: data, epochs, metric ---------------------------------------
parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=5, help="n_epoch (default: 5)")
n_epoch = parser.parse_args().epochs
n_epoch_load = max(n_epoch - 1, 1)
logging.basicConfig(level=logging.INFO)


def _digits(train):
    """The Digits set as (N, 64) float32 pixels on the original 0..16 scale, and float32
    labels. (The snippets train with Module's default Uniform(0.01) initialisation; with
    inputs scaled to [0, 1] the MLP stays at chance, in MXNet 1.9.1 as here.)"""
    ds = mx.gluon.data.vision.Digits(train=train)
    images, labels = next(iter(mx.gluon.data.DataLoader(ds, batch_size=len(ds))))
    return images.reshape((len(ds), 64)).astype("float32") / 16, labels.astype("float32")


train_dataiter = mx.io.NDArrayIter(*_digits(True), batch_size=32, shuffle=True)
val_dataiter = mx.io.NDArrayIter(*_digits(False), batch_size=32)
metric = mx.metric.Accuracy()
# --------------------------------------------------------------------------------------

# ## Preparing a module for computation
# construct a simple MLP
data = mx.symbol.Variable("data")
fc1 = mx.symbol.FullyConnected(data, name="fc1", num_hidden=128)
act1 = mx.symbol.Activation(fc1, name="relu1", act_type="relu")
fc2 = mx.symbol.FullyConnected(act1, name="fc2", num_hidden=64)
act2 = mx.symbol.Activation(fc2, name="relu2", act_type="relu")
fc3 = mx.symbol.FullyConnected(act2, name="fc3", num_hidden=10)
out = mx.symbol.SoftmaxOutput(fc3, name="softmax")

# construct the module
mod = mx.mod.Module(out)

mod.bind(data_shapes=train_dataiter.provide_data, label_shapes=train_dataiter.provide_label)
mod.init_params()

# ## Training, Predicting, and Evaluating
softmax = out  # the how-to's name for the network in this snippet
mod = mx.mod.Module(softmax)
mod.fit(
    train_dataiter,
    eval_data=val_dataiter,
    optimizer_params={"learning_rate": 0.01, "momentum": 0.9},
    num_epoch=n_epoch,
)

print("predict:", mod.predict(val_dataiter).shape)

correct = total = 0
for preds, i_batch, batch in mod.iter_predict(val_dataiter):
    pred_label = preds[0].asnumpy().argmax(axis=1)
    label = batch.label[0].asnumpy().astype("int32")
    # do something...
    keep = len(label) - batch.pad
    correct += int((pred_label[:keep] == label[:keep]).sum())
    total += keep
print("iter_predict: %d of %d correct" % (correct, total))

mod.score(val_dataiter, metric)
print("score:", metric.get())

# ## Saving and Loading Module Parameters
model_prefix = "mymodel"
checkpoint = mx.callback.do_checkpoint(model_prefix)

mod.fit(
    train_dataiter,
    eval_data=val_dataiter,
    optimizer_params={"learning_rate": 0.01, "momentum": 0.9},
    num_epoch=n_epoch,
    epoch_end_callback=checkpoint,
)

sym, arg_params, aux_params = mx.model.load_checkpoint(model_prefix, n_epoch_load)

# assign parameters
mod.set_params(arg_params, aux_params)

mod.fit(
    train_dataiter,
    eval_data=val_dataiter,
    optimizer_params={"learning_rate": 0.01, "momentum": 0.9},
    num_epoch=n_epoch,
    arg_params=arg_params,
    aux_params=aux_params,
    begin_epoch=n_epoch_load,
)
