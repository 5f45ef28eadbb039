"""``CTCLoss`` (alias ``ctc_loss``, ``_contrib_CTCLoss``): connectionist temporal
classification loss of unnormalised activations ``data`` ``(T, N, C)`` against padded
``label`` ``(N, L)``, one value per sequence; forward-backward in log space, vectorised
over the batch, one loop over time."""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, enum
from .registry import Op, register
from ._util import xp_of


def _logsumexp(xp, *arrs):
    m = arrs[0]
    for a in arrs[1:]:
        m = xp.maximum(m, a)
    safe = xp.where(xp.isfinite(m), m, 0)
    total = sum(xp.exp(a - safe) for a in arrs)
    with np.errstate(divide="ignore"):
        return xp.log(total) + safe


def _log_softmax(xp, x):
    m = x.max(axis=-1, keepdims=True)
    z = x - m
    return z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))


def _extended(xp, a, label, lab_len, blank):
    """Labels with blanks interleaved ``(N, 2L+1)``, their valid lengths, and whether the
    skip transition from ``s-2`` is allowed."""
    n, L = label.shape
    ext = xp.full((n, 2 * L + 1), blank, np.int64)
    ext[:, 1::2] = label
    pos = xp.arange(2 * L + 1)[None, :]
    ext = xp.where(pos < (2 * lab_len + 1)[:, None], ext, blank)
    skip = xp.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, 2 * lab_len + 1, skip


def _alphas(xp, lp_ext, seq_len, S, skip):
    """Forward variables ``(T, N, S')`` (log), emissions included."""
    T, n, Smax = lp_ext.shape
    neg = -np.inf
    alpha = xp.full((T, n, Smax), neg, lp_ext.dtype)
    alpha[0, :, 0] = lp_ext[0, :, 0]
    if Smax > 1:
        alpha[0, :, 1] = xp.where(S > 1, lp_ext[0, :, 1], neg)
    for t in range(1, T):
        prev = alpha[t - 1]
        s1 = xp.concatenate([xp.full((n, 1), neg, prev.dtype), prev[:, :-1]], axis=1)
        s2 = xp.concatenate([xp.full((n, 2), neg, prev.dtype), prev[:, :-2]], axis=1)
        s2 = xp.where(skip, s2, neg)
        alpha[t] = _logsumexp(xp, prev, s1, s2) + lp_ext[t]
    return alpha


def _betas(xp, lp_ext, seq_len, S, skip):
    """Backward variables ``(T, N, S')`` (log), emission at ``t`` excluded."""
    T, n, Smax = lp_ext.shape
    neg = -np.inf
    beta = xp.full((T, n, Smax), neg, lp_ext.dtype)
    s_idx = xp.arange(Smax)[None, :]
    final = (s_idx == (S - 1)[:, None]) | (s_idx == (S - 2)[:, None])
    skip_next = xp.concatenate([skip[:, 2:], xp.zeros((n, 2), bool)], axis=1)
    for t in range(T - 1, -1, -1):
        start = xp.where(final, 0.0, neg).astype(lp_ext.dtype)
        if t < T - 1:
            nxt = beta[t + 1] + lp_ext[t + 1]
            s1 = xp.concatenate([nxt[:, 1:], xp.full((n, 1), neg, nxt.dtype)], axis=1)
            s2 = xp.concatenate([nxt[:, 2:], xp.full((n, 2), neg, nxt.dtype)], axis=1)
            step = _logsumexp(xp, nxt, s1, xp.where(skip_next, s2, neg))
        else:
            step = xp.full((n, Smax), neg, lp_ext.dtype)
        last = (seq_len - 1 == t)[:, None]
        beta[t] = xp.where(last, start, xp.where((t < seq_len - 1)[:, None], step, neg))
    return beta


