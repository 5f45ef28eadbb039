"""Seed 004, "MXNet的新接口Gluon" (the Gluon introduction), as a script on distnet.

Every code cell in order, ``distnet`` for ``mxnet``; cells that end in an expression
print it. Changes, each marked where it is made: ``ctx`` stands for the tutorial's
``mx.gpu()`` and is the CPU where there is no GPU, and the parameter the tutorial looks
up as ``'sequential18_dense0_weight'`` (the 19th net of the author's notebook session)
is looked up by this net's own prefix. MNIST is read from
``$DISTNET_HOME/datasets/mnist`` (downloaded there when missing). Writes ``mynet.params``
into the current folder.

    python scripts/examples/gluon_intro.py
"""

import distnet as mx
import distnet.ndarray as nd
from distnet import gluon
import distnet.gluon.nn as nn

# The tutorial runs on mx.gpu(); the CPU stands in where there is no GPU.
ctx = mx.gpu() if mx.num_gpus() > 0 else mx.cpu()


# ## 数据的读取 (reading the data)
def transform(data, label):
    return data.astype("float32") / 255, label.astype("float32")


minist_train_dataset = gluon.data.vision.MNIST(train=True, transform=transform)
minist_test_dataset = gluon.data.vision.MNIST(train=False, transform=transform)

batch_size = 64
train_data = gluon.data.DataLoader(
    dataset=minist_train_dataset, shuffle=True, batch_size=batch_size
)
test_data = gluon.data.DataLoader(
    dataset=minist_train_dataset, shuffle=False, batch_size=batch_size
)

num_examples = len(train_data)
print(num_examples)

# ## 训练模型 (training a LeNet)
# Step1 定义模型
lenet = nn.Sequential()
with lenet.name_scope():
    lenet.add(nn.Conv2D(channels=20, kernel_size=5, activation="relu"))
    lenet.add(nn.MaxPool2D(pool_size=2, strides=2))
    lenet.add(nn.Conv2D(channels=50, kernel_size=5, activation="relu"))
    lenet.add(nn.MaxPool2D(pool_size=2, strides=2))
    lenet.add(nn.Flatten())
    lenet.add(nn.Dense(128, activation="relu"))
    lenet.add(nn.Dense(10))
# Step2 初始化模型参数
lenet.initialize(ctx=ctx)
# Step3 定义loss
softmax_loss = gluon.loss.SoftmaxCrossEntropyLoss()
# Step4 优化
trainer = gluon.Trainer(lenet.collect_params(), "sgd", {"learning_rate": 0.5})


def accuracy(output, label):
    return nd.mean(output.argmax(axis=1) == label).asscalar()


def evaluate_accuracy(net, data_iter):
    acc = 0
    for data, label in data_iter:
        data = data.transpose((0, 3, 1, 2))
        data = data.as_in_context(ctx)
        label = label.as_in_context(ctx)
        output = net(data)
        acc += accuracy(output, label)
    return acc / len(data_iter)


import distnet.autograd as ag

epochs = 5
for e in range(epochs):
    total_loss = 0
    for data, label in train_data:
        data = data.transpose((0, 3, 1, 2))
        data = data.as_in_context(ctx)
        label = label.as_in_context(ctx)
        with ag.record():
            output = lenet(data)
            loss = softmax_loss(output, label)
        loss.backward()
        trainer.step(batch_size)
        total_loss += nd.mean(loss).asscalar()
    print(
        "Epoch %d, test accuracy: %f, average loss: %f"
        % (e, evaluate_accuracy(lenet, test_data), total_loss / num_examples)
    )


# ## 背后的英雄 nn.Block (the Block behind it all)
class Sequential(nn.Block):
    def __init__(self, **kwargs):
        super(Sequential, self).__init__(**kwargs)

    def add(self, block):
        self._children.append(block)

    def forward(self, x):
        for block in self._children:
            x = block(x)
        return x


my_param = gluon.Parameter("my_params", shape=(3, 3))
my_param.initialize()
print((my_param.data(), my_param.grad()))

pd = gluon.ParameterDict(prefix="custom_layer_name")
print(pd.get("custom_layer_param1", shape=(3, 3)))
print(pd)


# ## 自义我们自己的全连接层 (a custom dense layer)
class MyDense(nn.Block):
    def __init__(self, units, in_units, **kwargs):
        super(MyDense, self).__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(in_units, units))
            self.bias = self.params.get("bias", shape=(units,))

    def forward(self, x):
        linear = nd.dot(x, self.weight.data()) + self.bias.data()
        return nd.relu(linear)


# ## 审视模型的参数 (the model's parameters)
def get_net():
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(4, activation="relu"))
        net.add(nn.Dense(2))
    return net


net = get_net()
net.initialize()

# net.initialize(init=mx.init.Xavier())
x = nd.random.normal(shape=(3, 4))
print(net(x))

w = net[0].weight
b = net[0].bias
print("weight:", w.data())
print("weight gradient", w.grad())
print("bias:", b.data())
print("bias gradient", b.grad())

params = net.collect_params()
print(params)
# The tutorial's net was 'sequential18_' in its notebook; this one's prefix is its own.
print(params[net.prefix + "dense0_weight"].data())
print(params.get("dense0_bias").data())  # 不需要名字的前缀 (no prefix needed)

# ## 延后的初始化 (deferred initialisation)
net = get_net()
print(net.collect_params())

net.initialize()
print(net.collect_params())

net(x)
print(net.collect_params())

# ## 模型参数的保存与加载 (saving and loading parameters)
filename = "mynet.params"
net.save_params(filename)
net2 = get_net()
net2.load_params(filename, mx.cpu())


# ## Hybridize
def get_net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"), nn.Dense(2))
    net.initialize()
    return net


x = nd.random.normal(shape=(1, 512))
net = get_net()
print(net(x))

net.hybridize()
print(net(x))

x = mx.sym.var("data")
y = net(x)
print(y.tojson())
