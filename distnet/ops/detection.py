"""Region-of-interest operators of object detection: ``ROIPooling``,
``contrib.ROIAlign``, ``contrib.RROIAlign`` and ``contrib.PSROIPooling``.

``rois`` rows are ``[batch_index, x1, y1, x2, y2]`` in image coordinates (RROIAlign:
``[batch_index, center_x, center_y, width, height, angle_degrees]``), scaled to the
feature map by ``spatial_scale``. The ROI coordinates get no gradient, as in MXNet.

Average-style pooling is separable: with one weight matrix for rows (pooled rows x H) and
one for columns (pooled columns x W), a region's output is ``Ay @ data @ Ax.T``, which
is how ROIAlign and PSROIPooling run here.
"""

import math

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Float, Int, Shape
from .registry import Op, register
from ._indexing import scatter_add
from ._util import xp_of


def _pair(v, name, op):
    v = tuple(v)
    if len(v) == 1:
        v = v * 2
    if len(v) != 2 or min(v) <= 0:
        raise MXNetError(f"operator {op}: {name} must be one or two positive ints, got {v}")
    return v


def _check_inputs(op, data, rois, width=5):
    if data.ndim != 4 or rois.ndim != 2 or rois.shape[1] != width:
        raise MXNetError(
            f"operator {op}: data must be (N, C, H, W) and rois (num_rois, {width}), got "
            f"{tuple(data.shape)} and {tuple(rois.shape)}"
        )


def _host_rois(rois):
    """The ROIs as a float64 numpy array (they are few; the loops run on the host)."""
    return np.asarray(rois.get() if hasattr(rois, "get") else rois, dtype=np.float64)


def _batch_index(op, value, n):
    b = int(value)
    if not 0 <= b < n:
        raise MXNetError(f"operator {op}: ROI batch index {b} is outside the batch of {n}")
    return b


def _round(v):
    """C's round(): halves away from zero."""
    return math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1)


class _RoiOp(Op):
    """Shared declaration: inputs (data, rois), output (num_rois, C_out, ph, pw)."""

    inputs = ("data", "rois")
    rois_width = 5

    def out_channels(self, a, c):
        return c

    def pooled(self, a):
        return _pair(a["pooled_size"], "pooled_size", self.name)

    def infer_shape(self, a, in_shapes, aux_shapes):
        d, r = in_shapes
        if d is None or r is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [(r[0], self.out_channels(a, d[1])) + self.pooled(a)], aux_shapes


# ---------------------------------------------------------------- ROIPooling
@register
class ROIPooling(_RoiOp):
    """Max pooling of each ROI into ``pooled_size`` (h, w) bins (Fast R-CNN). ROI
    corners are rounded to feature-map pixels (both ends included); an empty bin gives 0."""

    name = "ROIPooling"
    params = {"pooled_size": Attr(Shape), "spatial_scale": Attr(Float)}

    def _bins(self, a, roi, h, w):
        """(row slice, column slice) of every bin of one ROI; None for an empty bin."""
        ph, pw = self.pooled(a)
        s = a["spatial_scale"]
        x1, y1, x2, y2 = (_round(v * s) for v in roi[1:5])
        bin_h, bin_w = max(y2 - y1 + 1, 1) / ph, max(x2 - x1 + 1, 1) / pw
        for i in range(ph):
            h0 = min(max(math.floor(i * bin_h) + y1, 0), h)
            h1 = min(max(math.ceil((i + 1) * bin_h) + y1, 0), h)
            for j in range(pw):
                w0 = min(max(math.floor(j * bin_w) + x1, 0), w)
                w1 = min(max(math.ceil((j + 1) * bin_w) + x1, 0), w)
                empty = h1 <= h0 or w1 <= w0
                yield i, j, None if empty else (slice(h0, h1), slice(w0, w1))

    def forward(self, a, ins, aux, is_train):
        data, rois = ins
        _check_inputs(self.name, data, rois)
        xp = xp_of(data)
        n, c, h, w = data.shape
        out = xp.zeros((rois.shape[0], c) + self.pooled(a), data.dtype)
        argmax = []  # per ROI and bin: (batch, bin, flat index of the max within the bin)
        for r, roi in enumerate(_host_rois(rois)):
            b = _batch_index(self.name, roi[0], n)
            for i, j, region in self._bins(a, roi, h, w):
                if region is None:
                    continue
                patch = data[b, :, region[0], region[1]].reshape(c, -1)
                idx = patch.argmax(axis=1)
                out[r, :, i, j] = patch[xp.arange(c), idx]
                argmax.append((r, i, j, b, region, idx))
        return (out,), argmax

    def backward(self, F, a, ins, outs, saved, ograds):
        data = ins[0]
        xp = xp_of(data)
        g = ograds[0]
        dx = xp.zeros_like(data)
        c = data.shape[1]
        for r, i, j, b, (rows, cols), idx in saved:
            width = cols.stop - cols.start
            yy, xx = idx // width + rows.start, idx % width + cols.start
            scatter_add(xp, dx, (b, xp.arange(c), yy, xx), g[r, :, i, j])
        return dx, None


