"""Adaptive optimizers: Adam, AdaGrad, RMSProp, AdaDelta, Adamax, Nadam, Ftrl, FTML, LAMB.
Formulas are those of MXNet 1.x's kernels and Python updates, step ``t`` counting the
updates of each parameter."""

import math

import numpy as np

from .optimizer import register
from ._builtin import Builtin, zeros_like_state

__all__ = ["Adam", "AdaGrad", "RMSProp", "AdaDelta", "Adamax", "Nadam", "Ftrl", "FTML", "LAMB"]


@register
class Adam(Builtin):
    """Adam (https://arxiv.org/abs/1412.6980)::

    g = clip(rescale_grad * grad + wd * weight)
    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
    weight -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)
    """

    def __init__(
        self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, lazy_update=True, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (zeros_like_state(weight), zeros_like_state(weight))

    def _step(self, xp, index, w, g, state, lr, wd):
        mean, var = state
        t = self._index_update_count[index]
        lr *= math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        grad = self._rescaled(xp, w, g, wd)
        tmp = self._tmp(w, 1)
        mean *= self.beta1
        xp.multiply(grad, 1.0 - self.beta1, out=tmp)
        mean += tmp
        var *= self.beta2
        xp.square(grad, out=grad)
        grad *= 1.0 - self.beta2
        var += grad
        xp.sqrt(var, out=tmp)
        tmp += self.epsilon
        xp.divide(mean, tmp, out=tmp)
        tmp *= lr
        xp.subtract(w, tmp, out=w)


@register
class AdaGrad(Builtin):
    """AdaGrad::

    g = clip(rescale_grad * grad);  history += g**2
    weight -= lr * (g / sqrt(history + eps) + wd * weight)
    """

    _arg_attrs = {"eps": "float_stable_eps"}

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros_like_state(weight, np.float32)

    def _step(self, xp, index, w, g, history, lr, wd):
        grad = self._rescaled(xp, w, g)
        tmp = self._tmp(w, 1)
        xp.square(grad, out=tmp)
        history += tmp
        xp.add(history, self.float_stable_eps, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(grad, tmp, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        grad *= lr
        xp.subtract(w, grad, out=w)


@register
class RMSProp(Builtin):
    """RMSProp: Tieleman & Hinton's (``centered=False``)::

        g = clip(rescale_grad * grad + wd * weight)
        n = (1 - gamma1) * g**2 + gamma1 * n
        weight -= lr * g / sqrt(n + epsilon)

    or Graves's (``centered=True``)::

        n = (1 - gamma1) * g**2 + gamma1 * n;  m = (1 - gamma1) * g + gamma1 * m
        delta = gamma2 * delta - lr * g / sqrt(n - m**2 + epsilon);  weight += delta

    with the weight clipped to ``[-clip_weights, clip_weights]`` when set.
    """

    def __init__(
        self,
        learning_rate=0.001,
        gamma1=0.9,
        gamma2=0.9,
        epsilon=1e-8,
        centered=False,
        clip_weights=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        n = 3 if self.centered else 1
        return tuple(zeros_like_state(weight, np.float32) for _ in range(n))

    def _step(self, xp, index, w, g, state, lr, wd):
        grad = self._rescaled(xp, w, g, wd)
        tmp = self._tmp(w, 1)
        n = state[0]
        n *= self.gamma1
        xp.square(grad, out=tmp)
        tmp *= 1.0 - self.gamma1
        n += tmp
        if not self.centered:
            xp.add(n, self.epsilon, out=tmp)
            xp.sqrt(tmp, out=tmp)
            xp.divide(grad, tmp, out=tmp)
            tmp *= lr
            xp.subtract(w, tmp, out=w)
        else:
            _, mean, delta = state
            mean *= self.gamma1
            xp.multiply(grad, 1.0 - self.gamma1, out=tmp)
            mean += tmp
            xp.square(mean, out=tmp)
            xp.subtract(n, tmp, out=tmp)
            tmp += self.epsilon
            xp.sqrt(tmp, out=tmp)
            xp.divide(grad, tmp, out=tmp)
            tmp *= lr
            delta *= self.gamma2
            delta -= tmp
            w += delta
        cw = self.clip_weights
        if cw is not None and cw > 0:
            xp.clip(w, -cw, cw, out=w)


@register
class AdaDelta(Builtin):
    """AdaDelta (https://arxiv.org/abs/1212.5701); the learning rate is not used::

        g = clip(rescale_grad * grad)
        acc_g = rho * acc_g + (1 - rho) * g**2
        delta = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        weight -= delta + wd * weight

    (MXNet rescaled the caller's gradient array in place; distnet leaves it alone.)
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros_like_state(weight, np.float32), zeros_like_state(weight, np.float32))

    def _step(self, xp, index, w, g, state, lr, wd):
        acc_g, acc_delta = state
        grad = self._rescaled(xp, w, g)
        tmp = self._tmp(w, 1)
        acc_g *= self.rho
        xp.square(grad, out=tmp)
        tmp *= 1.0 - self.rho
        acc_g += tmp
        xp.add(acc_delta, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        grad *= tmp  # grad now holds sqrt(acc_delta+eps) * g
        xp.add(acc_g, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(grad, tmp, out=grad)  # delta
        acc_delta *= self.rho
        xp.square(grad, out=tmp)
        tmp *= 1.0 - self.rho
        acc_delta += tmp
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        xp.subtract(w, grad, out=w)


@register
class Adamax(Builtin):
    """AdaMax, Adam with the infinity norm::

    g = clip(rescale_grad * grad + wd * weight)
    m = beta1 * m + (1 - beta1) * g;  u = maximum(beta2 * u, |g|)
    weight -= lr / (1 - beta1**t) * m / u
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return (zeros_like_state(weight), zeros_like_state(weight))

    def _step(self, xp, index, w, g, state, lr, wd):
        m, u = state
        t = self._index_update_count[index]
        lr /= 1.0 - self.beta1**t
        grad = self._rescaled(xp, w, g, wd)
        tmp = self._tmp(w, 1)
        m *= self.beta1
        xp.multiply(grad, 1.0 - self.beta1, out=tmp)
        m += tmp
        u *= self.beta2
        xp.abs(grad, out=grad)
        xp.maximum(u, grad, out=u)
        xp.divide(m, u, out=tmp)
        tmp *= lr
        xp.subtract(w, tmp, out=w)


@register
class Nadam(Builtin):
    """Nesterov Adam (http://cs229.stanford.edu/proj2015/054_report.pdf), with MXNet's
    momentum schedule ``beta1 * (1 - 0.5 * 0.96**(t * schedule_decay))``; the schedule
    product ``m_schedule`` is shared by all parameters, as in MXNet."""

    _runtime_attrs = ("m_schedule",)

    def __init__(
        self,
        learning_rate=0.001,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        schedule_decay=0.004,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.0

    def create_state(self, index, weight):
        return (zeros_like_state(weight), zeros_like_state(weight))

    def _step(self, xp, index, w, g, state, lr, wd):
        m, v = state
        t = self._index_update_count[index]
        mom_t = self.beta1 * (1.0 - 0.5 * pow(0.96, t * self.schedule_decay))
        mom_t1 = self.beta1 * (1.0 - 0.5 * pow(0.96, (t + 1) * self.schedule_decay))
        self.m_schedule = self.m_schedule * mom_t
        m_schedule_next = self.m_schedule * mom_t1
        grad = self._rescaled(xp, w, g, wd)
        tmp, tmp2 = self._tmp(w, 1), self._tmp(w, 2)
        m *= self.beta1
        xp.multiply(grad, 1.0 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        xp.square(grad, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        # m_bar = (1 - mom_t) * g / (1 - m_schedule) + mom_t1 * m / (1 - m_schedule_next)
        grad *= (1.0 - mom_t) / (1.0 - self.m_schedule)
        xp.multiply(m, mom_t1 / (1.0 - m_schedule_next), out=tmp)
        grad += tmp
        xp.multiply(v, 1.0 / (1.0 - pow(self.beta2, t)), out=tmp2)
        xp.sqrt(tmp2, out=tmp2)
        tmp2 += self.epsilon
        xp.divide(grad, tmp2, out=grad)
        grad *= lr
        xp.subtract(w, grad, out=w)


@register
class Ftrl(Builtin):
    """FTRL-Proximal (McMahan et al., "Ad Click Prediction")::

    g = clip(rescale_grad * grad)
    z += g - (sqrt(n + g**2) - sqrt(n)) * weight / lr;  n += g**2
    weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (zeros_like_state(weight, np.float32), zeros_like_state(weight, np.float32))

    def _step(self, xp, index, w, g, state, lr, wd):
        z, n = state
        grad = self._rescaled(xp, w, g)
        tmp, tmp2 = self._tmp(w, 1), self._tmp(w, 2)
        xp.sqrt(n, out=tmp2)
        xp.square(grad, out=tmp)
        n += tmp
        xp.sqrt(n, out=tmp)
        tmp -= tmp2  # sqrt(n_new) - sqrt(n_old)
        tmp *= w
        tmp *= 1.0 / lr
        z += grad
        z -= tmp
        # weight = (sign(z)*lamda1 - z) / ((beta + sqrt(n))/lr + wd) * (|z| > lamda1)
        xp.sqrt(n, out=tmp2)
        tmp2 += self.beta
        tmp2 *= 1.0 / lr
        if wd:
            tmp2 += wd
        xp.sign(z, out=tmp)
        tmp *= self.lamda1
        tmp -= z
        xp.divide(tmp, tmp2, out=tmp)
        xp.abs(z, out=tmp2)
        xp.greater(tmp2, self.lamda1, out=grad)
        xp.multiply(tmp, grad, out=w)


@register
class FTML(Builtin):
    """FTML, Follow the Moving Leader (http://proceedings.mlr.press/v70/zheng17a)::

    g = clip(rescale_grad * grad + wd * weight)
    v = beta2 * v + (1 - beta2) * g**2
    d_t = (1 - beta1**t) / lr * (sqrt(v / (1 - beta2**t)) + epsilon)
    z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d_prev) * weight
    weight = -z / d_t
    """

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return tuple(zeros_like_state(weight) for _ in range(3))

    def _step(self, xp, index, w, g, state, lr, wd):
        d, v, z = state
        t = self._index_update_count[index]
        grad = self._rescaled(xp, w, g, wd)
        tmp = self._tmp(w, 1)
        v *= self.beta2
        xp.square(grad, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        xp.multiply(v, 1.0 / (1.0 - self.beta2**t), out=tmp)
        xp.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        tmp *= (1.0 - self.beta1**t) / lr  # d_t
        d *= -self.beta1
        d += tmp  # d_t - beta1 * d_prev
        d *= w
        z *= self.beta1
        grad *= 1.0 - self.beta1
        z += grad
        z -= d
        d[...] = tmp
        xp.divide(z, tmp, out=w)
        xp.negative(w, out=w)


@register
class LAMB(Builtin):
    """LAMB (https://arxiv.org/abs/1904.00962)::

    g = clip(rescale_grad * grad)
    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
    r = m_hat / (sqrt(v_hat) + epsilon) + wd * weight   (bias-corrected when asked)
    r1 = clip(|weight|, lower_bound, upper_bound);  r2 = |r|
    weight -= lr * (r1 / r2 if r1 and r2 else 1) * r
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-6,
        lower_bound=None,
        upper_bound=None,
        bias_correction=True,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = 45

    def create_state(self, index, weight):
        return (zeros_like_state(weight), zeros_like_state(weight))

    def _step(self, xp, index, w, g, state, lr, wd):
        mean, var = state
        t = self._index_update_count[index]
        grad = self._rescaled(xp, w, g)
        tmp = self._tmp(w, 1)
        mean *= self.beta1
        xp.multiply(grad, 1.0 - self.beta1, out=tmp)
        mean += tmp
        var *= self.beta2
        xp.square(grad, out=tmp)
        tmp *= 1.0 - self.beta2
        var += tmp
        if self.bias_correction:
            xp.multiply(var, 1.0 / (1.0 - self.beta2**t), out=tmp)
            xp.sqrt(tmp, out=tmp)
            tmp += self.epsilon
            xp.multiply(mean, 1.0 / (1.0 - self.beta1**t), out=grad)
        else:
            xp.sqrt(var, out=tmp)
            tmp += self.epsilon
            grad[...] = mean
        xp.divide(grad, tmp, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        r1 = float(xp.linalg.norm(w.reshape(-1)))
        if self.lower_bound:
            r1 = max(r1, self.lower_bound)
        if self.upper_bound:
            r1 = min(r1, self.upper_bound)
        r2 = float(xp.linalg.norm(grad.reshape(-1)))
        ratio = r1 / r2 if r1 != 0.0 and r2 != 0.0 else 1.0
        grad *= lr * ratio
        xp.subtract(w, grad, out=w)
