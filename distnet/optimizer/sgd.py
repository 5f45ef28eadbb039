"""SGD and its relatives: SGD (momentum), NAG, Signum, SGLD, LARS, DCASGD, and MXNet's
``ccsgd`` and ``test`` optimizers. Formulas are those of MXNet's update kernels."""

from .. import config

import numpy as np

from .optimizer import Optimizer, register
from ._builtin import Builtin, zeros_like_state

__all__ = ["SGD", "ccSGD", "NAG", "Signum", "SGLD", "LARS", "DCASGD", "Test"]


def _sgd_step(opt, xp, w, g, mom, lr, wd, momentum):
    """MXNet's sgd_update / sgd_mom_update:
    ``mom = momentum*mom - lr*wd*w - lr*clip(rescale*g); w += mom`` (no momentum:
    ``w = (1 - lr*wd)*w - lr*clip(rescale*g)``)."""
    c = opt.clip_gradient
    if mom is None and (c is None or c <= 0):
        # two passes instead of three: the update is memory-bound once forward/backward
        # have evicted the weights from the caches
        tmp = opt._tmp(w, 0)
        xp.multiply(g, lr * opt.rescale_grad, out=tmp)
        if wd:
            xp.multiply(w, 1.0 - lr * wd, out=w)
        xp.subtract(w, tmp, out=w)
        return
    tmp = opt._rescaled(xp, w, g)
    tmp *= lr
    if mom is None:
        if wd:
            xp.multiply(w, 1.0 - lr * wd, out=w)
        xp.subtract(w, tmp, out=w)
        return
    xp.multiply(mom, momentum, out=mom)
    xp.subtract(mom, tmp, out=mom)
    if wd:
        xp.multiply(w, lr * wd, out=tmp)
        xp.subtract(mom, tmp, out=mom)
    xp.add(w, mom, out=w)


@register
class SGD(Builtin):
    """Stochastic gradient descent with momentum and weight decay::

        state = momentum * state + lr * (clip(rescale_grad * grad) + wd * weight)
        weight = weight - state

    (the state is stored negated, as MXNet's kernel does). ``lazy_update`` is accepted
    for compatibility; all arrays are dense so updates are always standard.
    """

    _master_first = False

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = config.get("MXNET_OPTIMIZER_AGGREGATION_SIZE")

    def create_state(self, index, weight):
        return zeros_like_state(weight) if self.momentum != 0.0 else None

    def _step(self, xp, index, w, g, state, lr, wd):
        _sgd_step(self, xp, w, g, state, lr, wd, self.momentum)


@register
class ccSGD(SGD):  # noqa: N801 - MXNet's registered name
    """[DEPRECATED] Same as SGD (kept so ``create('ccsgd')`` works)."""


@register
class NAG(Builtin):
    """Nesterov accelerated gradient, as MXNet's nag_mom_update kernel::

        mom = momentum * mom
        G = lr * (clip(rescale_grad * grad) + wd * weight)
        weight = weight + momentum * mom - (1 + momentum) * G
        mom = mom - lr * (clip(rescale_grad * grad) + wd * weight)

    The last line reads the *updated* weight: MXNet's kernel writes the weight in place
    before it updates the momentum. distnet keeps that so training matches MXNet's
    numbers; with ``wd=0`` it is exactly Nesterov momentum.
    """

    _master_first = False

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return zeros_like_state(weight) if self.momentum != 0.0 else None

    def _step(self, xp, index, w, g, mom, lr, wd):
        if mom is None:
            _sgd_step(self, xp, w, g, None, lr, wd, 0.0)
            return
        momentum = self.momentum
        step = self._rescaled(xp, w, g)
        step *= lr
        big = self._tmp(w, 1)
        if wd:
            xp.multiply(w, lr * wd, out=big)
            big += step
        else:
            big[...] = step
        big *= 1.0 + momentum
        mom *= momentum
        w -= big
        xp.multiply(mom, momentum, out=big)
        w += big
        mom -= step
        if wd:
            xp.multiply(w, lr * wd, out=big)
            mom -= big


