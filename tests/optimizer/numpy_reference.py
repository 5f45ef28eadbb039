"""Plain float64 numpy versions of every optimizer's update, written from the formulas
(independently of distnet's in-place code), for tests/optimizer/test_optimizers.py.

Each ``ref_<name>(w0, grads, **hp)`` returns the weights after each step, stacked.
"""

import math

import numpy as np


def _clip(g, c):
    return np.clip(g, -c, c) if c else g


def _run(w0, grads, init, step):
    w = w0.astype(np.float64)
    state = init(w)
    out = []
    for t, g in enumerate(grads, 1):
        w, state = step(w, g.astype(np.float64), state, t)
        out.append(w.copy())
    return np.stack(out)


def ref_sgd(w0, grads, lr=0.01, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=None):
    def step(w, g, mom, t):
        d = lr * (_clip(rescale_grad * g, clip_gradient) + wd * w)
        mom = momentum * mom + d
        return w - mom, mom

    return _run(w0, grads, np.zeros_like, step)


def ref_nag(w0, grads, lr=0.01, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=None):
    def step(w, g, mom, t):
        cg = _clip(rescale_grad * g, clip_gradient)
        mom = momentum * mom
        w_new = w + momentum * mom - (1 + momentum) * lr * (cg + wd * w)
        if momentum == 0:
            return w - lr * (cg + wd * w), mom
        return w_new, mom - lr * (cg + wd * w_new)  # MXNet reads the new weight here

    return _run(w0, grads, np.zeros_like, step)


def ref_adam(
    w0,
    grads,
    lr=0.001,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    wd=0.0,
    rescale_grad=1.0,
    clip_gradient=None,
):
    def step(w, g, s, t):
        m, v = s
        g = _clip(rescale_grad * g + wd * w, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        return w - lr_t * m / (np.sqrt(v) + epsilon), (m, v)

    return _run(w0, grads, lambda w: (np.zeros_like(w), np.zeros_like(w)), step)


def ref_adagrad(w0, grads, lr=0.01, eps=1e-7, wd=0.0, rescale_grad=1.0, clip_gradient=None):
    def step(w, g, h, t):
        g = _clip(rescale_grad * g, clip_gradient)
        h = h + g * g
        return w - lr * (g / np.sqrt(h + eps) + wd * w), h

    return _run(w0, grads, np.zeros_like, step)


def ref_rmsprop(
    w0,
    grads,
    lr=0.001,
    gamma1=0.9,
    gamma2=0.9,
    epsilon=1e-8,
    centered=False,
    clip_weights=None,
    wd=0.0,
    rescale_grad=1.0,
    clip_gradient=None,
):
    def step(w, g, s, t):
        n, m, delta = s
        g = _clip(rescale_grad * g + wd * w, clip_gradient)
        n = (1 - gamma1) * g * g + gamma1 * n
        if centered:
            m = (1 - gamma1) * g + gamma1 * m
            delta = gamma2 * delta - lr * g / np.sqrt(n - m * m + epsilon)
            w = w + delta
        else:
            w = w - lr * g / np.sqrt(n + epsilon)
        if clip_weights:
            w = np.clip(w, -clip_weights, clip_weights)
        return w, (n, m, delta)

    return _run(w0, grads, lambda w: (np.zeros_like(w),) * 3, step)


def ref_adadelta(
    w0, grads, rho=0.9, epsilon=1e-5, wd=0.0, rescale_grad=1.0, clip_gradient=None, lr=None
):
    def step(w, g, s, t):
        acc_g, acc_d = s
        g = _clip(rescale_grad * g, clip_gradient)
        acc_g = rho * acc_g + (1 - rho) * g * g
        d = np.sqrt(acc_d + epsilon) / np.sqrt(acc_g + epsilon) * g
        acc_d = rho * acc_d + (1 - rho) * d * d
        return w - (d + wd * w), (acc_g, acc_d)

    return _run(w0, grads, lambda w: (np.zeros_like(w), np.zeros_like(w)), step)


def ref_adamax(
    w0, grads, lr=0.002, beta1=0.9, beta2=0.999, wd=0.0, rescale_grad=1.0, clip_gradient=None
):
    def step(w, g, s, t):
        m, u = s
        g = _clip(rescale_grad * g + wd * w, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g))
        return w - lr / (1 - beta1**t) * m / u, (m, u)

    return _run(w0, grads, lambda w: (np.zeros_like(w), np.zeros_like(w)), step)


def ref_nadam(
    w0,
    grads,
    lr=0.001,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    schedule_decay=0.004,
    wd=0.0,
    rescale_grad=1.0,
    clip_gradient=None,
):
    sched = [1.0]

    def step(w, g, s, t):
        m, v = s
        g = _clip(rescale_grad * g + wd * w, clip_gradient)
        mt = beta1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))
        mt1 = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * schedule_decay))
        sched[0] *= mt
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_bar = (1 - mt) * g / (1 - sched[0]) + mt1 * m / (1 - sched[0] * mt1)
        v_hat = v / (1 - beta2**t)
        return w - lr * m_bar / (np.sqrt(v_hat) + epsilon), (m, v)

    return _run(w0, grads, lambda w: (np.zeros_like(w), np.zeros_like(w)), step)


