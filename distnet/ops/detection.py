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
from .attrs import Attr, Bool, Float, FloatTuple, Int, Shape
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


def _pool(ay, x, ax):
    """``ay @ x[c] @ ax.T`` for every channel: (C, bins_h, bins_w) (two BLAS products,
    far faster than a three-operand einsum)."""
    return ay @ (x @ ax.T)


def _unpool(ay, g, ax):
    """The data gradient of ``_pool``: ``ay.T @ g[c] @ ax`` per channel."""
    return ay.T @ (g @ ax)


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
            full = _pool(ay, data[b], ax)
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
            dx[b] += _unpool(ay, gr, ax)
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
            out[r] = _pool(ay, data[b], ax)[sel, ii, jj]
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
            dx[int(roi[0])] += _unpool(ay, gr, ax)
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


# ---------------------------------------------------------------- Proposal
def _anchors(stride, scales, ratios):
    """Faster R-CNN's base anchors (A, 4) centred on the first stride cell: per ratio,
    per scale, with py-faster-rcnn's rounding and inclusive pixel ends."""
    ctr = 0.5 * (stride - 1)
    out = []
    for ratio in ratios:
        ws = np.round(np.sqrt(stride * stride / ratio))
        hs = np.round(ws * ratio)
        for scale in scales:
            w, h = ws * scale, hs * scale
            out.append(
                [ctr - 0.5 * (w - 1), ctr - 0.5 * (h - 1), ctr + 0.5 * (w - 1), ctr + 0.5 * (h - 1)]
            )
    return np.array(out, np.float64)


def _decode(boxes, deltas, iou_loss):
    """Apply (dx, dy, dw, dh) deltas (or, with ``iou_loss``, corner offsets)."""
    if iou_loss:
        return boxes + deltas
    w = boxes[:, 2] - boxes[:, 0] + 1.0
    h = boxes[:, 3] - boxes[:, 1] + 1.0
    cx = boxes[:, 0] + 0.5 * (w - 1.0) + deltas[:, 0] * w
    cy = boxes[:, 1] + 0.5 * (h - 1.0) + deltas[:, 1] * h
    pw, ph = np.exp(deltas[:, 2]) * w, np.exp(deltas[:, 3]) * h
    return np.stack(
        [
            cx - 0.5 * (pw - 1.0),
            cy - 0.5 * (ph - 1.0),
            cx + 0.5 * (pw - 1.0),
            cy + 0.5 * (ph - 1.0),
        ],
        axis=1,
    )


def _nms(boxes, threshold, limit):
    """Greedy non-maximum suppression over score-sorted ``boxes``: kept indices."""
    area = (boxes[:, 2] - boxes[:, 0] + 1.0) * (boxes[:, 3] - boxes[:, 1] + 1.0)
    alive = np.ones(len(boxes), bool)
    keep = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        keep.append(i)
        if len(keep) >= limit:
            break
        rest = np.flatnonzero(alive[i + 1 :]) + i + 1
        iw = np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]) + 1.0
        ih = np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]) + 1.0
        inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
        iou = inter / (area[i] + area[rest] - inter)
        alive[rest[iou > threshold]] = False
    return np.array(keep, np.int64)


def _propose(a, scores, deltas, info):
    """Proposals of one image: (post_nms_top_n, 4) boxes and their scores."""
    na, h, w = scores.shape[0] // 2, scores.shape[1], scores.shape[2]
    stride = a["feature_stride"]
    base = _anchors(stride, a["scales"], a["ratios"])
    sy, sx = np.meshgrid(np.arange(h) * stride, np.arange(w) * stride, indexing="ij")
    shifts = np.stack([sx, sy, sx, sy], axis=-1).reshape(h, w, 1, 4)
    anchors = (shifts + base).reshape(-1, 4)  # (h, w, a) order
    fg = scores[na:].transpose(1, 2, 0).reshape(-1).astype(np.float64)
    d = deltas.reshape(na, 4, h, w).transpose(2, 3, 0, 1).reshape(-1, 4).astype(np.float64)
    boxes = _decode(anchors, d, a["iou_loss"])
    im_h, im_w, im_scale = (float(v) for v in info[:3])
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, im_w - 1.0)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, im_h - 1.0)
    # cells beyond the (unpadded) image and boxes smaller than rpn_min_size score -1
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    outside = (ys >= int(im_h / stride)) | (xs >= int(im_w / stride))
    fg[np.repeat(outside.reshape(-1), na)] = -1.0
    min_size = a["rpn_min_size"] * im_scale
    small = (boxes[:, 2] - boxes[:, 0] + 1.0 < min_size) | (
        boxes[:, 3] - boxes[:, 1] + 1.0 < min_size
    )
    boxes[small] += np.array([-1.0, -1.0, 1.0, 1.0]) * (min_size / 2.0)
    fg[small] = -1.0
    order = np.argsort(-fg, kind="stable")[: min(a["rpn_pre_nms_top_n"], len(fg))]
    keep = order[_nms(boxes[order], a["threshold"], a["rpn_post_nms_top_n"])]
    if len(keep) == 0:
        keep = order[:1]
    picks = keep[np.arange(a["rpn_post_nms_top_n"]) % len(keep)]  # MXNet repeats to fill
    return boxes[picks], fg[picks]


