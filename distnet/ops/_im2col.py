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
* channels-first (``cn``): ``cols`` is ``(G, K*Cg, N*P)`` with output pixels innermost; the
  copies move runs of a whole output row. Best for few channels (the first convolution).
"""

import itertools

import numpy as np

from ..base import MXNetError


def _as_strided(xp, x, shape, strides):
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


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
            tuple(slice(k * dl, k * dl + (o - 1) * st + 1, st)
                  for k, dl, o, st in zip(ks, self.dilate, self.O, self.stride))
            for ks in itertools.product(*(range(k) for k in self.K))]
        # Few channels: copy whole output rows (channels-first); many: channel runs.
        self.cl = self.Cg >= self.O[-1] or (self.stride[-1] > 1 and self.Cg >= 4)

    # ---- weights ----
    def weight_matrix(self, xp, w):
        """``(F, Cg, *K)`` weight as ``(G, Fg, K*Cg)`` (kernel-major, channel innermost)."""
        return xp.moveaxis(w, 1, -1).reshape(self.G, self.Fg, self.KK * self.Cg)

    def weight_from_matrix(self, xp, wm):
        """Inverse of ``weight_matrix``: ``(G, Fg, K*Cg)`` to a contiguous ``(F, Cg, *K)``."""
        w = wm.reshape((self.F,) + self.K + (self.Cg,))
        return xp.ascontiguousarray(xp.moveaxis(w, -1, 1))

    # ---- data to columns ----
    def _canvas(self, xp, x, order):
        """``x`` (N, C, *S) zero-padded and laid out as ``order`` ('cl': N,*Sp,C; 'cn': C,N,*Sp)."""
        moved = xp.moveaxis(x, 1, -1) if order == "cl" else x.swapaxes(0, 1)
        if not any(self.pad):
            return xp.ascontiguousarray(moved)
        lead = (self.N,) if order == "cl" else (self.C, self.N)
        shape = lead + self.padded + ((self.C,) if order == "cl" else ())
        canvas = xp.zeros(shape, x.dtype)
        index = ((slice(None),) + self.interior + (slice(None),) if order == "cl"
                 else (slice(None), slice(None)) + self.interior)
        canvas[index] = moved
        return canvas

    def im2col(self, xp, x):
        """The column matrix of ``x`` (N, C, *S): ``(N*P, G, K*Cg)`` or ``(G, K*Cg, N*P)``."""
        d, G, Cg = self.d, self.G, self.Cg
        if self.cl:
            canvas = self._canvas(xp, x, "cl")
            st = canvas.strides
            sp, sc = st[1:1 + d], st[-1]
            shape = (self.N,) + self.O + (G,) + self.K + (Cg,)
            strides = ((st[0],) + tuple(s * k for s, k in zip(sp, self.stride)) + (Cg * sc,)
                       + tuple(s * k for s, k in zip(sp, self.dilate)) + (sc,))
            view = _as_strided(xp, canvas, shape, strides)
            return xp.ascontiguousarray(view).reshape(self.N * self.P, G, self.KK * Cg)
        canvas = self._canvas(xp, x, "cn")
        st = canvas.strides
        sc, sn, sp = st[0], st[1], st[2:]
        shape = (G,) + self.K + (Cg, self.N) + self.O
        strides = ((Cg * sc,) + tuple(s * k for s, k in zip(sp, self.dilate)) + (sc, sn)
                   + tuple(s * k for s, k in zip(sp, self.stride)))
        view = _as_strided(xp, canvas, shape, strides)
        return xp.ascontiguousarray(view).reshape(G, self.KK * Cg, self.N * self.P)

    # ---- the products ----
    def forward(self, xp, cols, wm):
        """Convolution output ``(N, F, *O)`` from columns and the weight matrix."""
        N, P, F = self.N, self.P, self.F
        if self.cl:
            if self.G == 1:
                out = xp.matmul(cols.reshape(N * P, -1), wm[0].T)
            else:
                out = xp.matmul(cols.transpose(1, 0, 2), wm.transpose(0, 2, 1))
                out = out.transpose(1, 0, 2)
            out = out.reshape(N, P, F).transpose(0, 2, 1)
        else:
            out = xp.matmul(wm, cols).reshape(F, N, P).transpose(1, 0, 2)
        return xp.ascontiguousarray(out).reshape((N, F) + self.O)

    def grad_matrix(self, xp, gy):
        """Output gradient ``(N, F, *O)`` as the matrix the products take."""
        g = gy.reshape(self.N, self.F, self.P)
        if self.cl:
            return xp.ascontiguousarray(g.transpose(0, 2, 1)).reshape(
                self.N * self.P, self.G, self.Fg)
        return xp.ascontiguousarray(g.transpose(1, 0, 2)).reshape(
            self.G, self.Fg, self.N * self.P)

    def weight_grad(self, xp, gm, cols):
        """Weight gradient as a ``(G, Fg, K*Cg)`` matrix."""
        if self.cl:
            if self.G == 1:
                return xp.matmul(gm.reshape(-1, self.F).T, cols.reshape(gm.shape[0], -1))[None]
            return xp.matmul(gm.transpose(1, 2, 0), cols.transpose(1, 0, 2))
        return xp.matmul(gm, cols.transpose(0, 2, 1))

    def data_grad(self, xp, gm, w, dtype):
        """Gradient of the convolution input ``(N, C, *S)`` from the output gradient."""
        G, Fg, Cg, KK = self.G, self.Fg, self.Cg, self.KK
        if self.cl:
            # one product per kernel offset block keeps each col2im slice contiguous
            w4 = w.reshape(G, Fg, Cg, KK).transpose(3, 0, 1, 2)          # (KK, G, Fg, Cg)
            dc = xp.matmul(gm.transpose(1, 0, 2)[None], w4)              # (KK, G, NP, Cg)
            dc = dc.reshape((KK, G, self.N) + self.O + (Cg,))
            dc = xp.moveaxis(dc, 1, -2)                                  # (KK, N, *O, G, Cg)
            canvas = xp.zeros((self.N,) + self.padded + (G, Cg), dtype)
            for k, win in enumerate(self.windows):
                canvas[(slice(None),) + win] += dc[k]
            dx = canvas[(slice(None),) + self.interior].reshape((self.N,) + self.S + (self.C,))
            return xp.ascontiguousarray(xp.moveaxis(dx, -1, 1))
        wm = self.weight_matrix(xp, w)
        dc = xp.matmul(wm.transpose(0, 2, 1), gm)                          # (G, KK*Cg, NP)
        dc = dc.reshape((G, KK, Cg, self.N) + self.O)
        canvas = xp.zeros((G, Cg, self.N) + self.padded, dtype)
        for k, win in enumerate(self.windows):
            canvas[(slice(None),) * 3 + win] += dc[:, k]
        dx = canvas[(slice(None),) * 3 + self.interior].reshape((self.C, self.N) + self.S)
        return xp.ascontiguousarray(dx.swapaxes(0, 1))


def check_spatial(op, name, value, nd, allow_empty=True):
    """A per-dimension attribute (stride, pad...) as a tuple of length ``nd``."""
    if len(value) == 0 and allow_empty:
        return None
    if len(value) != nd:
        raise MXNetError(f"operator {op}: {name} {tuple(value)} must have {nd} entries, one "
                         f"per spatial dimension of kernel")
    return tuple(int(v) for v in value)