def ref_ftrl(
    w0, grads, lr=0.1, lamda1=0.01, beta=1.0, wd=0.0, rescale_grad=1.0, clip_gradient=None
):
    def step(w, g, s, t):
        z, n = s
        g = _clip(rescale_grad * g, clip_gradient)
        z = z + g - (np.sqrt(n + g * g) - np.sqrt(n)) * w / lr
        n = n + g * g
        w = (np.sign(z) * lamda1 - z) / ((beta + np.sqrt(n)) / lr + wd) * (np.abs(z) > lamda1)
        return w, (z, n)

    return _run(w0, grads, lambda w: (np.zeros_like(w), np.zeros_like(w)), step)


def ref_ftml(
    w0,
    grads,
    lr=0.01,
    beta1=0.6,
    beta2=0.999,
    epsilon=1e-8,
    wd=0.0,
    rescale_grad=1.0,
    clip_gradient=None,
):
    def step(w, g, s, t):
        d, v, z = s
        g = _clip(rescale_grad * g + wd * w, clip_gradient)
        v = beta2 * v + (1 - beta2) * g * g
        d_t = (1 - beta1**t) / lr * (np.sqrt(v / (1 - beta2**t)) + epsilon)
        z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * w
        return -z / d_t, (d_t, v, z)

    return _run(w0, grads, lambda w: (np.zeros_like(w),) * 3, step)


def ref_signum(
    w0, grads, lr=0.01, momentum=0.9, wd_lh=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=None
):
    def step(w, g, mom, t):
        g = _clip(rescale_grad * g, clip_gradient)
        if momentum == 0:
            return (1 - lr * wd) * w - lr * np.sign(g), mom
        mom = momentum * mom - (1 - momentum) * (wd * w + g)
        return (1 - lr * wd_lh) * w + lr * np.sign(mom), mom

    return _run(w0, grads, np.zeros_like, step)


def ref_lamb(
    w0,
    grads,
    lr=0.001,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-6,
    lower_bound=None,
    upper_bound=None,
    bias_correction=True,
    wd=0.0,
    rescale_grad=1.0,
    clip_gradient=None,
):
    def step(w, g, s, t):
        m, v = s
        g = _clip(rescale_grad * g, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if bias_correction:
            r = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + epsilon)
        else:
            r = m / (np.sqrt(v) + epsilon)
        r = r + wd * w
        r1 = np.linalg.norm(w)
        if lower_bound:
            r1 = max(r1, lower_bound)
        if upper_bound:
            r1 = min(r1, upper_bound)
        r2 = np.linalg.norm(r)
        ratio = r1 / r2 if r1 and r2 else 1.0
        return w - lr * ratio * r, (m, v)

    return _run(w0, grads, lambda w: (np.zeros_like(w), np.zeros_like(w)), step)


def ref_lars(
    w0,
    grads,
    lr=0.01,
    momentum=0.0,
    eta=0.001,
    eps=0.0,
    wd=0.0,
    rescale_grad=1.0,
    clip_gradient=None,
):
    def step(w, g, mom, t):
        wn, gn = np.linalg.norm(w), np.linalg.norm(g) * rescale_grad
        lr_t = lr * (eta * wn / (gn + wd * wn + eps) if wn > 0 and gn > 0 else 1.0)
        d = lr_t * (_clip(rescale_grad * g, clip_gradient) + wd * w)
        mom = momentum * mom + d
        return w - mom, mom

    return _run(w0, grads, np.zeros_like, step)


def ref_dcasgd(
    w0, grads, lr=0.01, momentum=0.0, lamda=0.04, wd=0.0, rescale_grad=1.0, clip_gradient=None
):
    def step(w, g, s, t):
        mom, prev = s
        g = _clip(rescale_grad * g, clip_gradient)
        mom = momentum * mom - lr * (g + wd * w + lamda * g * g * (w - prev))
        return w + mom, (mom, w.copy())

    return _run(w0, grads, lambda w: (np.zeros_like(w), w.copy()), step)


REFERENCES = {
    "sgd": ref_sgd,
    "nag": ref_nag,
    "adam": ref_adam,
    "adagrad": ref_adagrad,
    "rmsprop": ref_rmsprop,
    "adadelta": ref_adadelta,
    "adamax": ref_adamax,
    "nadam": ref_nadam,
    "ftrl": ref_ftrl,
    "ftml": ref_ftml,
    "signum": ref_signum,
    "lamb": ref_lamb,
    "lars": ref_lars,
    "dcasgd": ref_dcasgd,
}
