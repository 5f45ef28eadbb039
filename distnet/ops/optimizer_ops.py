"""MXNet's fused optimizer updates (``sgd_update``, ``adam_update``, ...).

Each takes the weight and the gradient, plus its optimizer states, which it updates in
place (MXNet's mutable inputs, declared here as auxiliary states as MXNet's symbols list
them). The new weight is the output; MXNet's scripts pass ``out=weight`` to update it in
place. Formulas follow MXNet 1.9.1's kernels (src/operator/optimizer_op-inl.h), checked
against MXNet's results in tests/ops/test_optimizer_ops.py.
"""

from .attrs import Attr, Bool, Float, Int, REQUIRED
from .registry import Op, register
from ._util import xp_of


def _common(clip_name="clip_gradient"):
    return {
        "lr": Attr(Float, REQUIRED),
        "wd": Attr(Float, 0.0),
        "rescale_grad": Attr(Float, 1.0),
        clip_name: Attr(Float, -1.0),
    }


def _clip(xp, g, bound):
    """MXNet clips only when the bound is non-negative."""
    return xp.clip(g, -bound, bound) if bound >= 0 else g


def _set(dst, value):
    dst[...] = value


class _Update(Op):
    """Base of the fused updates: no gradient, the states are updated in place."""

    inputs = ("weight", "grad")

    def infer_shape(self, a, in_shapes, aux_shapes):
        known = next((s for s in list(in_shapes) + list(aux_shapes) if s is not None), None)
        fill = lambda ss: [known if s is None else s for s in ss]  # noqa: E731
        return fill(in_shapes), [known], fill(aux_shapes)

    def forward(self, a, ins, aux, is_train):
        w, g = ins
        return (self.update(xp_of(w), a, w, g.astype(w.dtype, copy=False), *aux),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)


@register
class sgd_update(_Update):
    """SGD: ``w = (1 - lr*wd)*w - lr*clip(rescale_grad*grad)``."""

    name = "sgd_update"
    params = dict(**_common(), lazy_update=Attr(Bool, True))

    def update(self, xp, a, w, g):
        return (1 - a["lr"] * a["wd"]) * w - a["lr"] * _clip(
            xp, a["rescale_grad"] * g, a["clip_gradient"]
        )


@register
class sgd_mom_update(_Update):
    """SGD with momentum: ``mom = momentum*mom - lr*wd*w - lr*clip(rescale_grad*grad)``,
    ``w = w + mom``."""

    name = "sgd_mom_update"
    aux = ("mom",)
    params = dict(momentum=Attr(Float, 0.0), **_common(), lazy_update=Attr(Bool, True))

    def update(self, xp, a, w, g, mom):
        g = _clip(xp, a["rescale_grad"] * g, a["clip_gradient"])
        _set(mom, a["momentum"] * mom - a["lr"] * a["wd"] * w - a["lr"] * g)
        return w + mom


@register
class mp_sgd_update(_Update):
    """``sgd_update`` for a float16 weight kept in float32 (``weight32``, updated in place)."""

    name = "mp_sgd_update"
    aux = ("weight32",)
    params = sgd_update.params

    def update(self, xp, a, w, g, w32):
        _set(w32, sgd_update.update(self, xp, a, w32, g.astype(w32.dtype)))
        return w32.astype(w.dtype)


@register
class mp_sgd_mom_update(_Update):
    """``sgd_mom_update`` for a float16 weight kept in float32 (``weight32``)."""

    name = "mp_sgd_mom_update"
    aux = ("mom", "weight32")
    params = sgd_mom_update.params

    def update(self, xp, a, w, g, mom, w32):
        _set(w32, sgd_mom_update.update(self, xp, a, w32, g.astype(w32.dtype), mom))
        return w32.astype(w.dtype)


@register
class nag_mom_update(_Update):
    """Nesterov momentum: ``g = clip(rescale_grad*grad) + wd*w``,
    ``mom = momentum*mom - lr*g``, ``w = w + momentum*mom - lr*g``.

    MXNet computes the new ``mom`` from the weight after writing ``out``, so with
    ``out=weight`` and ``wd > 0`` its ``mom`` uses the updated weight; distnet always uses
    the weight the step started from (MXNet's result without ``out=weight``).
    """

    name = "nag_mom_update"
    aux = ("mom",)
    params = dict(momentum=Attr(Float, 0.0), **_common())

    def update(self, xp, a, w, g, mom):
        g = _clip(xp, a["rescale_grad"] * g, a["clip_gradient"]) + a["wd"] * w
        _set(mom, a["momentum"] * mom - a["lr"] * g)
        return w + a["momentum"] * mom - a["lr"] * g


