"""A tiny SGD updater standing in for distnet.optimizer in the kvstore tests."""

import numpy as np


class SGD:
    """weight -= lr * (rescale_grad * grad + wd * weight); states: a msgpack of counts."""

    def __init__(self, params):
        self.lr = params.get("learning_rate", 0.01)
        self.wd = params.get("wd", 0.0)
        self.rescale = params.get("rescale_grad", 1.0)
        self.momentum = params.get("momentum", 0.0)
        self.multi_precision = params.get("multi_precision", False)
        self.mom = {}

    def __call__(self, key, grad, weight):
        g = self.rescale * grad + self.wd * weight
        if self.momentum:
            m = self.mom.setdefault(key, np.zeros_like(weight))
            m *= self.momentum
            m -= self.lr * g
            weight += m
        else:
            weight -= self.lr * g

    def get_states(self, dump_optimizer=False):
        import msgpack

        return msgpack.packb(
            {str(k): [str(v.dtype), list(v.shape), v.tobytes()] for k, v in self.mom.items()},
            use_bin_type=True,
        )

    def set_states(self, data):
        import msgpack

        doc = msgpack.unpackb(data, raw=False)
        self.mom = {}
        for k, (dt, shape, raw) in doc.items():
            key = int(k) if k.lstrip("-").isdigit() else k
            self.mom[key] = np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def factory(name, params):
    if name != "sgd":
        raise ValueError(f"stand-in factory knows only sgd, got {name}")
    return SGD(params)


def install():
    from kvstore.updaters import register_updater_factory

    register_updater_factory(factory)
