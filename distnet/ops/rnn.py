"""The fused ``RNN`` operator: rnn_relu, rnn_tanh, lstm and gru, several layers, one or
two directions, written once against ``xp`` with a hand-written BPTT backward.

Parameters come packed in one vector in MXNet's (and cuDNN's) layout, so a vector saved by
MXNet loads unchanged: first every weight, layer by layer and direction by direction
(``i2h`` ``(G*H, in)`` then ``h2h`` ``(G*H, H)``), then every bias in the same order
(``i2h`` ``(G*H,)`` then ``h2h`` ``(G*H,)``). An LSTM with a projection (LSTMP,
``projection_size`` P) has per direction ``i2h`` ``(4H, in)``, ``h2h`` ``(4H, P)`` and
``h2r`` ``(P, H)`` weights, in that order; its output and hidden state are
``r = h2r @ h`` of size P, layers above the first take ``D*P`` inputs and the cell state
keeps size H. Gates are ordered i, f, g, o for LSTM and
r, z, n for GRU (``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, cuDNN's form).

Speed: the input projections of all time steps are one GEMM per layer and direction; only
the recurrent product runs per step, into preallocated buffers; the weight gradients are
again one GEMM each after the backward time loop.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Int, Float, Bool, OptInt, OptFloat, enum
from .registry import Op, register
from ._util import xp_of

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


def param_size(mode, num_layers, input_size, state_size, bidirectional, projection_size=None):
    """Length of the packed parameter vector (MXNet's ``GetRnnParamSize``)."""
    return sum(
        int(np.prod(s))
        for s in packed_shapes(
            mode, num_layers, input_size, state_size, bidirectional, projection_size
        )
    )


def unpack(
    xp, params, mode, num_layers, input_size, state_size, bidirectional, projection_size=None
):
    """Views into the packed vector: ``[wx, wh, bx, bh, wr]`` per layer and direction,
    in order ``l0 fwd, l0 bwd, l1 fwd, ...`` (``wr``, the LSTMP projection, is None
    without ``projection_size``)."""
    shapes = packed_shapes(mode, num_layers, input_size, state_size, bidirectional, projection_size)
    flat, off = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        flat.append(params[off : off + n].reshape(shape))
        off += n
    per = 3 if projection_size else 2
    nw = len(shapes) - 2 * num_layers * (2 if bidirectional else 1)
    views = []
    for k in range(nw // per):
        w = flat[k * per : (k + 1) * per]
        views.append(
            [w[0], w[1], flat[nw + 2 * k], flat[nw + 2 * k + 1], w[2] if projection_size else None]
        )
    return views


def _sigmoid_(xp, x):
    """In-place logistic function (``0.5 * tanh(x / 2) + 0.5``: stable, no overflow)."""
    x *= 0.5
    xp.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


# ---------------------------------------------------------------- one direction, forward
def _lstm_fwd(xp, a, proj, wh, bh, h, c, y, rev, wr=None):
    """LSTM over ``proj`` ``(T, N, 4H)`` (input projection plus both biases, turned into
    the gate activations in place); writes ``y[t]`` (``h``, or with the LSTMP projection
    ``wr`` ``(P, H)`` the projected ``r = h @ wr.T``, which is also the recurrent state);
    returns saved arrays and the final states."""
    T, H = proj.shape[0], proj.shape[2] // 4
    whT = wh.T
    cs = xp.empty((T,) + c.shape, c.dtype)
    tcs = xp.empty_like(cs)
    hs = None if wr is None else xp.empty_like(cs)  # unprojected h, for wr's gradient
    lo, hi = a["lstm_state_clip_min"], a["lstm_state_clip_max"]
    for t in range(T - 1, -1, -1) if rev else range(T):
        gt = proj[t]
        gt += xp.matmul(h, whT)
        _sigmoid_(xp, gt[:, : 2 * H])
        xp.tanh(gt[:, 2 * H : 3 * H], out=gt[:, 2 * H : 3 * H])
        _sigmoid_(xp, gt[:, 3 * H :])
        ct = cs[t]
        xp.multiply(gt[:, H : 2 * H], c, out=ct)
        ct += gt[:, :H] * gt[:, 2 * H : 3 * H]
        if lo is not None and hi is not None:
            xp.clip(ct, lo, hi, out=ct)
        xp.tanh(ct, out=tcs[t])
        if wr is None:
            h = xp.multiply(gt[:, 3 * H :], tcs[t], out=y[t])
        else:
            xp.multiply(gt[:, 3 * H :], tcs[t], out=hs[t])
            y[t] = xp.matmul(hs[t], wr.T)
            h = y[t]
        c = ct
    return (cs, tcs, hs), h, c


def _gru_fwd(xp, a, proj, wh, bh, h, c, y, rev, wr=None):
    """GRU over ``proj`` ``(T, N, 3H)`` (input projection plus ``b_i``); ``proj`` becomes
    the activations r, z, n; also saves ``W_hn h + b_hn`` per step."""
    T, H = proj.shape[0], wh.shape[1]
    whT = wh.T
    hn = xp.empty((T,) + h.shape, h.dtype)
    for t in range(T - 1, -1, -1) if rev else range(T):
        gt = proj[t]
        hh = xp.matmul(h, whT)
        hh += bh
        gt[:, : 2 * H] += hh[:, : 2 * H]
        _sigmoid_(xp, gt[:, : 2 * H])
        hn[t] = hh[:, 2 * H :]
        n = gt[:, 2 * H :]
        n += gt[:, :H] * hn[t]
        xp.tanh(n, out=n)
        z = gt[:, H : 2 * H]
        # h' = n + z * (h - n)
        out = y[t]
        xp.subtract(h, n, out=out)
        out *= z
        out += n
        h = out
    return (hn,), h, None


def _plain_fwd(xp, a, proj, wh, bh, h, c, y, rev, wr=None):
    """Elman RNN (tanh or relu) over ``proj`` ``(T, N, H)``; ``proj`` becomes the
    activations."""
    T = proj.shape[0]
    whT = wh.T
    relu = a["mode"] == "rnn_relu"
    for t in range(T - 1, -1, -1) if rev else range(T):
        gt = proj[t]
        gt += xp.matmul(h, whT)
        if relu:
            xp.maximum(gt, 0, out=gt)
        else:
            xp.tanh(gt, out=gt)
        y[t] = gt
        h = y[t]
    return (), h, None


_FWD = {"lstm": _lstm_fwd, "gru": _gru_fwd, "rnn_tanh": _plain_fwd, "rnn_relu": _plain_fwd}


# ---------------------------------------------------------------- one direction, backward
def _steps(T, rev):
    """Time steps in backward order and the index of each step's predecessor."""
    return [(t, t + 1 if rev else t - 1) for t in (range(T) if rev else range(T - 1, -1, -1))]


def _prev_h(xp, y, h0, rev):
    """``(T, N, H)``: the hidden state each step started from."""
    if rev:
        return xp.concatenate([y[1:], h0[None]], axis=0)
    return xp.concatenate([h0[None], y[:-1]], axis=0)


def _lstm_factors(xp, gates, cs, tcs, c0, rev):
    """The parts of the LSTM gate gradients that do not depend on the recurrence, for
    all steps at once (a few large array operations instead of many small ones per step):
    ``A`` ``(T, N, 3, H)`` multiplies ``dc_t`` into the i, f, g pre-activation gradients,
    ``Ao`` multiplies ``dh_t`` into o's, ``B`` turns ``dh_t`` into its share of ``dc_t``."""
    T, N, H4 = gates.shape
    H = H4 // 4
    g4 = gates.reshape(T, N, 4, H)
    i, f, g, o = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2], g4[:, :, 3]
    cprev = _prev_h(xp, cs, c0, rev)
    A = xp.empty((T, N, 3, H), gates.dtype)
    xp.multiply(g * i, 1 - i, out=A[:, :, 0])
    xp.multiply(cprev * f, 1 - f, out=A[:, :, 1])
    xp.multiply(i, 1 - g * g, out=A[:, :, 2])
    Ao = tcs * o * (1 - o)
    B = o * (1 - tcs * tcs)
    return A, Ao, B, f


def _lstm_bwd(xp, a, fw, wh, dy, dh, dc, wr=None):
    """BPTT through one LSTM direction. Returns the pre-activation gradients of the input
    projection, those of the recurrent projection (the same for LSTM), the gradients
    of the initial states and, with the LSTMP projection ``wr``, that of ``wr``."""
    gates, cs, rev = fw["gates"], fw["saved"][0], fw["rev"]
    T, N, H = cs.shape
    A, Ao, B, f = _lstm_factors(xp, gates, cs, fw["saved"][1], fw["c0"], rev)
    lo, hi = a["lstm_state_clip_min"], a["lstm_state_clip_max"]
    # a clipped cell state passes no gradient back
    keep = (cs > lo) & (cs < hi) if lo is not None and hi is not None else None
    dG = xp.empty_like(gates)
    dG4 = dG.reshape(T, N, 4, H)
    dR = None if wr is None else xp.empty(dy.shape, dy.dtype)
    for t, _ in _steps(T, rev):
        dht = dy[t] + dh
        if wr is not None:  # through r = h @ wr.T
            dR[t] = dht
            dht = xp.matmul(dht, wr)
        xp.multiply(dht, Ao[t], out=dG4[t, :, 3])
        dct = dht * B[t]
        dct += dc
        if keep is not None:
            dct *= keep[t]
        xp.multiply(dct[:, None, :], A[t], out=dG4[t, :, :3])
        dc = dct * f[t]
        dh = xp.matmul(dG[t], wh)
    dwr = None
    if wr is not None:
        dwr = xp.matmul(dR.reshape(T * N, -1).T, fw["saved"][2].reshape(T * N, H))
    return dG, dG, dh, dc, dwr


def _gru_bwd(xp, a, fw, wh, dy, dh, dc, wr=None):
    """BPTT through one GRU direction (see ``_lstm_bwd``); the recurrent projection's
    gradient differs from the input one in the n gate (``* r``)."""
    gates, y, h0, rev = fw["gates"], fw["y"], fw["h0"], fw["rev"]
    (hn,) = fw["saved"]
    T, H = gates.shape[0], wh.shape[1]
    dGx = xp.empty_like(gates)
    dGh = xp.empty_like(gates)
    for t, p in _steps(T, rev):
        g = gates[t]
        r, z, n = g[:, :H], g[:, H : 2 * H], g[:, 2 * H :]
        hprev = y[p] if 0 <= p < T else h0
        dht = dy[t] + dh
        dn = dht * (1 - z) * (1 - n * n)
        dGx[t, :, H : 2 * H] = dht * (hprev - n) * z * (1 - z)
        dGx[t, :, :H] = dn * hn[t] * r * (1 - r)
        dGx[t, :, 2 * H :] = dn
        dGh[t, :, : 2 * H] = dGx[t, :, : 2 * H]
        dGh[t, :, 2 * H :] = dn * r
        dh = dht * z + xp.matmul(dGh[t], wh)
    return dGx, dGh, dh, None, None


def _plain_bwd(xp, a, fw, wh, dy, dh, dc, wr=None):
    """BPTT through one Elman direction (see ``_lstm_bwd``)."""
    gates, rev = fw["gates"], fw["rev"]
    dG = xp.empty_like(gates)
    relu = a["mode"] == "rnn_relu"
    for t, _ in _steps(gates.shape[0], rev):
        yt = gates[t]
        dht = dy[t] + dh
        if relu:
            xp.multiply(dht, yt > 0, out=dG[t])
        else:
            xp.multiply(dht, 1 - yt * yt, out=dG[t])
        dh = xp.matmul(dG[t], wh)
    return dG, dG, dh, None, None


_BWD = {"lstm": _lstm_bwd, "gru": _gru_bwd, "rnn_tanh": _plain_bwd, "rnn_relu": _plain_bwd}


# ---------------------------------------------------------------- the operator
@register
class RNN(Op):
    """Fused recurrent layers over ``data`` ``(T, N, C)`` with packed ``parameters``,
    initial ``state`` ``(L*D, N, H)`` (and ``state_cell`` for LSTM). Outputs ``out``
    ``(T, N, D*H)`` and, with ``state_outputs``, the final states. ``p`` is dropout on the
    outputs of every layer but the last, while training. ``projection_size`` P (LSTM
    only) makes it an LSTMP: outputs and hidden states of size P, cell states of size H
    (MXNet 1.9.1 runs its forward on CPU but has no CPU backward; distnet has both).
    ``lstm_state_clip_min/max`` clip
    the cell state at every step, as MXNet does with cuDNN (MXNet's CPU kernel ignores
    them); a clipped cell state passes no gradient back."""

    name = "RNN"
    inputs = ("data", "parameters", "state", "state_cell", "sequence_length")
    params = {
        "state_size": Attr(Int),
        "num_layers": Attr(Int),
        "bidirectional": Attr(Bool, False),
        "mode": Attr(enum("rnn_relu", "rnn_tanh", "lstm", "gru")),
        "p": Attr(Float, 0.0),
        "state_outputs": Attr(Bool, False),
        "projection_size": Attr(OptInt, None),
        "lstm_state_clip_min": Attr(OptFloat, None),
        "lstm_state_clip_max": Attr(OptFloat, None),
        "lstm_state_clip_nan": Attr(Bool, False),
        "use_sequence_length": Attr(Bool, False),
    }

    def input_names(self, a):
        names = ("data", "parameters", "state")
        if a["mode"] == "lstm":
            names += ("state_cell",)
        if a["use_sequence_length"]:
            names += ("sequence_length",)
        return names

    def output_names(self, a):
        if not a["state_outputs"]:
            return ("output",)
        return ("output", "state", "state_cell") if a["mode"] == "lstm" else ("output", "state")

    def _check(self, a):
        proj = a["projection_size"]
        if proj is not None and (a["mode"] != "lstm" or proj <= 0):
            raise MXNetError(
                f"operator RNN: projection_size={proj} needs mode='lstm' and "
                f"a positive size, got mode={a['mode']!r}"
            )
        if a["use_sequence_length"]:
            raise MXNetError(
                "operator RNN: use_sequence_length is not supported by distnet "
                "(MXNet supports it only with cuDNN); mask with SequenceMask"
            )

    def infer_shape(self, a, in_shapes, aux_shapes):
        self._check(a)
        d = in_shapes[0]
        n_out = self.num_outputs(a)
        if d is None:
            return in_shapes, [None] * n_out, aux_shapes
        if len(d) != 3:
            raise MXNetError(
                f"operator RNN: data must be (seq_len, batch, input_size), got shape {tuple(d)}"
            )
        T, N, C = d
        L, H, P = a["num_layers"], a["state_size"], a["projection_size"]
        D, R = 2 if a["bidirectional"] else 1, P or H
        want = [
            tuple(d),
            (param_size(a["mode"], L, C, H, a["bidirectional"], P),),
            (L * D, N, R),
        ] + [(L * D, N, H)] * (a["mode"] == "lstm")
        names = self.input_names(a)
        for i, shape in enumerate(in_shapes[1 : len(want)], 1):
            if shape is not None and not _fits(shape, want[i]):
                raise MXNetError(
                    f"operator RNN: {names[i]} has shape {tuple(shape)}, "
                    f"expected {want[i]} for data {tuple(d)}, mode={a['mode']}, "
                    f"num_layers={L}, state_size={H}, bidirectional={D == 2}"
                    + (f", projection_size={P}" if P else "")
                )
        outs = [(T, N, D * R), (L * D, N, R), (L * D, N, H)][:n_out]
        return want + list(in_shapes[len(want) :]), outs, aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        self.infer_shape(a, [tuple(s.shape) for s in ins], [])
        mode, L, H, P = a["mode"], a["num_layers"], a["state_size"], a["projection_size"]
        D = 2 if a["bidirectional"] else 1
        views = unpack(xp, ins[1].astype(x.dtype, copy=False), mode, L, x.shape[2], H, D == 2, P)
        hx = _zero_fill(xp, ins[2], (L * D, x.shape[1], P or H), x.dtype)
        cx = _zero_fill(xp, ins[3], (L * D, x.shape[1], H), x.dtype) if mode == "lstm" else None
        layers, hy, cy, inp = [], [], [], x
        for layer in range(L):
            fws = []
            for d in range(D):
                k = layer * D + d
                fw = self._direction(
                    xp, a, inp, views[k], hx[k], None if cx is None else cx[k], rev=d == 1
                )
                fws.append(fw)
                hy.append(fw["hT"])
                cy.append(fw["cT"])
            out = fws[0]["y"] if D == 1 else xp.concatenate([f["y"] for f in fws], axis=2)
            mask = None
            if is_train and a["p"] > 0 and layer < L - 1:
                mask = _dropout_mask(xp, out.shape, out.dtype, a["p"])
                out = out * mask
            layers.append({"x": inp, "dirs": fws, "mask": mask})
            inp = out
        outs = [inp]
        if a["state_outputs"]:
            outs.append(xp.stack(hy))
            if mode == "lstm":
                outs.append(xp.stack(cy))
        return tuple(outs), {"layers": layers, "views": views}

    @staticmethod
    def _direction(xp, a, inp, view, h0, c0, rev):
        """Run one direction of one layer; returns what its backward needs."""
        wx, wh, bx, bh, wr = view
        T, N, C = inp.shape
        proj = xp.matmul(inp.reshape(T * N, C), wx.T)
        proj += bx
        if a["mode"] != "gru":
            proj += bh  # GRU keeps b_hn inside the reset product
        proj = proj.reshape(T, N, -1)
        y = xp.empty((T, N, wh.shape[1]), inp.dtype)  # h2h's columns: P with LSTMP, else H
        saved, hT, cT = _FWD[a["mode"]](xp, a, proj, wh, bh, h0, c0, y, rev, wr)
        return {
            "gates": proj,
            "y": y,
            "h0": h0,
            "c0": c0,
            "rev": rev,
            "saved": saved,
            "hT": hT,
            "cT": cT,
        }

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        mode, L, H = a["mode"], a["num_layers"], a["state_size"]
        D, R = 2 if a["bidirectional"] else 1, a["projection_size"] or H
        views = saved["views"]
        dparams = [None] * len(views)
        zeros_h = xp.zeros((L * D, x.shape[1], R), x.dtype)
        zeros_c = xp.zeros((L * D, x.shape[1], H), x.dtype)
        dhy = ograds[1] if a["state_outputs"] else zeros_h
        dcy = ograds[2] if a["state_outputs"] and mode == "lstm" else zeros_c
        dhx, dcx = xp.empty_like(zeros_h), xp.empty_like(zeros_c)
        dout = ograds[0]
        for layer in range(L - 1, -1, -1):
            rec = saved["layers"][layer]
            if rec["mask"] is not None:
                dout = dout * rec["mask"]
            inp = rec["x"]
            T, N, C = inp.shape
            dinp = None
            for d in range(D):
                k = layer * D + d
                fw = rec["dirs"][d]
                dy = dout[:, :, d * R : (d + 1) * R]
                dgx, dgh, dh0, dc0, dwr = _BWD[mode](
                    xp, a, fw, views[k][1], dy, dhy[k], dcy[k], views[k][4]
                )
                dhx[k] = dh0
                if dc0 is not None:
                    dcx[k] = dc0
                gx2 = dgx.reshape(T * N, -1)
                hprev = _prev_h(xp, fw["y"], fw["h0"], fw["rev"]).reshape(T * N, R)
                dparams[k] = [
                    xp.matmul(gx2.T, inp.reshape(T * N, C)),
                    xp.matmul(dgh.reshape(T * N, -1).T, hprev),
                    gx2.sum(axis=0),
                    dgh.reshape(T * N, -1).sum(axis=0),
                    dwr,
                ]
                part = xp.matmul(gx2, views[k][0]).reshape(T, N, C)
                dinp = part if dinp is None else dinp + part
            dout = dinp
        dp = xp.concatenate([g.reshape(-1) for g in _packed_order(dparams)])
        grads = [
            dout,
            dp.astype(ins[1].dtype, copy=False),
            dhx if ins[2].size else None,
        ]  # an empty (unknown-batch) state: no grad
        if mode == "lstm":
            grads.append(dcx if ins[3].size else None)
        return tuple(grads) + (None,) * (len(ins) - len(grads))


def _fits(shape, want):
    """``shape`` equals ``want``, a 0 standing for an unknown dimension (the begin states
    of MXNet-exported Gluon graphs are ``_zeros`` of shape ``(L*D, 0, H)``)."""
    return len(shape) == len(want) and all(s in (0, w) for s, w in zip(shape, want))


def _zero_fill(xp, state, shape, dtype):
    """``state``, or zeros of ``shape`` for an empty state with unknown batch size."""
    return xp.zeros(shape, dtype) if state.size == 0 else state


def _packed_order(dparams):
    """Per-direction ``[dwx, dwh, dbx, dbh, dwr]`` lists in the packed vector's order
    (``dwr`` None without a projection)."""
    weights = [g for p in dparams for g in (p[0], p[1], p[4]) if g is not None]
    return weights + [g for p in dparams for g in p[2:4]]


def _dropout_mask(xp, shape, dtype, p):
    """Inverted-dropout mask (kept / (1 - p)) drawn from distnet's seeded generator."""
    from .. import random as _random
    from .nn import _uniform

    if p >= 1:
        return xp.zeros(shape, dtype)
    keep = _uniform(_random.generator(xp), shape, dtype) >= dtype.type(p)
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def packed_shapes(mode, num_layers, input_size, state_size, bidirectional, projection_size=None):
    """Shapes of the separate weights and biases in the packed vector's order (with
    ``projection_size`` P each direction's ``h2r`` ``(P, H)`` follows its ``h2h``)."""
    g, h, d = _GATES[mode], state_size, 2 if bidirectional else 1
    r = projection_size or h
    weights = []
    for layer in range(num_layers):
        ni = input_size if layer == 0 else d * r
        per = [(g * h, ni), (g * h, r)] + [(r, h)] * bool(projection_size)
        weights += per * d
    return weights + [(g * h,)] * (2 * num_layers * d)


@register
class _rnn_param_pack(Op):
    """Concatenate a recurrent layer's weights and biases (flattened, in the packed
    order) into the ``parameters`` vector of ``RNN``. ``data`` (the layer's input) only
    serves shape inference: from it the input size of layer 0, and so every parameter
    shape, follows even inside a larger hybridized graph. It gets no gradient."""

    name = "_rnn_param_pack"
    variadic = True
    params = {
        "num_args": Attr(Int),
        "state_size": Attr(Int),
        "num_layers": Attr(Int),
        "bidirectional": Attr(Bool, False),
        "mode": Attr(enum("rnn_relu", "rnn_tanh", "lstm", "gru")),
        "layout_axis": Attr(Int, 2),
        "projection_size": Attr(OptInt, None),
    }

    def _shapes(self, a, data_shape):
        return packed_shapes(
            a["mode"],
            a["num_layers"],
            data_shape[a["layout_axis"]],
            a["state_size"],
            a["bidirectional"],
            a["projection_size"],
        )

    def infer_shape(self, a, in_shapes, aux_shapes):
        if in_shapes[0] is None:
            return in_shapes, [None], aux_shapes
        want = self._shapes(a, in_shapes[0])
        if len(want) != len(in_shapes) - 1:
            raise MXNetError(
                f"_rnn_param_pack: expected {len(want)} parameters, got {len(in_shapes) - 1}"
            )
        for i, (got, exp) in enumerate(zip(in_shapes[1:], want)):
            if got is not None and tuple(got) != exp:
                raise MXNetError(
                    f"RNN layer: parameter {i} has shape {tuple(got)}, expected "
                    f"{exp} for input {tuple(in_shapes[0])}"
                )
        total = sum(int(np.prod(s)) for s in want)
        return [in_shapes[0]] + want, [(total,)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        dt = next((t for t in in_types[1:] if t is not None), None) or np.dtype(np.float32)
        return [in_types[0] or dt] + [dt] * (len(in_types) - 1), [dt], aux_types

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[1])
        return (xp.concatenate([p.reshape(-1) for p in ins[1:]]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g, off, grads = ograds[0], 0, [None]
        for p in ins[1:]:
            grads.append(g[off : off + p.size].reshape(p.shape))
            off += p.size
        return tuple(grads)


@register
class _rnn_param_concat(Op):
    """MXNet's packing node in exported Gluon RNN graphs: the flattened weights and
    biases concatenated (``dim`` 0). Lets such ``-symbol.json`` files load unchanged."""

    name = "_rnn_param_concat"
    variadic = True
    params = {"num_args": Attr(Int), "dim": Attr(Int, 0)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        if any(s is None for s in in_shapes):
            return in_shapes, [None], aux_shapes
        return in_shapes, [(sum(int(np.prod(s)) for s in in_shapes),)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (xp_of(ins[0]).concatenate([p.reshape(-1) for p in ins]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g, off, grads = ograds[0], 0, []
        for p in ins:
            grads.append(g[off : off + p.size].reshape(p.shape))
            off += p.size
        return tuple(grads)