def _rescaled(xp, a, w, g, clip_name="clip_gradient"):
    """``clip(rescale_grad*grad + wd*w)``: the gradient of Adam, RMSProp and FTML."""
    return _clip(xp, a["rescale_grad"] * g + a["wd"] * w, a[clip_name])


@register
class adam_update(_Update):
    """Adam (without bias correction, which MXNet folds into ``lr``)."""

    name = "adam_update"
    aux = ("mean", "var")
    params = dict(
        lr=Attr(Float, REQUIRED),
        beta1=Attr(Float, 0.9),
        beta2=Attr(Float, 0.999),
        epsilon=Attr(Float, 1e-8),
        wd=Attr(Float, 0.0),
        rescale_grad=Attr(Float, 1.0),
        clip_gradient=Attr(Float, -1.0),
        lazy_update=Attr(Bool, True),
    )

    def update(self, xp, a, w, g, mean, var):
        g = _rescaled(xp, a, w, g)
        _set(mean, a["beta1"] * mean + (1 - a["beta1"]) * g)
        _set(var, a["beta2"] * var + (1 - a["beta2"]) * g * g)
        return w - a["lr"] * mean / (xp.sqrt(var) + a["epsilon"])


def _clip_weights(xp, w, bound):
    return xp.clip(w, -bound, bound) if bound >= 0 else w


_RMS = dict(
    lr=Attr(Float, REQUIRED),
    gamma1=Attr(Float, 0.95),
    epsilon=Attr(Float, 1e-8),
    wd=Attr(Float, 0.0),
    rescale_grad=Attr(Float, 1.0),
    clip_gradient=Attr(Float, -1.0),
    clip_weights=Attr(Float, -1.0),
)


@register
class rmsprop_update(_Update):
    """RMSProp (Tieleman & Hinton): ``n = (1-gamma1)*g^2 + gamma1*n``,
    ``w = w - lr*g/sqrt(n + epsilon)``."""

    name = "rmsprop_update"
    aux = ("n",)
    params = _RMS

    def update(self, xp, a, w, g, n):
        g = _rescaled(xp, a, w, g)
        _set(n, (1 - a["gamma1"]) * g * g + a["gamma1"] * n)
        return _clip_weights(xp, w - a["lr"] * g / xp.sqrt(n + a["epsilon"]), a["clip_weights"])


@register
class rmspropalex_update(_Update):
    """RMSProp as Graves (2013) with momentum ``gamma2``: states ``n``, ``g``, ``delta``."""

    name = "rmspropalex_update"
    aux = ("n", "g", "delta")
    params = dict(_RMS, gamma2=Attr(Float, 0.9))

    def update(self, xp, a, w, grad, n, g, delta):
        grad = _rescaled(xp, a, w, grad)
        g1 = a["gamma1"]
        _set(n, (1 - g1) * grad * grad + g1 * n)
        _set(g, (1 - g1) * grad + g1 * g)
        _set(delta, a["gamma2"] * delta - a["lr"] * grad / xp.sqrt(n - g * g + a["epsilon"]))
        return _clip_weights(xp, w + delta, a["clip_weights"])


@register
class ftrl_update(_Update):
    """FTRL-Proximal: states ``z`` and ``n``; weights within ``lamda1`` of zero become 0."""

    name = "ftrl_update"
    aux = ("z", "n")
    params = dict(
        lr=Attr(Float, REQUIRED),
        lamda1=Attr(Float, 0.01),
        beta=Attr(Float, 1.0),
        wd=Attr(Float, 0.0),
        rescale_grad=Attr(Float, 1.0),
        clip_gradient=Attr(Float, -1.0),
    )

    def update(self, xp, a, w, g, z, n):
        g = _clip(xp, a["rescale_grad"] * g, a["clip_gradient"])
        lr, l1 = a["lr"], a["lamda1"]
        _set(z, z + g - (xp.sqrt(n + g * g) - xp.sqrt(n)) * w / lr)
        _set(n, n + g * g)
        new = (xp.sign(z) * l1 - z) / ((a["beta"] + xp.sqrt(n)) / lr + a["wd"])
        return new * (xp.abs(z) > l1)


