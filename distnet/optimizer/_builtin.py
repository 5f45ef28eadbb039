"""Base of the built-in optimizers: arithmetic on the raw numpy/cupy arrays, in place.

``update(index, weight, grad, state)`` keeps MXNet's NDArray API; underneath, each
built-in implements ``_step(xp, index, w, g, state, lr, wd)`` on raw arrays, writing the
weight and states in place (executors and kvstores hold references to the weight arrays,
so ``_data`` is never rebound) and using reusable scratch buffers instead of temporaries.
"""

import numpy as np

from .optimizer import Optimizer

__all__ = ["Builtin", "raw", "raw_state", "zeros_like_state"]


def raw(arr):
    """``read_raw(arr)``: the numpy/cupy array under an NDArray once its pending transfer
    is done, or ``arr`` itself (a server's optimizer gets raw arrays)."""
    nd_type = _NDArray[0] or _ndarray_type()
    if type(arr) is nd_type:  # inline NDArray._read() (hot path: the optimizer's step)
        if arr._pending is not None:
            arr._wait()
        return arr._data
    return arr._read() if isinstance(arr, nd_type) else arr


def _ndarray_type():
    from ..ndarray.ndarray import NDArray  # lazily: kvstore servers import optimizers alone

    _NDArray[0] = NDArray
    return NDArray


_NDArray = [None]


def raw_state(state):
    """``state`` (None, NDArray or nested tuples/lists of them) with raw arrays inside."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return tuple(raw_state(s) for s in state)
    return raw(state)


def zeros_like_state(weight, dtype=None):
    """A zero NDArray shaped like ``weight`` on its context (``dtype`` or the weight's)."""
    from ..ndarray import zeros

    return zeros(weight.shape, weight.context, dtype=dtype or weight.dtype)


def xp_of(arr):
    """numpy for numpy arrays, else the module of ``arr`` (cupy)."""
    if type(arr) is np.ndarray:
        return np
    from ..backend import xp_of as _xp_of

    return _xp_of(arr)


def _through_dense(update, index, weight, grad, state):
    """``update`` of a sparse weight (row_sparse/csr NDArray): on a dense copy written
    back in the weight's storage type (rows the gradient does not touch keep their
    values, as MXNet's sparse kernels)."""
    dense = weight.tostype("default")
    opt = update.__self__
    opt._rsp_weight = weight.stype == "row_sparse"  # ftrl: lazy only then (lazy.py)
    try:
        update(index, dense, grad, state)
    finally:
        opt._rsp_weight = False
    weight[:] = dense


def _step_sparse(opt, xp, index, w, grad, state, lr, wd):
    from .lazy import step_sparse

    step_sparse(opt, xp, index, w, grad, state, lr, wd)


class Builtin(Optimizer):
    """An optimizer whose update is ``_step`` on raw arrays (see module docstring).

    A user subclass that overrides ``update`` or ``update_multi_precision`` keeps working:
    the fused paths then defer to those methods.
    """

    _fused_ok = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = "update" in cls.__dict__ or "update_multi_precision" in cls.__dict__
        inherited = all(getattr(b, "_fused_ok", True) for b in cls.__bases__)
        cls._fused_ok = inherited and (not own or cls.__module__.startswith("distnet."))

    def _step(self, xp, index, w, g, state, lr, wd):
        raise NotImplementedError()

    def update(self, index, weight, grad, state):
        """Update ``weight`` in place; ``index`` may also be a list (with lists of
        weights, grads and states), as MXNet's aggregated SGD allows."""
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update(i, w, g, s)
            return
        if weight._sparse:
            return _through_dense(self.update, index, weight, grad, state)
        self._update_count(index)
        w = raw(weight)
        if getattr(grad, "_sparse", False):  # row_sparse: MXNet's lazy update (lazy.py)
            return _step_sparse(
                self,
                xp_of(w),
                index,
                w,
                grad,
                raw_state(state),
                self._get_lr(index),
                self._get_wd(index),
            )
        self._step(
            xp_of(w),
            index,
            w,
            raw(grad),
            raw_state(state),
            self._get_lr(index),
            self._get_wd(index),
        )

    def update_multi_precision(self, index, weight, grad, state):
        if not type(self)._fused_ok:
            return Optimizer.update_multi_precision(self, index, weight, grad, state)
        if isinstance(index, (list, tuple)):
            return self.update_multi(index, weight, grad, state)
        if weight._sparse:
            return _through_dense(self.update_multi_precision, index, weight, grad, state)
        if self.multi_precision and weight.dtype == np.float16:
            if getattr(grad, "_sparse", False):  # lazy on the float32 master copy
                return Optimizer.update_multi_precision(self, index, weight, grad, state)
            self._update_count(index)
            self._mp_step(
                index,
                raw(weight),
                raw(grad),
                raw_state(state),
                self._get_lr(index),
                self._get_wd(index),
            )
        else:
            self.update(index, weight, grad, state)

    def update_multi(self, indices, weights, grads, states):
        """Count all ``indices`` once, compute their lrs/wds once, then step each."""
        if not type(self)._fused_ok:
            return Optimizer.update_multi(self, indices, weights, grads, states)
        indices = list(indices)
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        mp = self.multi_precision
        step = self._step
        for i, weight, grad, state, lr, wd in zip(indices, weights, grads, states, lrs, wds):
            if getattr(grad, "_sparse", False):  # row_sparse: MXNet's lazy update
                w = raw(weight)
                if mp and w.dtype == np.float16:  # on the float32 master copy
                    master, inner = state if self._master_first else state[::-1]
                    m = raw(master)
                    _step_sparse(self, xp_of(m), i, m, grad, raw_state(inner), lr, wd)
                    w[...] = m
                    continue
                _step_sparse(self, xp_of(w), i, w, grad, raw_state(state), lr, wd)
                continue
            w, g = raw(weight), raw(grad)
            s = None if state is None else raw_state(state)
            if mp and w.dtype == np.float16:
                self._mp_step(i, w, g, s, lr, wd)
            else:  # host arrays skip xp_of's lookup
                step(np if type(w) is np.ndarray else xp_of(w), i, w, g, s, lr, wd)
        return None

    def _mp_step(self, index, w, g, state, lr, wd):
        """Step the float32 master copy with a float32 gradient, then cast into ``w``."""
        master, inner = state if self._master_first else state[::-1]
        xp = xp_of(w)
        self._step(xp, index, master, g.astype(np.float32), inner, lr, wd)
        w[...] = master

    # ---- helpers for _step ----
    def _clip(self, xp, x):
        """Clip ``x`` in place to ``[-clip_gradient, clip_gradient]`` when set (> 0)."""
        c = self.clip_gradient
        if c is not None and c > 0:
            xp.clip(x, -c, c, out=x)
        return x

    def _rescaled(self, xp, w, g, wd=0.0, slot=0):
        """Scratch ``clip(rescale_grad * g + wd * w)`` (wd inside the clip, as Adam's
        kernels); with ``wd=0`` this is ``clip(rescale_grad * g)``."""
        out = self._tmp(w, slot)
        xp.multiply(g, self.rescale_grad, out=out)
        if wd:
            tmp = self._tmp(w, slot + 1)
            xp.multiply(w, wd, out=tmp)
            out += tmp
        return self._clip(xp, out)
