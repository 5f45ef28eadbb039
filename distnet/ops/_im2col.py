"""im2col/col2im and the matrix products of convolution, for 1-, 2- and 3-D.

A convolution becomes one matrix product: ``im2col`` copies every receptive field into a
row (or column) of a matrix through a strided *view* of the padded input (no Python loop
over pixels), the product with the weight matrix gives the output, and ``col2im`` scatters
the gradient of that matrix back by looping over kernel offsets only (``kh*kw`` strided
adds). Deconvolution uses the same plan with the roles of forward and backward swapped.

Two memory layouts, chosen per geometry because the strided copies dominate on CPU:

* channels-last (``cl``): rows are output pixels, ``cols`` is ``(N*P, G, K*Cg)`` with the
  channel innermost; the copies move runs of ``Cg`` contiguous floats. Best for many
  channels (LeNet's second convolution).
* channels-first (``cn``): ``cols`` is ``(G, N, K*Cg, P)`` with output pixels innermost;
  the copies move runs of a whole output row and the products run once per sample, which
  writes the output in its final layout. Best for few channels (the first convolution).
"""

import itertools
import sys
import threading

import numpy as np

from ..base import MXNetError
from .._threads import for_gemm


def _as_strided(xp, x, shape, strides):
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


# ---- reused column buffers ----
# A training step allocates the same large columns and padded canvases every time. Those
# above glibc's largest heap block (32 MB, see ops/_memory.py) come from mmap and go back
# to the OS when freed, and the heap's top is trimmed once more than 128 MB of it is free
# (a ResNet's saved columns swing by more than that between forward and backward), so
# every step faulted them in again page by page: ResNet-20 at batch 64 measured 49,000
# page faults and 225 ms of kernel time per step, a third of the step. Such buffers are
# kept here and handed out again once nothing but the pool references them
# (sys.getrefcount: every numpy view keeps its base alive, so a buffer still saved for a
# backward pass, or viewed anywhere, is never reused). cupy has its own memory pool.
_POOL_MIN = 1 << 20
_POOL_CAP = 1 << 30  # the working set of one step (ResNet-20, batch 64: 448 MB); beyond it,
#                      buffers are allocated and freed as usual
_pool = {}
_pool_lock = threading.Lock()


def _buffer(xp, shape, dtype, tag=("cols",)):
    """An array of ``shape``/``dtype``, reused from the pool when large. Contents are
    undefined, except for a ``("canvas", ...)`` tag: zeros at first, then whatever its
    users left, which is zeros outside the interior they all overwrite (the tag names the
    layout and padding, so every user of one buffer has the same interior)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    zeroed = tag[0] == "canvas"
    make = np.zeros if zeroed else np.empty
    if xp is not np or nbytes < _POOL_MIN:
        return (xp.zeros if zeroed else xp.empty)(shape, dtype)
    key = (tag, tuple(shape), dtype.str)
    with _pool_lock:
        free = _pool.setdefault(key, [])
        for arr in free:
            if sys.getrefcount(arr) <= 3:  # the list, this loop's name, the call's argument
                return arr
        if pooled_bytes() + nbytes > _POOL_CAP:
            return make(shape, dtype)
        arr = make(shape, dtype)
        free.append(arr)
        return arr


def pooled_bytes():
    """Bytes held by the column-buffer pool."""
    return sum(a.nbytes for arrs in _pool.values() for a in arrs)


def release_buffers():
    """Drop the pool's buffers (those still in use live on with their users)."""
    with _pool_lock:
        _pool.clear()


def _contiguous(xp, view):
    """``ascontiguousarray(view)`` into a pooled buffer when it is large."""
    out = _buffer(xp, view.shape, view.dtype)
    out[...] = view
    return out


