"""The Gluon cells of the seed documents, verbatim (copied from the seed documents' code
blocks, in document order; cell numbers count all code blocks). Kept: seed 000 without its
Module/DataIter cells, seed 003 without its TensorFlow cells, all of seed 004."""

SEED000 = {
    0: """\
import logging
logging.basicConfig(level=logging.INFO)

import numpy as np
import mxnet as mx
from mxnet.gluon.data import ArrayDataset, DataLoader
from mxnet.gluon import nn
from mxnet import gluon

batch_size = 5
dataset_length = 200
""",
    1: """\
train_data = np.random.rand(dataset_length, 28,28).astype('float32')
train_label = np.random.randint(0, 10, (dataset_length,)).astype('float32')
""",
    3: """\
dataset = ArrayDataset(train_data, train_label)
dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
for data, label in dataloader:
    print(data.shape, label)
    break
""",
    6: """\
ctx = mx.gpu()
""",
    8: """\
net = nn.HybridSequential()
with net.name_scope():
    net.add(
        nn.Flatten(),
        nn.Dense(units=128, activation="relu"),
        nn.Dense(units=64, activation="relu"),
        nn.Dense(units=10)
    )
""",
    10: """\
# We simply create a loss function we will use in our training loop
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
""",
    12: """\
# Initialize network and trainer
net.initialize(mx.init.Xavier(magnitude=2.24), ctx=ctx)
trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})

# Pick a metric
metric = mx.metric.Accuracy()

for e in range(5): # start of epoch
    
    for data, label in dataloader: # start of mini-batch
        data = data.as_in_context(ctx)
        label = label.as_in_context(ctx)
        
        with mx.autograd.record():
            output = net(data) # forward pass
            loss = loss_fn(output, label) # get loss
            loss.backward() # compute gradients
        
        trainer.step(data.shape[0]) # update weights with SGD
        metric.update(label, output) # update the metrics
        # end of mini-batch
    name, acc = metric.get()
    print('training metrics at epoch %d: %s=%f'%(e, name, acc))
    metric.reset()
    # end of epoch
""",
    14: """\
# save only the parameters
net.save_parameters('gluon-model.params')
# gluon-model.params
""",
    15: """\
# save the parameters and the symbolic representation
net.hybridize()
net(mx.nd.ones((1,1,28,28), ctx))

net.export('gluon-model-hybrid', epoch=5)
# gluon-model-hybrid-symbol.json gluon-model-hybrid-0005.params
""",
}

SEED003 = {
    3: """\
import mxnet as mx
from mxnet import nd, gluon, init, autograd
from mxnet.gluon import nn
""",
    5: """\
mx_fashion_mnist_train = mx.gluon.data.vision.datasets.FashionMNIST(train=True)
mx_fashion_mnist_test = mx.gluon.data.vision.datasets.FashionMNIST(train=False)
""",
    7: """\
def transformer(data):
    return data.astype('float32')/255

mx_fashion_mnist_train = mx_fashion_mnist_train.transform_first(transformer)
mx_fashion_mnist_test = mx_fashion_mnist_test.transform_first(transformer)
""",
    9: """\
net = nn.HybridSequential()
with net.name_scope():
    net.add(
        nn.Flatten(),
        nn.Dense(120, activation="relu"),
        nn.Dense(10)
    )
net.initialize(init=init.Xavier())
net.hybridize()
""",
    11: """\
softmax_cross_entropy = gluon.loss.SoftmaxCrossEntropyLoss()
trainer = gluon.Trainer(net.collect_params(),
                        'adam')
""",
    13: """\
import time
from __future__ import division

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

for e in xrange(epochs):
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
    print 'Epoch %d/%d' % (e+1, epochs)
    print '%ds %dus/sample - loss: %.4f - acc: %.4f'%((time.time()-tic),
                                                      (time.time()-tic)*10**6//data_size,
                                                      total_loss/i,
                                                      accuracy/i)
    
""",
    15: """\
total_accuracy = 0
for i, (data, label) in enumerate(test_data):
        with autograd.record():
            output = net(data)
        total_accuracy += acc(output, label)
print('Test accuracy:', test_accuracy/i)
""",
}