# ---------------------------------------------------------------- ROIAlign
def _taps_1d(coords, size):
    """ROIAlign's bilinear taps along one axis: (lo, hi, w_lo, w_hi). A sample more than
    one pixel outside reads 0; one past the last pixel's centre reads the edge pixel."""
    valid = (coords >= -1.0) & (coords <= size)
    c = np.maximum(coords, 0.0)
    lo = np.floor(c).astype(np.int64)
    edge = lo >= size - 1
    lo = np.where(edge, size - 1, lo)
    hi = np.where(edge, size - 1, lo + 1)
    frac = np.where(edge, 0.0, c - lo)
    return lo, hi, (1.0 - frac) * valid, frac * valid


def _interp_matrix(xp, coords, size, dtype):
    """(bins, size) weights averaging bilinear samples at ``coords`` (bins, grid), with
    ROIAlign's border rule (see ``_taps_1d``)."""
    lo, hi, wlo, whi = _taps_1d(coords, size)
    m = np.zeros((coords.shape[0], size))
    rows = np.repeat(np.arange(coords.shape[0]), coords.shape[1])
    np.add.at(m, (rows, lo.ravel()), wlo.ravel())
    np.add.at(m, (rows, hi.ravel()), whi.ravel())
    return xp.asarray(m / coords.shape[1], dtype=dtype)


def _sample_coords(start, size, bins, grid):
    """Sample positions (bins, grid): ``grid`` evenly spaced points inside each bin."""
    step = size / bins
    return start + np.arange(bins)[:, None] * step + (np.arange(grid)[None, :] + 0.5) * step / grid


@register
class _contrib_ROIAlign(_RoiOp):
    """ROIAlign (Mask R-CNN): each bin averages bilinear samples on a
    ``sample_ratio`` x ``sample_ratio`` grid (adaptive, ``ceil(roi_size / pooled)``,
    when <= 0). ``position_sensitive`` reads channel group ``i * pw + j`` for bin (i, j)
    (R-FCN style), giving C / (ph * pw) channels; ``aligned`` shifts by half a pixel."""

    name = "_contrib_ROIAlign"
    params = {
        "pooled_size": Attr(Shape),
        "spatial_scale": Attr(Float),
        "sample_ratio": Attr(Int, -1),
        "position_sensitive": Attr(Bool, False),
        "aligned": Attr(Bool, False),
    }

    def out_channels(self, a, c):
        ph, pw = self.pooled(a)
        if a["position_sensitive"]:
            if c % (ph * pw):
                raise MXNetError(
                    f"operator ROIAlign: position_sensitive needs channels ({c}) divisible "
                    f"by pooled height * width ({ph * pw})"
                )
            return c // (ph * pw)
        return c

    def _matrices(self, a, roi, h, w, xp, dtype):
        ph, pw = self.pooled(a)
        s, off = a["spatial_scale"], 0.5 if a["aligned"] else 0.0
        x1, y1, x2, y2 = (v * s - off for v in roi[1:5])
        rw, rh = x2 - x1, y2 - y1
        if not a["aligned"]:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        sr = a["sample_ratio"]
        gh = sr if sr > 0 else max(int(math.ceil(rh / ph)), 1)
        gw = sr if sr > 0 else max(int(math.ceil(rw / pw)), 1)
        ay = _interp_matrix(xp, _sample_coords(y1, rh, ph, gh), h, dtype)
        ax = _interp_matrix(xp, _sample_coords(x1, rw, pw, gw), w, dtype)
        return ay, ax

    def _select(self, a, c):
        """Position-sensitive channel index (C_out, ph, pw) of each output element."""
        ph, pw = self.pooled(a)
        co = self.out_channels(a, c)
        return (np.arange(co)[:, None, None] * ph + np.arange(ph)[:, None]) * pw + np.arange(pw)

    def forward(self, a, ins, aux, is_train):
        data, rois = ins
        _check_inputs("ROIAlign", data, rois)
        xp = xp_of(data)
        n, c, h, w = data.shape
        ph, pw = self.pooled(a)
        out = xp.zeros((rois.shape[0], self.out_channels(a, c), ph, pw), data.dtype)
        sel = xp.asarray(self._select(a, c)) if a["position_sensitive"] else None
        ii, jj = xp.arange(ph)[:, None], xp.arange(pw)
        for r, roi in enumerate(_host_rois(rois)):
            b = _batch_index("ROIAlign", roi[0], n)
            ay, ax = self._matrices(a, roi, h, w, xp, data.dtype)
            full = xp.einsum("ih,chw,jw->cij", ay, data[b], ax)
            out[r] = full[sel, ii, jj] if sel is not None else full
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        data, rois = ins
        xp = xp_of(data)
        n, c, h, w = data.shape
        ph, pw = self.pooled(a)
        g = ograds[0]
        dx = xp.zeros_like(data)
        sel = xp.asarray(self._select(a, c)) if a["position_sensitive"] else None
        ii, jj = xp.arange(ph)[:, None], xp.arange(pw)
        for r, roi in enumerate(_host_rois(rois)):
            b = int(roi[0])
            ay, ax = self._matrices(a, roi, h, w, xp, data.dtype)
            gr = g[r]
            if sel is not None:
                gr = xp.zeros((c, ph, pw), g.dtype)
                gr[sel, ii, jj] = g[r]
            dx[b] += xp.einsum("ih,cij,jw->chw", ay, gr, ax)
        return dx, None