@register
class ftml_update(_Update):
    """FTML (Zheng & Kwok 2017): states ``d``, ``v``, ``z``; ``t`` is the step count."""

    name = "ftml_update"
    aux = ("d", "v", "z")
    params = dict(
        lr=Attr(Float, REQUIRED),
        beta1=Attr(Float, 0.6),
        beta2=Attr(Float, 0.999),
        epsilon=Attr(Float, 1e-8),
        t=Attr(Int, REQUIRED),
        wd=Attr(Float, 0.0),
        rescale_grad=Attr(Float, 1.0),
        clip_grad=Attr(Float, -1.0),
    )

    def update(self, xp, a, w, g, d, v, z):
        g = _rescaled(xp, a, w, g, "clip_grad")
        b1, b2, t = a["beta1"], a["beta2"], a["t"]
        _set(v, b2 * v + (1 - b2) * g * g)
        d_t = (1 - b1**t) / a["lr"] * (xp.sqrt(v / (1 - b2**t)) + a["epsilon"])
        _set(z, b1 * z + (1 - b1) * g - (d_t - b1 * d) * w)
        _set(d, d_t)
        return -z / d_t


@register
class signsgd_update(_Update):
    """signSGD: ``w = (1 - lr*wd)*w - lr*sign(grad)``."""

    name = "signsgd_update"
    params = _common()

    def update(self, xp, a, w, g):
        return (1 - a["lr"] * a["wd"]) * w - a["lr"] * xp.sign(g)


@register
class signum_update(_Update):
    """Signum: ``mom = momentum*mom - (1-momentum)*(wd*w + clip(rescale_grad*grad))``,
    ``w = (1 - lr*wd_lh)*w + lr*sign(mom)``."""

    name = "signum_update"
    aux = ("mom",)
    params = dict(momentum=Attr(Float, 0.0), **_common(), wd_lh=Attr(Float, 0.0))

    def update(self, xp, a, w, g, mom):
        m = a["momentum"]
        g = _clip(xp, a["rescale_grad"] * g, a["clip_gradient"])
        _set(mom, m * mom - (1 - m) * a["wd"] * w - (1 - m) * g)
        return (1 - a["lr"] * a["wd_lh"]) * w + a["lr"] * xp.sign(mom)


@register
class lamb_update_phase1(_Update):
    """LAMB's first phase: updates ``mean``/``var`` in place and returns the step direction
    ``mean_hat / (sqrt(var_hat) + epsilon) + wd*w`` (hats: bias-corrected at step ``t``
    when ``bias_correction``)."""

    name = "lamb_update_phase1"
    aux = ("mean", "var")
    params = dict(
        beta1=Attr(Float, 0.9),
        beta2=Attr(Float, 0.999),
        epsilon=Attr(Float, 1e-6),
        t=Attr(Int, REQUIRED),
        bias_correction=Attr(Bool, True),
        wd=Attr(Float, REQUIRED),
        rescale_grad=Attr(Float, 1.0),
        clip_gradient=Attr(Float, -1.0),
    )

    def update(self, xp, a, w, g, mean, var):
        b1, b2 = a["beta1"], a["beta2"]
        g = _clip(xp, a["rescale_grad"] * g, a["clip_gradient"])
        _set(mean, b1 * mean + (1 - b1) * g)
        _set(var, b2 * var + (1 - b2) * g * g)
        m, v = mean, var
        if a["bias_correction"]:
            m, v = mean / (1 - b1 ** a["t"]), var / (1 - b2 ** a["t"])
        return m / (xp.sqrt(v) + a["epsilon"]) + a["wd"] * w


@register
class lamb_update_phase2(Op):
    """LAMB's second phase: ``w - lr * (r1/r2) * g`` with the trust ratio of the weight
    norm ``r1`` (clipped to ``[lower_bound, upper_bound]`` where those are >= 0) and the
    step norm ``r2`` (ratio 1 where either is 0)."""

    name = "lamb_update_phase2"
    inputs = ("weight", "g", "r1", "r2")
    params = dict(
        lr=Attr(Float, REQUIRED), lower_bound=Attr(Float, -1.0), upper_bound=Attr(Float, -1.0)
    )

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        w, g, r1, r2 = ins
        xp = xp_of(w)
        r1 = r1.reshape(-1)[:1].astype(w.dtype)
        if a["lower_bound"] >= 0:
            r1 = xp.maximum(r1, a["lower_bound"])
        if a["upper_bound"] >= 0:
            r1 = xp.minimum(r1, a["upper_bound"])
        r2 = r2.reshape(-1)[:1].astype(w.dtype)
        ok = (r1 != 0) & (r2 != 0)
        ratio = xp.where(ok, r1 / xp.where(ok, r2, 1), 1)
        return ((w - a["lr"] * ratio * g.astype(w.dtype)).astype(w.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * 4