SEED004 = {
    0: """\
import mxnet as mx
import mxnet.ndarray as nd
from mxnet import gluon
import mxnet.gluon.nn as nn
""",
    1: """\
def transform(data, label):
    return data.astype('float32') / 255, label.astype('float32')

minist_train_dataset = gluon.data.vision.MNIST(train=True, transform=transform)
minist_test_dataset = gluon.data.vision.MNIST(train=False, transform=transform)
""",
    2: """\
batch_size = 64
train_data = gluon.data.DataLoader(dataset=minist_train_dataset, shuffle=True, batch_size=batch_size)
test_data = gluon.data.DataLoader(dataset=minist_train_dataset, shuffle=False, batch_size=batch_size)
""",
    3: """\
num_examples = len(train_data)
print(num_examples)
""",
    4: """\
# Step1 定义模型
lenet = nn.Sequential()
with lenet.name_scope():
    lenet.add(nn.Conv2D(channels=20, kernel_size=5, activation='relu'))
    lenet.add(nn.MaxPool2D(pool_size=2, strides=2))
    lenet.add(nn.Conv2D(channels=50, kernel_size=5, activation='relu'))
    lenet.add(nn.MaxPool2D(pool_size=2, strides=2))
    lenet.add(nn.Flatten())
    lenet.add(nn.Dense(128, activation='relu'))
    lenet.add(nn.Dense(10))
# Step2 初始化模型参数
lenet.initialize(ctx=mx.gpu())
# Step3 定义loss
softmax_loss = gluon.loss.SoftmaxCrossEntropyLoss()
# Step4 优化
trainer = gluon.Trainer(lenet.collect_params(), 'sgd', {'learning_rate': 0.5})
""",
    5: """\
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
""",
    6: """\
import mxnet.autograd as ag
epochs = 5
for e in range(epochs):
    total_loss = 0
    for data, label in train_data:
        data = data.transpose((0,3,1,2))
        data = data.as_in_context(mx.gpu())
        label = label.as_in_context(mx.gpu())
        with ag.record():
            output = lenet(data)
            loss = softmax_loss(output, label)
        loss.backward()
        trainer.step(batch_size)
        total_loss += nd.mean(loss).asscalar()
    print("Epoch %d, test accuracy: %f, average loss: %f" % (e, evaluate_accuracy(lenet, test_data), total_loss/num_examples))
""",
    7: """\
class Sequential(nn.Block):
    def __init__(self, **kwargs):
        super(Sequential, self).__init__(**kwargs)
    def add(self, block):
        self._children.append(block)
    def forward(self, x):
        for block in self._children:
            x = block(x)
        return x
""",
    8: """\
my_param = gluon.Parameter('my_params', shape=(3,3))
my_param.initialize()
(my_param.data(), my_param.grad())
""",
    9: """\
pd = gluon.ParameterDict(prefix='custom_layer_name')
pd.get('custom_layer_param1', shape=(3,3))
pd
""",
    10: """\
class MyDense(nn.Block):
    def __init__(self, units, in_units, **kwargs):
        super(MyDense, self).__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get(
                'weight', shape=(in_units, units))
            self.bias = self.params.get('bias', shape=(units,))

    def forward(self, x):
        linear = nd.dot(x, self.weight.data()) + self.bias.data()
        return nd.relu(linear)
""",
    11: """\
def get_net():
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(4, activation='relu'))
        net.add(nn.Dense(2))
    return net
net = get_net()
net.initialize()
""",
    12: """\
#net.initialize(init=mx.init.Xavier())
x = nd.random.normal(shape=(3,4))
net(x)
""",
    13: """\
w = net[0].weight
b = net[0].bias
print('weight:', w.data())
print('weight gradient', w.grad())
print('bias:', b.data())
print('bias gradient', b.grad())
""",
    14: """\
params = net.collect_params()
print(params)
print(params['sequential18_dense0_weight'].data())
print(params.get('dense0_bias').data()) #不需要名字的前缀
""",
    15: """\
net = get_net()
net.collect_params()
""",
    16: """\
net.initialize()
net.collect_params()
""",
    17: """\
net(x)
net.collect_params()
""",
    18: """\
filename = "mynet.params"
net.save_params(filename)
net2 = get_net()
net2.load_params(filename, mx.cpu())
""",
    19: """\
def get_net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(
            nn.Dense(256, activation="relu"),
            nn.Dense(128, activation="relu"),
            nn.Dense(2)
        )
    net.initialize()
    return net

x = nd.random.normal(shape=(1, 512))
net = get_net()
net(x)
""",
    20: """\
net.hybridize()
net(x)
""",
    21: """\
x = mx.sym.var('data')
y = net(x)
print(y.tojson())
""",
}