def conv_out_size(size, k, s, d, p):
    """Output length of a convolution window sweep (floor, as MXNet)."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


class ConvPlan:
    """Geometry of one convolution and the layout its matrices use.

    ``in_spatial`` is the spatial shape of the convolution *input* (the deconvolution
    output), ``out_spatial`` that of its output. ``C`` input channels and ``F`` filters,
    both split in ``G`` groups.
    """

    def __init__(self, N, C, F, G, in_spatial, kernel, stride, dilate, pad, out_spatial):
        self.N, self.C, self.F, self.G = N, C, F, G
        self.Cg, self.Fg = C // G, F // G
        self.S, self.K, self.stride = tuple(in_spatial), tuple(kernel), tuple(stride)
        self.dilate, self.pad, self.O = tuple(dilate), tuple(pad), tuple(out_spatial)
        self.d = len(self.K)
        self.P = int(np.prod(self.O))
        self.KK = int(np.prod(self.K))
        self.padded = tuple(s + 2 * p for s, p in zip(self.S, self.pad))
        self.interior = tuple(slice(p, p + s) for s, p in zip(self.S, self.pad))
        # windows: one tuple of slices (over the padded canvas) per kernel offset
        self.windows = [
            tuple(
                slice(k * dl, k * dl + (o - 1) * st + 1, st)
                for k, dl, o, st in zip(ks, self.dilate, self.O, self.stride)
            )
            for ks in itertools.product(*(range(k) for k in self.K))
        ]
        # Few channels: copy whole output rows (channels-first); many: channel runs. The
        # crossover was measured on CPU over LeNet/CIFAR/ResNet-like shapes (CPU time of
        # forward + both gradients, ResNet-20 at batch 64: 16@32x32 3x3 37 ms 'cn' vs 43
        # 'cl', 1x1 stride-2 shortcut 1.0 vs 4.1; 32@16x16 and 64@8x8 favour 'cl').
        # A 1x1 kernel needs no copy at all in 'cn'.
        self.cl = self.KK > 1 and (
            2 * self.Cg > self.O[-1] or (self.stride[-1] > 1 and self.Cg >= 4)
        )

    # ---- weights ----
    def weight_matrix(self, xp, w):
        """``(F, Cg, *K)`` weight as ``(G, Fg, K*Cg)`` (kernel-major, channel innermost)."""
        return xp.moveaxis(w, 1, -1).reshape(self.G, self.Fg, self.KK * self.Cg)

    def weight_from_matrix(self, xp, wm):
        """Inverse of ``weight_matrix``: ``(G, Fg, K*Cg)`` to a contiguous ``(F, Cg, *K)``."""
        w = wm.reshape((self.F,) + self.K + (self.Cg,))
        return xp.ascontiguousarray(xp.moveaxis(w, -1, 1))

    # ---- data to columns ----
    def _canvas(self, xp, x):
        """``x`` (N, C, *S) zero-padded, as (N, *Sp, C) for 'cl' or (N, C, *Sp) for 'cn'."""
        src = xp.moveaxis(x, 1, -1) if self.cl else x
        if not any(self.pad):
            return xp.ascontiguousarray(src)
        body = self.interior + (slice(None),) if self.cl else (slice(None),) + self.interior
        shape = self.padded + (self.C,) if self.cl else (self.C,) + self.padded
        # pooled per layout and padding: only then is the zero border the same width
        canvas = _buffer(xp, (self.N,) + shape, x.dtype, ("canvas", self.cl, self.pad))
        canvas[(slice(None),) + body] = src
        return canvas

    def im2col(self, xp, x):
        """The columns of ``x`` (N, C, *S): ``(N*P, G, K*Cg)`` ('cl') or
        ``(G, N, K*Cg, P)`` ('cn')."""
        G, Cg = self.G, self.Cg
        canvas = self._canvas(xp, x)
        st = canvas.strides
        on = tuple(s * k for s, k in zip(st[1 : 1 + self.d] if self.cl else st[2:], self.stride))
        dl = tuple(s * k for s, k in zip(st[1 : 1 + self.d] if self.cl else st[2:], self.dilate))
        if self.cl:
            sc = st[-1]
            shape = (self.N,) + self.O + (G,) + self.K + (Cg,)
            strides = (st[0],) + on + (Cg * sc,) + dl + (sc,)
            view = _as_strided(xp, canvas, shape, strides)
            return _contiguous(xp, view).reshape(self.N * self.P, G, self.KK * Cg)
        sc = st[1]
        shape = (G, self.N) + self.K + (Cg,) + self.O
        strides = (Cg * sc, st[0]) + dl + (sc,) + on
        view = _as_strided(xp, canvas, shape, strides)
        return _contiguous(xp, view).reshape(G, self.N, self.KK * Cg, self.P)

    # ---- the products ----
    def _size_pool(self, xp):
        """BLAS threads for this plan's products: 'cl' makes one product over the batch,
        'cn' one per sample (see distnet._threads)."""
        rows = self.N * self.P if self.cl else self.P
        for_gemm(xp, rows * self.Fg * self.KK * self.Cg)

    def forward(self, xp, cols, wm):
        """Convolution output ``(N, F, *O)`` from columns and the weight matrix."""
        N, P, F = self.N, self.P, self.F
        self._size_pool(xp)
        if self.cl:
            if self.G == 1:
                out = xp.matmul(cols.reshape(N * P, -1), wm[0].T)
            else:
                out = xp.matmul(cols.transpose(1, 0, 2), wm.transpose(0, 2, 1))
                out = out.transpose(1, 0, 2)
            out = out.reshape(N, P, F).transpose(0, 2, 1)
        else:  # one product per sample writes the output in place, no transpose
            out = xp.matmul(wm[:, None], cols)  # (G, N, Fg, P)
            out = out[0] if self.G == 1 else out.transpose(1, 0, 2, 3)
        return xp.ascontiguousarray(out).reshape((N, F) + self.O)

    def grad_matrix(self, xp, gy):
        """Output gradient ``(N, F, *O)`` as the matrix the products take."""
        if self.cl:
            g = gy.reshape(self.N, self.F, self.P)
            return xp.ascontiguousarray(g.transpose(0, 2, 1)).reshape(
                self.N * self.P, self.G, self.Fg
            )
        return gy.reshape(self.N, self.G, self.Fg, self.P).transpose(1, 0, 2, 3)

    def weight_grad(self, xp, gm, cols):
        """Weight gradient as a ``(G, Fg, K*Cg)`` matrix."""
        self._size_pool(xp)
        if self.cl:
            if self.G == 1:
                return xp.matmul(gm.reshape(-1, self.F).T, cols.reshape(gm.shape[0], -1))[None]
            return xp.matmul(gm.transpose(1, 2, 0), cols.transpose(1, 0, 2))
        stack = self.G * self.N * self.Fg * cols.shape[2] * cols.itemsize
        if stack <= _BATCHED_BYTES:
            return xp.matmul(gm, cols.transpose(0, 1, 3, 2)).sum(axis=1)
        # large filters: one product over all samples, at the price of two transposes
        g2 = xp.ascontiguousarray(gm.transpose(0, 2, 1, 3)).reshape(self.G, self.Fg, -1)
        c2 = xp.ascontiguousarray(cols.transpose(0, 2, 1, 3)).reshape(self.G, cols.shape[2], -1)
        return xp.matmul(g2, c2.transpose(0, 2, 1))

    def input_grad(self, xp, gy, gm, w, dtype):
        """Gradient of the convolution input from the output gradient ``gy`` (and its
        matrix ``gm``). A stride-1 convolution's input gradient is itself a stride-1
        convolution of ``gy`` with the flipped, transposed kernel; computed that way it
        is one im2col and one product, without col2im's ``K`` scatter-adds (ResNet-20's
        3x3 layers: about half the time of ``data_grad``)."""
        dual = self.dual()
        if dual is None:
            return self.data_grad(xp, gm, w, dtype)
        G, Fg, Cg, d = self.G, self.Fg, self.Cg, self.d
        flip = (slice(None),) * 3 + (slice(None, None, -1),) * d
        wt = w.reshape((G, Fg, Cg) + self.K)[flip].swapaxes(1, 2)
        wt = wt.reshape((self.C, Fg) + self.K)
        out = dual.forward(
            xp, dual.im2col(xp, gy.astype(dtype, copy=False)), dual.weight_matrix(xp, wt)
        )
        return out.astype(dtype, copy=False)

    def dual(self):
        """The stride-1 convolution that computes this one's input gradient, or None:
        for strided convolutions, padding wider than the dilated kernel, or more filters
        than channels (its columns would be ``F/C`` times larger than col2im's)."""
        if not hasattr(self, "_dual"):
            pads = tuple(dl * (k - 1) - p for k, dl, p in zip(self.K, self.dilate, self.pad))
            ok = max(self.stride) == 1 and min(pads) >= 0 and self.Fg <= self.Cg
            self._dual = (
                ConvPlan(
                    self.N,
                    self.F,
                    self.C,
                    self.G,
                    self.O,
                    self.K,
                    self.stride,
                    self.dilate,
                    pads,
                    self.S,
                )
                if ok
                else None
            )
        return self._dual

    def data_grad(self, xp, gm, w, dtype):
        """Gradient of the convolution input ``(N, C, *S)`` from the output gradient."""
        G, Fg, Cg, KK, N = self.G, self.Fg, self.Cg, self.KK, self.N
        lead = (slice(None),)
        self._size_pool(xp)
        if self.cl:
            # one product per kernel offset block keeps each col2im slice contiguous
            w4 = w.reshape(G, Fg, Cg, KK).transpose(3, 0, 1, 2)  # (KK, G, Fg, Cg)
            dc = xp.matmul(gm.transpose(1, 0, 2)[None], w4)  # (KK, G, NP, Cg)
            dc = dc.reshape((KK, G, N) + self.O + (Cg,))
            dc = xp.moveaxis(dc, 1, -2)  # (KK, N, *O, G, Cg)
            canvas = xp.zeros((N,) + self.padded + (G, Cg), dtype)
            for k, win in enumerate(self.windows):
                canvas[lead + win] += dc[k]
            dx = canvas[lead + self.interior].reshape((N,) + self.S + (self.C,))
            return xp.ascontiguousarray(xp.moveaxis(dx, -1, 1))
        wm = self.weight_matrix(xp, w)
        dc = xp.matmul(wm.transpose(0, 2, 1)[:, None], gm)  # (G, N, KK*Cg, P)
        dc = dc.reshape((G, N, KK, Cg) + self.O).transpose(
            (1, 0, 2, 3) + tuple(range(4, 4 + self.d))
        )  # (N, G, KK, Cg, *O)
        canvas = xp.zeros((N, G, Cg) + self.padded, dtype)
        for k, win in enumerate(self.windows):
            canvas[(slice(None),) * 3 + win] += dc[:, :, k]
        dx = canvas[(slice(None),) * 3 + self.interior].reshape((N, self.C) + self.S)
        return xp.ascontiguousarray(dx)


_BATCHED_BYTES = 16 << 20  # largest per-sample weight-gradient stack summed afterwards


def check_spatial(op, name, value, nd, allow_empty=True):
    """A per-dimension attribute (stride, pad...) as a tuple of length ``nd``."""
    if len(value) == 0 and allow_empty:
        return None
    if len(value) != nd:
        raise MXNetError(
            f"operator {op}: {name} {tuple(value)} must have {nd} entries, one "
            f"per spatial dimension of kernel"
        )
    return tuple(int(v) for v in value)