@register
class _contrib_MultiProposal(Op):
    """Region proposals of a Region Proposal Network for every image of a batch:
    anchors per ``feature_stride`` cell (``scales`` x ``ratios``), moved by
    ``bbox_pred``, clipped to the image, filtered by ``rpn_min_size``, the
    ``rpn_pre_nms_top_n`` best by foreground score kept through NMS at ``threshold``;
    ``rpn_post_nms_top_n`` rows ``[batch_index, x1, y1, x2, y2]`` per image (repeating
    the kept ones when fewer survive), plus the scores with ``output_score``. Runs on the
    host; no gradient reaches the inputs (as in MXNet)."""

    name = "_contrib_MultiProposal"
    inputs = ("cls_prob", "bbox_pred", "im_info")
    params = {
        "rpn_pre_nms_top_n": Attr(Int, 6000),
        "rpn_post_nms_top_n": Attr(Int, 300),
        "threshold": Attr(Float, 0.7),
        "rpn_min_size": Attr(Int, 16),
        "scales": Attr(FloatTuple, (4.0, 8.0, 16.0, 32.0)),
        "ratios": Attr(FloatTuple, (0.5, 1.0, 2.0)),
        "feature_stride": Attr(Int, 16),
        "output_score": Attr(Bool, False),
        "iou_loss": Attr(Bool, False),
    }

    def output_names(self, a):
        return ("output", "score") if a["output_score"] else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        c = in_shapes[0]
        if c is None:
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        n, rows = c[0], c[0] * a["rpn_post_nms_top_n"]
        in_shapes = [tuple(c), (n, c[1] * 2) + tuple(c[2:]), (n, 3)]
        return in_shapes, [(rows, 5), (rows, 1)][: self.num_outputs(a)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        cls, bbox, info = ins
        xp = xp_of(cls)
        na = len(a["scales"]) * len(a["ratios"])
        if (
            cls.ndim != 4
            or cls.shape[1] != 2 * na
            or tuple(bbox.shape) != (cls.shape[0], 4 * na) + cls.shape[2:]
        ):
            raise MXNetError(
                f"operator {self.name}: cls_prob must be (N, 2*A, H, W) and bbox_pred "
                f"(N, 4*A, H, W) with A = {na} anchors, got {tuple(cls.shape)} and {tuple(bbox.shape)}"
            )
        host = [_host_rois(x) for x in (cls, bbox, info)]
        rows, scores = [], []
        for i in range(cls.shape[0]):
            boxes, score = _propose(a, host[0][i], host[1][i], host[2][i])
            rows.append(np.concatenate([np.full((len(boxes), 1), i), boxes], axis=1))
            scores.append(score[:, None])
        outs = (
            xp.asarray(np.concatenate(rows), cls.dtype),
            xp.asarray(np.concatenate(scores), cls.dtype),
        )
        return outs[: self.num_outputs(a)], None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp = xp_of(ins[0])
        return tuple(xp.zeros_like(x) for x in ins)


@register
class _contrib_Proposal(_contrib_MultiProposal):
    """``MultiProposal`` for a batch of one image (MXNet's ``contrib.Proposal``)."""

    name = "_contrib_Proposal"

    def forward(self, a, ins, aux, is_train):
        if ins[0].shape[0] != 1:
            raise MXNetError(
                f"operator Proposal: handles one image, got a batch of {ins[0].shape[0]}; "
                f"use contrib.MultiProposal"
            )
        return super().forward(a, ins, aux, is_train)