@register
class Signum(Builtin):
    """Sign of the momentum (signSGD when ``momentum=0``)::

    state = momentum * state - (1 - momentum) * (wd * weight + clip(rescale_grad * grad))
    weight = (1 - lr * wd_lh) * weight + lr * sign(state)
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        return zeros_like_state(weight) if self.momentum != 0.0 else None

    def _step(self, xp, index, w, g, mom, lr, wd):
        tmp = self._rescaled(xp, w, g)
        if mom is None:  # signsgd_update
            xp.sign(tmp, out=tmp)
            tmp *= lr
            if wd:
                xp.multiply(w, 1.0 - lr * wd, out=w)
            xp.subtract(w, tmp, out=w)
            return
        if wd:
            tmp2 = self._tmp(w, 1)
            xp.multiply(w, wd, out=tmp2)
            tmp += tmp2
        tmp *= 1.0 - self.momentum
        xp.multiply(mom, self.momentum, out=mom)
        xp.subtract(mom, tmp, out=mom)
        xp.sign(mom, out=tmp)
        tmp *= lr
        if self.wd_lh:
            xp.multiply(w, 1.0 - lr * self.wd_lh, out=w)
        xp.add(w, tmp, out=w)


@register
class SGLD(Builtin):
    """Stochastic gradient Langevin dynamics::

        weight += -lr/2 * (clip(rescale_grad * grad) + wd * weight) + N(0, sqrt(lr))

    The noise is drawn from ``distnet.random``'s generator.
    """

    def _step(self, xp, index, w, g, state, lr, wd):
        from ..random import generator

        tmp = self._rescaled(xp, w, g)
        if wd:
            tmp2 = self._tmp(w, 1)
            xp.multiply(w, wd, out=tmp2)
            tmp += tmp2
        tmp *= -lr / 2
        w += tmp
        noise = generator(xp).normal(0.0, float(np.sqrt(lr)), size=w.shape)
        w += noise.astype(w.dtype, copy=False)


@register
class LARS(Builtin):
    """SGD with layer-wise adaptive rate scaling (https://arxiv.org/abs/1708.03888)::

        lr_layer = lr * eta * |w| / (|rescale_grad * g| + wd * |w| + eps)
                   (when both norms are > 0; names ending in gamma/beta/bias keep lr)

    then an SGD (momentum) step; with ``momentum_correction`` the momentum is scaled by
    the ratio of the current to the previous global learning rate.
    """

    _master_first = False
    _runtime_attrs = ("last_lr", "cur_lr")

    def __init__(
        self, momentum=0.0, lazy_update=True, eta=0.001, eps=0, momentum_correction=True, **kwargs
    ):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.momentum_correction = momentum_correction
        self.lazy_update = lazy_update
        self.aggregate_num = config.get("MXNET_OPTIMIZER_AGGREGATION_SIZE")
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return [lr * self._mult(i, self.lr_mult, "lr_mult") for i in indices]

    @staticmethod
    def _decays(name):
        return name.endswith("_weight")

    def create_state(self, index, weight):
        return zeros_like_state(weight) if self.momentum != 0.0 else None

    def _step(self, xp, index, w, g, mom, lr, wd):
        name = self.idx2name.get(index, str(index))
        if not name.endswith(("gamma", "beta", "bias")):
            w_norm = float(xp.linalg.norm(w.reshape(-1).astype(np.float32, copy=False)))
            g_norm = float(xp.linalg.norm(g.reshape(-1).astype(np.float32, copy=False))) * abs(
                self.rescale_grad
            )
            if w_norm > 0.0 and g_norm > 0.0:
                lr *= self.eta * w_norm / (g_norm + wd * w_norm + self.eps)
        momentum = self.momentum
        if momentum > 0 and self.momentum_correction and self.last_lr:
            momentum *= self.cur_lr / self.last_lr
        _sgd_step(self, xp, w, g, mom, lr, wd, momentum)


@register
class DCASGD(Builtin):
    """Delay-compensated asynchronous SGD (https://arxiv.org/abs/1609.08326)::

        g = clip(rescale_grad * grad)
        mom = momentum * mom - lr * (g + wd * w + lamda * g * g * (w - w_prev))
        w_prev = w;  w += mom

    MXNet 1.9 fails with ``momentum != 0`` (it tests an NDArray's truth value); distnet
    runs the update as documented.
    """

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        mom = zeros_like_state(weight) if self.momentum != 0.0 else None
        return (mom, weight.copy())

    def _step(self, xp, index, w, g, state, lr, wd):
        mom, prev = state
        grad = self._rescaled(xp, w, g)
        tmp = self._tmp(w, 1)
        xp.subtract(w, prev, out=tmp)
        tmp *= grad
        tmp *= grad
        tmp *= self.lamda
        tmp += grad
        if wd:
            xp.multiply(w, wd, out=grad)
            tmp += grad
        tmp *= -lr
        if mom is not None:
            mom *= self.momentum
            mom += tmp
            tmp = mom
        prev[...] = w
        w += tmp


@register
class Test(Optimizer):
    """MXNet's test optimizer: ``weight += rescale_grad * grad``; the state copies the
    weight."""

    def create_state(self, index, weight):
        from ..ndarray import zeros

        return zeros(weight.shape, weight.context)

    def update(self, index, weight, grad, state):
        weight[:] = weight + grad * self.rescale_grad
        state[:] = weight