@register
class CTCLoss(Op):
    """CTC loss per sequence. ``blank_label='first'``: blank is class 0, labels 1..C-1
    padded with 0; ``'last'``: blank is class C-1, labels 0..C-2 padded with -1.
    ``data_lengths``/``label_lengths`` (with ``use_*_lengths``) give each sequence's
    length; otherwise all ``T`` steps are used and labels end at the padding."""

    name = "CTCLoss"
    aliases = ("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss")
    inputs = ("data", "label", "data_lengths", "label_lengths")
    params = {
        "use_data_lengths": Attr(Bool, False),
        "use_label_lengths": Attr(Bool, False),
        "blank_label": Attr(enum("first", "last"), "first"),
    }

    def input_names(self, a):
        return (
            ("data", "label")
            + ("data_lengths",) * a["use_data_lengths"]
            + ("label_lengths",) * a["use_label_lengths"]
        )

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        return in_shapes, [None if d is None else (d[1],)], aux_shapes

    def _lengths(self, xp, a, ins, T, C):
        data, label = ins[0], ins[1]
        n = data.shape[1]
        if label.ndim != 2 or label.shape[0] != n:
            raise MXNetError(
                f"CTCLoss: label must be (batch={n}, max_label_length), got {tuple(label.shape)}"
            )
        rest = list(ins[2:])
        seq_len = (
            rest.pop(0).astype(np.int64) if a["use_data_lengths"] else xp.full((n,), T, np.int64)
        )
        blank = 0 if a["blank_label"] == "first" else C - 1
        lab = label.astype(np.int64)
        if a["use_label_lengths"]:
            lab_len = rest.pop(0).astype(np.int64)
        else:
            pad = 0 if a["blank_label"] == "first" else -1
            is_pad = lab == pad
            lab_len = xp.where(is_pad.any(axis=1), is_pad.argmax(axis=1), lab.shape[1])
        lab = xp.clip(lab, 0, C - 1)
        return seq_len, lab, lab_len, blank

    def forward(self, a, ins, aux, is_train):
        data = ins[0]
        xp = xp_of(data)
        T, n, C = data.shape
        seq_len, lab, lab_len, blank = self._lengths(xp, a, ins, T, C)
        if int(seq_len.max()) > T or int(seq_len.min()) < 1:
            raise MXNetError(f"CTCLoss: data_lengths must lie in [1, {T}], got {seq_len.tolist()}")
        lp = _log_softmax(xp, data.astype(np.float64))
        ext, S, skip = _extended(xp, a, lab, lab_len, blank)
        lp_ext = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T,) + ext.shape), axis=2)
        alpha = _alphas(xp, lp_ext, seq_len, S, skip)
        b = xp.arange(n)
        last = alpha[seq_len - 1, b]
        end1 = last[b, S - 1]
        end2 = xp.where(S > 1, last[b, xp.maximum(S - 2, 0)], -np.inf)
        logp = _logsumexp(xp, end1, end2)
        return (-logp.astype(data.dtype),), (lp, lp_ext, ext, alpha, seq_len, S, skip, logp)

    def backward(self, F, a, ins, outs, saved, ograds):
        lp, lp_ext, ext, alpha, seq_len, S, skip, logp = saved
        data = ins[0]
        xp = xp_of(data)
        T, n, C = data.shape
        beta = _betas(xp, lp_ext, seq_len, S, skip)
        post = xp.exp(alpha + beta - logp[None, :, None])  # (T, N, S') occupation
        occ = xp.zeros((T, n, C), post.dtype)
        idx = xp.broadcast_to(ext[None], post.shape)
        t_i, b_i = xp.meshgrid(xp.arange(T), xp.arange(n), indexing="ij")
        t_i = xp.broadcast_to(t_i[:, :, None], post.shape)
        b_i = xp.broadcast_to(b_i[:, :, None], post.shape)
        if xp is np:
            np.add.at(occ, (t_i, b_i, idx), post)
        else:
            import cupyx

            cupyx.scatter_add(occ, (t_i, b_i, idx), post)
        grad = xp.exp(lp) - occ
        # steps past a sequence's length get 0 (where(), since their occupation may be NaN)
        grad = xp.where((xp.arange(T)[:, None] < seq_len[None, :])[:, :, None], grad, 0.0)
        grad *= ograds[0].reshape(1, n, 1)
        return (grad.astype(data.dtype),) + (None,) * (len(ins) - 1)