# ---------------------------------------------------------------- PSROIPooling
def _box_matrix(starts, stops, size, dtype, xp):
    """(bins, size): 1/len over each bin's [start, stop) pixels, zero rows when empty."""
    idx = np.arange(size)
    inside = (idx >= np.asarray(starts)[:, None]) & (idx < np.asarray(stops)[:, None])
    counts = np.maximum(inside.sum(axis=1, keepdims=True), 1)
    return xp.asarray(inside / counts, dtype=dtype)


@register
class _contrib_PSROIPooling(_RoiOp):
    """Position-sensitive ROI pooling (R-FCN): bin (i, j) of output channel ``k``
    averages input channel ``(k * group_size + gi) * group_size + gj``, where (gi, gj)
    is the bin's cell on a ``group_size`` grid. Data has ``output_dim * group_size**2``
    channels."""

    name = "_contrib_PSROIPooling"
    params = {
        "spatial_scale": Attr(Float),
        "output_dim": Attr(Int),
        "pooled_size": Attr(Int),
        "group_size": Attr(Int, 0),
    }

    def pooled(self, a):
        return (a["pooled_size"], a["pooled_size"])

    def out_channels(self, a, c):
        g = a["group_size"] or a["pooled_size"]
        if c != a["output_dim"] * g * g:
            raise MXNetError(
                f"operator PSROIPooling: data has {c} channels, expected output_dim * "
                f"group_size**2 = {a['output_dim'] * g * g}"
            )
        return a["output_dim"]

    def _matrices(self, a, roi, h, w, xp, dtype):
        p, s = a["pooled_size"], a["spatial_scale"]
        x1, y1 = _round(roi[1]) * s, _round(roi[2]) * s
        x2, y2 = (_round(roi[3]) + 1.0) * s, (_round(roi[4]) + 1.0) * s
        bh, bw = max(y2 - y1, 0.1) / p, max(x2 - x1, 0.1) / p

        def edges(start, step, size):
            lo = [min(max(math.floor(i * step + start), 0), size) for i in range(p)]
            hi = [min(max(math.ceil((i + 1) * step + start), 0), size) for i in range(p)]
            return lo, hi

        return _box_matrix(*edges(y1, bh, h), h, dtype, xp), _box_matrix(
            *edges(x1, bw, w), w, dtype, xp
        )

    def _select(self, a):
        p, k = a["pooled_size"], a["output_dim"]
        g = a["group_size"] or p
        cell = np.clip(np.arange(p) * g // p, 0, g - 1)
        return (np.arange(k)[:, None, None] * g + cell[:, None]) * g + cell

    def forward(self, a, ins, aux, is_train):
        data, rois = ins
        _check_inputs("PSROIPooling", data, rois)
        xp = xp_of(data)
        n, c, h, w = data.shape
        p = a["pooled_size"]
        out = xp.zeros((rois.shape[0], self.out_channels(a, c), p, p), data.dtype)
        sel, ii, jj = xp.asarray(self._select(a)), xp.arange(p)[:, None], xp.arange(p)
        for r, roi in enumerate(_host_rois(rois)):
            b = _batch_index("PSROIPooling", roi[0], n)
            ay, ax = self._matrices(a, roi, h, w, xp, data.dtype)
            out[r] = xp.einsum("ih,chw,jw->cij", ay, data[b], ax)[sel, ii, jj]
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        data, rois = ins
        xp = xp_of(data)
        n, c, h, w = data.shape
        p = a["pooled_size"]
        dx = xp.zeros_like(data)
        sel, ii, jj = xp.asarray(self._select(a)), xp.arange(p)[:, None], xp.arange(p)
        for r, roi in enumerate(_host_rois(rois)):
            ay, ax = self._matrices(a, roi, h, w, xp, data.dtype)
            gr = xp.zeros((c, p, p), data.dtype)
            scatter_add(xp, gr, (sel, ii, jj), ograds[0][r])
            dx[int(roi[0])] += xp.einsum("ih,cij,jw->chw", ay, gr, ax)
        return dx, None


# ---------------------------------------------------------------- RROIAlign
@register
class _contrib_RROIAlign(_RoiOp):
    """ROIAlign over rotated boxes ``[batch, cx, cy, w, h, angle]`` (angle in degrees,
    counter-clockwise): each bin averages bilinear samples on a ``sampling_ratio`` grid
    (adaptive when <= 0) of the rotated box. The data gradient is distnet's addition
    (MXNet 1.9.1 has no backward for this operator)."""

    name = "_contrib_RROIAlign"
    rois_width = 6
    params = {
        "pooled_size": Attr(Shape),
        "spatial_scale": Attr(Float),
        "sampling_ratio": Attr(Int, -1),
    }

    def _taps(self, a, roi, h, w):
        """Per tap: (rows, cols, weights) of shape (ph, gh, pw, gw)."""
        ph, pw = self.pooled(a)
        s = a["spatial_scale"]
        cx, cy, rw, rh = (v * s for v in roi[1:5])
        theta = roi[5] * np.pi / 180.0
        rw, rh = max(rw, 1.0), max(rh, 1.0)
        sr = a["sampling_ratio"]
        gh = sr if sr > 0 else max(int(math.ceil(rh / ph)), 1)
        gw = sr if sr > 0 else max(int(math.ceil(rw / pw)), 1)
        yy = _sample_coords(-rh / 2.0, rh, ph, gh)[:, :, None, None]
        xx = _sample_coords(-rw / 2.0, rw, pw, gw)[None, None]
        cos, sin = math.cos(theta), math.sin(theta)
        x = xx * cos + yy * sin + cx
        y = yy * cos - xx * sin + cy
        # the 0-outside rule needs both axes: a tap is 0 if y or x is out
        ylo, yhi, wylo, wyhi = _taps_1d(y, h)
        xlo, xhi, wxlo, wxhi = _taps_1d(x, w)
        scale = 1.0 / (gh * gw)
        for rows, wy in ((ylo, wylo), (yhi, wyhi)):
            for cols, wx in ((xlo, wxlo), (xhi, wxhi)):
                yield rows, cols, wy * wx * scale

    def forward(self, a, ins, aux, is_train):
        data, rois = ins
        _check_inputs("RROIAlign", data, rois, 6)
        xp = xp_of(data)
        n, c, h, w = data.shape
        out = xp.zeros((rois.shape[0], c) + self.pooled(a), data.dtype)
        for r, roi in enumerate(_host_rois(rois)):
            b = _batch_index("RROIAlign", roi[0], n)
            for rows, cols, wgt in self._taps(a, roi, h, w):
                vals = data[b][:, xp.asarray(rows), xp.asarray(cols)]
                out[r] += (vals * xp.asarray(wgt, dtype=data.dtype)).sum(axis=(2, 4))
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        data, rois = ins
        xp = xp_of(data)
        n, c, h, w = data.shape
        dx = xp.zeros_like(data)
        for r, roi in enumerate(_host_rois(rois)):
            b = int(roi[0])
            g = ograds[0][r][:, :, None, :, None]
            for rows, cols, wgt in self._taps(a, roi, h, w):
                contrib = g * xp.asarray(wgt, dtype=data.dtype)
                idx = (
                    b,
                    xp.arange(c)[:, None, None, None, None],
                    xp.asarray(rows),
                    xp.asarray(cols),
                )
                scatter_add(xp, dx, idx, xp.broadcast_to(contrib, (c,) + rows.shape))
        return dx, None
