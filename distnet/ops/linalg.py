"""Matrix products: dot (2-d and tensordot over one axis) and batch_dot."""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Str
from .registry import Op, register
from ._util import xp_of


def _lhs_view(l, transpose):
    """``lhs`` as a matrix and the output axes it contributes: N-d ``lhs`` is
    ``(prod(shape[:-1]), shape[-1])``, transposed ``(prod(shape[1:]), shape[0])`` (MXNet
    transposes N-d inputs as their 2-d views)."""
    if transpose:
        return l.reshape(l.shape[0], -1).T, tuple(l.shape[1:])
    return l.reshape(-1, l.shape[-1]), tuple(l.shape[:-1])


def _rhs_view(r, transpose):
    """``rhs`` as a matrix ``(shape[0], rest)`` (transposed: ``(shape[-1], rest)``)."""
    if transpose:
        return r.reshape(-1, r.shape[-1]).T, tuple(r.shape[:-1])
    return r.reshape(r.shape[0], -1), tuple(r.shape[1:])


@register
class dot(Op):
    """Matrix product; for N-d inputs, sums over the last axis of ``lhs`` and the first of
    ``rhs``. ``transpose_a`` makes it the first axis of ``lhs``, ``transpose_b`` the last
    axis of ``rhs`` (any number of dimensions, as MXNet)."""

    name = "dot"
    inputs = ("lhs", "rhs")
    params = {
        "transpose_a": Attr(Bool, False),
        "transpose_b": Attr(Bool, False),
        "forward_stype": Attr(Str, "None"),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        l, r = in_shapes
        if l is None or r is None:
            return in_shapes, [None], aux_shapes
        ldims = tuple(l[1:]) if a["transpose_a"] else tuple(l[:-1])
        rdims = tuple(r[:-1]) if a["transpose_b"] else tuple(r[1:])
        out = ldims + rdims
        return in_shapes, [out if out else (1,)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        (lm, ldims), (rm, rdims) = (
            _lhs_view(ins[0], a["transpose_a"]),
            _rhs_view(ins[1], a["transpose_b"]),
        )
        if lm.shape[1] != rm.shape[0]:
            raise MXNetError(
                f"dot: shapes {tuple(ins[0].shape)} and {tuple(ins[1].shape)} "
                f"do not match (transpose_a={a['transpose_a']}, "
                f"transpose_b={a['transpose_b']})"
            )
        out = xp_of(lm).dot(lm, rm)
        return (out.reshape((ldims + rdims) or (1,)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        l, r = ins
        xp = xp_of(l)
        lm, _ = _lhs_view(l, a["transpose_a"])
        rm, _ = _rhs_view(r, a["transpose_b"])
        g2 = ograds[0].reshape(lm.shape[0], rm.shape[1])
        gl, gr = xp.dot(g2, rm.T), xp.dot(lm.T, g2)
        gl = (gl.T if a["transpose_a"] else gl).reshape(l.shape)
        gr = (gr.T if a["transpose_b"] else gr).reshape(r.shape)
        return gl, gr


@register
class batch_dot(Op):
    """Batched matrix product of ``(B, M, K)`` and ``(B, K, N)`` arrays."""

    name = "batch_dot"
    inputs = ("lhs", "rhs")
    params = {
        "transpose_a": Attr(Bool, False),
        "transpose_b": Attr(Bool, False),
        "forward_stype": Attr(Str, "None"),
    }

    def forward(self, a, ins, aux, is_train):
        l, r = ins
        xp = xp_of(l)
        lm = l.swapaxes(-1, -2) if a["transpose_a"] else l
        rm = r.swapaxes(-1, -2) if a["transpose_b"] else r
        return (xp.matmul(lm, rm),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        l, r = ins
        xp = xp_of(l)
        g = ograds[0]
        lm = l.swapaxes(-1, -2) if a["transpose_a"] else l
        rm = r.swapaxes(-1, -2) if a["transpose_b"] else r
        gl = xp.matmul(g, rm.swapaxes(-1, -2))
        gr = xp.matmul(lm.swapaxes(-1, -2), g)
        if a["transpose_a"]:
            gl = gl.swapaxes(-1, -2)
        if a["transpose_b"]:
            gr = gr.swapaxes(-1, -2)
        return xp.ascontiguousarray(gl), xp.ascontiguousarray(gr)


# ---------------------------------------------------------------- mx.nd.linalg / sym.linalg
# MXNet's la_op family: every operator works on the trailing two axes (a batch of matrices
# in front), with MXNet's names (`_linalg_gemm`, alias `linalg_gemm`, `nd.linalg.gemm`),
# attributes and output names, and gradients that follow MXNet's formulas (so the symmetric
# and triangular conventions match: potrf's gradient is symmetric, trsm's is triangular).


def _T(x):  # noqa: N802 (matrix transpose, as in the formulas)
    return x.swapaxes(-1, -2)


def _op(x, transpose):
    return _T(x) if transpose else x


def _tri(x, lower, k=0):
    xp = xp_of(x)
    return xp.tril(x, k) if lower else xp.triu(x, k)


def _solve_left(a, b):
    """``a^{-1} b`` for a batch of square ``a``."""
    return xp_of(a).linalg.solve(a, b)


def _solve_right(b, a):
    """``b a^{-1}``."""
    return _T(_solve_left(_T(a), _T(b)))


def _check_square(name, shape):
    if len(shape) < 2 or shape[-1] != shape[-2]:
        from ..base import MXNetError

        raise MXNetError(
            f"operator {name}: expected a (batch of) square matrices on the last "
            f"two axes, got shape {tuple(shape)}"
        )


class _La(Op):
    """Shared inference: ``out_shapes(a, in_shapes)`` once every input shape is known."""

    inputs = ("A",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        if any(s is None for s in in_shapes):
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        return in_shapes, [tuple(s) for s in self.out_shapes(a, in_shapes)], aux_shapes

    def out_shapes(self, a, shapes):
        """Output shapes from input shapes (default: one output shaped like the input)."""
        _check_square(self.name, shapes[0])
        return [shapes[0]]


def _rows_last(x, axis):
    """Move the matrix-row axis ``axis`` to position -2 (MXNet's ``axis`` attribute)."""
    return x if axis in (-2, x.ndim - 2) else xp_of(x).moveaxis(x, axis, -2)


def _rows_back(x, axis):
    return x if axis in (-2, x.ndim - 2) else xp_of(x).moveaxis(x, -2, axis)


def _shape_rows_last(shape, axis):
    shape = list(shape)
    if axis not in (-2, len(shape) - 2):
        rows = shape.pop(axis)  # popped first: the insert position counts without it
        shape.insert(len(shape) - 1, rows)
    return shape


@register
class _linalg_gemm2(_La):
    """``alpha * op(A) @ op(B)`` on the last two axes (``axis``: the rows' axis)."""

    name = "_linalg_gemm2"
    aliases = ("linalg_gemm2",)
    inputs = ("A", "B")
    params = {
        "transpose_a": Attr(Bool, False),
        "transpose_b": Attr(Bool, False),
        "alpha": Attr(float, 1.0),
        "axis": Attr(int, -2),
    }

    def out_shapes(self, a, shapes):
        ax = a["axis"]
        sa, sb = _shape_rows_last(shapes[0], ax), _shape_rows_last(shapes[1], ax)
        rows = sa[-1] if a["transpose_a"] else sa[-2]
        cols = sb[-2] if a["transpose_b"] else sb[-1]
        out = sa[:-2] + [rows, cols]
        ax %= len(out)  # list.insert counts a negative index after the pop: make it positive
        if ax != len(out) - 2:
            out.insert(ax, out.pop(-2))
        return [out]

    def forward(self, a, ins, aux, is_train):
        ax = a["axis"]
        A, B = (_rows_last(x, ax) for x in ins)
        out = a["alpha"] * xp_of(A).matmul(_op(A, a["transpose_a"]), _op(B, a["transpose_b"]))
        return (_rows_back(out.astype(A.dtype, copy=False), ax),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        ax, alpha, ta, tb = a["axis"], a["alpha"], a["transpose_a"], a["transpose_b"]
        A, B = (_rows_last(x, ax) for x in ins)
        g = _rows_last(ograds[0], ax)
        mm = xp_of(A).matmul
        dA = alpha * (mm(_op(B, tb), _T(g)) if ta else mm(g, _T(_op(B, tb))))
        dB = alpha * (mm(_T(g), _op(A, ta)) if tb else mm(_T(_op(A, ta)), g))
        return (
            _rows_back(dA.astype(A.dtype, copy=False), ax),
            _rows_back(dB.astype(B.dtype, copy=False), ax),
        )


@register
class _linalg_gemm(_linalg_gemm2):
    """``alpha * op(A) @ op(B) + beta * C`` on the last two axes."""

    name = "_linalg_gemm"
    aliases = ("linalg_gemm",)
    inputs = ("A", "B", "C")
    params = dict(_linalg_gemm2.params, beta=Attr(float, 1.0))

    def forward(self, a, ins, aux, is_train):
        (prod,), _ = super().forward(a, ins[:2], aux, is_train)
        return ((prod + a["beta"] * ins[2]).astype(ins[2].dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        dA, dB = super().backward(F, a, ins[:2], outs, saved, ograds)
        return dA, dB, (a["beta"] * ograds[0]).astype(ins[2].dtype, copy=False)


@register
class _linalg_potrf(_La):
    """Cholesky factor: ``A = L L^T`` (``lower``) or ``A = U^T U``."""

    name = "_linalg_potrf"
    aliases = ("linalg_potrf",)
    params = {"lower": Attr(Bool, True)}

    def forward(self, a, ins, aux, is_train):
        low = xp_of(ins[0]).linalg.cholesky(ins[0])
        return ((low if a["lower"] else _T(low)).astype(ins[0].dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        L, g = outs[0], ograds[0]
        if a["lower"]:
            s = _tri(xp_of(L).matmul(_T(L), g), True)
            sym = s + _T(_tri(s, True, -1))
            out = 0.5 * _solve_right(_solve_left(_T(L), sym), L)
        else:
            s = _tri(xp_of(L).matmul(g, _T(L)), False)
            sym = s + _T(_tri(s, False, 1))
            out = 0.5 * _solve_right(_solve_left(L, sym), _T(L))
        return (out.astype(L.dtype, copy=False),)


@register
class _linalg_potri(_La):
    """Inverse of ``A = L L^T`` (or ``U^T U``) from its Cholesky factor."""

    name = "_linalg_potri"
    aliases = ("linalg_potri",)
    params = {"lower": Attr(Bool, True)}

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        factor = _tri(ins[0], a["lower"])
        full = xp.matmul(factor, _T(factor)) if a["lower"] else xp.matmul(_T(factor), factor)
        return (xp.linalg.inv(full).astype(ins[0].dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp = xp_of(ins[0])
        factor, inv, g = _tri(ins[0], a["lower"]), outs[0], ograds[0]
        if a["lower"]:
            d = -_solve_right(xp.matmul(inv, g) + xp.matmul(inv, _T(g)), _T(factor))
        else:
            d = -_solve_left(_T(factor), xp.matmul(g, inv) + xp.matmul(_T(g), inv))
        return (_tri(d, a["lower"]).astype(ins[0].dtype, copy=False),)


class _Triangular(_La):
    """trmm/trsm: a triangular ``A`` (only its ``lower``/upper triangle is read) with B."""

    inputs = ("A", "B")
    params = {
        "transpose": Attr(Bool, False),
        "rightside": Attr(Bool, False),
        "lower": Attr(Bool, True),
        "alpha": Attr(float, 1.0),
    }

    def out_shapes(self, a, shapes):
        _check_square(self.name, shapes[0])
        return [shapes[1]]

    def _grad_a(self, a, left, right):
        """MXNet's dA: ``scale * op(left) @ op(right)`` with the transposes its formulas
        use, restricted to A's triangle."""
        t = a["transpose"]
        if a["rightside"] == t:
            prod = xp_of(left).matmul(_op(left, t), _op(right, not t))
        else:
            prod = xp_of(left).matmul(_op(right, not t), _op(left, t))
        return _tri(prod, a["lower"])


def _tri_apply(a, tri_a, b, solve):
    """``op(A) B`` / ``B op(A)`` (``solve``: ``op(A)^{-1} B`` / ``B op(A)^{-1}``)."""
    m = _op(tri_a, a["transpose"])
    if solve:
        return _solve_right(b, m) if a["rightside"] else _solve_left(m, b)
    mm = xp_of(b).matmul
    return mm(b, m) if a["rightside"] else mm(m, b)


@register
class _linalg_trmm(_Triangular):
    """``alpha * op(A) @ B`` (or ``B @ op(A)`` with ``rightside``), A triangular."""

    name = "_linalg_trmm"
    aliases = ("linalg_trmm",)

    def forward(self, a, ins, aux, is_train):
        A, B = ins
        out = a["alpha"] * _tri_apply(a, _tri(A, a["lower"]), B, solve=False)
        return (out.astype(B.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        A, B = ins
        g = ograds[0]
        dA = a["alpha"] * self._grad_a(a, g, B)
        flipped = dict(a, transpose=not a["transpose"])
        dB = a["alpha"] * _tri_apply(flipped, _tri(A, a["lower"]), g, solve=False)
        return dA.astype(A.dtype, copy=False), dB.astype(B.dtype, copy=False)


@register
class _linalg_trsm(_Triangular):
    """Solve ``op(A) X = alpha * B`` (or ``X op(A) = alpha * B``), A triangular."""

    name = "_linalg_trsm"
    aliases = ("linalg_trsm",)

    def forward(self, a, ins, aux, is_train):
        A, B = ins
        out = _tri_apply(a, _tri(A, a["lower"]), a["alpha"] * B, solve=True)
        return (out.astype(B.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        A, B = ins
        flipped = dict(a, transpose=not a["transpose"])
        dB = _tri_apply(flipped, _tri(A, a["lower"]), a["alpha"] * ograds[0], solve=True)
        dA = (-1.0 / a["alpha"]) * self._grad_a(a, dB, outs[0])
        return dA.astype(A.dtype, copy=False), dB.astype(B.dtype, copy=False)


@register
class _linalg_syrk(_La):
    """``alpha * A @ A^T`` (or ``alpha * A^T @ A`` with ``transpose``)."""

    name = "_linalg_syrk"
    aliases = ("linalg_syrk",)
    params = {"transpose": Attr(Bool, False), "alpha": Attr(float, 1.0)}

    def out_shapes(self, a, shapes):
        s = list(shapes[0])
        n = s[-1] if a["transpose"] else s[-2]
        return [s[:-2] + [n, n]]

    def forward(self, a, ins, aux, is_train):
        A = ins[0]
        mm = xp_of(A).matmul
        out = a["alpha"] * (mm(_T(A), A) if a["transpose"] else mm(A, _T(A)))
        return (out.astype(A.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        A, g = ins[0], ograds[0]
        mm = xp_of(A).matmul
        d = mm(A, g + _T(g)) if a["transpose"] else mm(g + _T(g), A)
        return ((a["alpha"] * d).astype(A.dtype, copy=False),)


@register
class _linalg_sumlogdiag(_La):
    """Sum of the logarithms of the diagonal (shape ``(1,)`` for one matrix)."""

    name = "_linalg_sumlogdiag"
    aliases = ("linalg_sumlogdiag",)

    def out_shapes(self, a, shapes):
        _check_square(self.name, shapes[0])
        return [list(shapes[0][:-2]) or [1]]

    def forward(self, a, ins, aux, is_train):
        A = ins[0]
        xp = xp_of(A)
        out = xp.log(xp.diagonal(A, 0, -2, -1)).sum(axis=-1)
        return (out.reshape(tuple(A.shape[:-2]) or (1,)).astype(A.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        A = ins[0]
        xp = xp_of(A)
        g = ograds[0].reshape(A.shape[:-2] + (1,))
        diag = xp.diagonal(A, 0, -2, -1)
        return ((xp.eye(A.shape[-1], dtype=A.dtype) * (g / diag)[..., None, :]),)


def _make_diag(v, offset):
    xp = xp_of(v)
    n = v.shape[-1] + abs(offset)
    out = xp.zeros(v.shape[:-1] + (n, n), v.dtype)
    idx = xp.arange(v.shape[-1])
    rows, cols = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    out[..., rows, cols] = v
    return out


@register
class _linalg_extractdiag(_La):
    """The ``offset``-th diagonal of each matrix."""

    name = "_linalg_extractdiag"
    aliases = ("linalg_extractdiag",)
    params = {"offset": Attr(int, 0)}

    def out_shapes(self, a, shapes):
        _check_square(self.name, shapes[0])
        return [list(shapes[0][:-2]) + [shapes[0][-1] - abs(a["offset"])]]

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        return (xp.ascontiguousarray(xp.diagonal(ins[0], a["offset"], -2, -1)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (_make_diag(ograds[0], a["offset"]),)


@register
class _linalg_makediag(_La):
    """Square matrices with the input vectors on their ``offset``-th diagonal."""

    name = "_linalg_makediag"
    aliases = ("linalg_makediag",)
    params = {"offset": Attr(int, 0)}

    def out_shapes(self, a, shapes):
        n = shapes[0][-1] + abs(a["offset"])
        return [list(shapes[0][:-1]) + [n, n]]

    def forward(self, a, ins, aux, is_train):
        return (_make_diag(ins[0], a["offset"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp = xp_of(ograds[0])
        return (xp.ascontiguousarray(xp.diagonal(ograds[0], a["offset"], -2, -1)),)


def _trian_index(n, a):
    """Rows and columns MXNet reads for a triangle, in its packing order: the lower
    triangle row by row, the upper one column by column."""
    offset = a["offset"]
    lower = offset < 0 or (offset == 0 and a["lower"])
    rows, cols = np.tril_indices(n, k=offset if lower else -offset)
    return (rows, cols) if lower else (cols, rows)


def _trian_size(count, offset):
    side = int(round((np.sqrt(8 * count + 1) - 1) / 2))
    return side + abs(offset), side * (side + 1) // 2 == count


@register
class _linalg_extracttrian(_La):
    """A triangle of each matrix packed into a vector (``offset``/``lower`` pick it)."""

    name = "_linalg_extracttrian"
    aliases = ("linalg_extracttrian",)
    params = {"offset": Attr(int, 0), "lower": Attr(Bool, True)}

    def out_shapes(self, a, shapes):
        _check_square(self.name, shapes[0])
        side = shapes[0][-1] - abs(a["offset"])
        return [list(shapes[0][:-2]) + [side * (side + 1) // 2]]

    def forward(self, a, ins, aux, is_train):
        rows, cols = _trian_index(ins[0].shape[-1], a)
        return (ins[0][..., rows, cols],), None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp = xp_of(ins[0])
        rows, cols = _trian_index(ins[0].shape[-1], a)
        out = xp.zeros(ins[0].shape, ins[0].dtype)
        out[..., rows, cols] = ograds[0]
        return (out,)


@register
class _linalg_maketrian(_La):
    """Square matrices whose triangle (``offset``/``lower``) is the packed input vector."""

    name = "_linalg_maketrian"
    aliases = ("linalg_maketrian",)
    params = {"offset": Attr(int, 0), "lower": Attr(Bool, True)}

    def out_shapes(self, a, shapes):
        n, exact = _trian_size(shapes[0][-1], a["offset"])
        if not exact:
            from ..base import MXNetError

            raise MXNetError(
                f"operator {self.name}: the last axis ({shapes[0][-1]}) is not a "
                "triangular number n*(n+1)/2"
            )
        return [list(shapes[0][:-1]) + [n, n]]

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        n = self.out_shapes(a, [ins[0].shape])[0][-1]
        rows, cols = _trian_index(n, a)
        out = xp.zeros(ins[0].shape[:-1] + (n, n), ins[0].dtype)
        out[..., rows, cols] = ins[0]
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        rows, cols = _trian_index(ograds[0].shape[-1], a)
        return (ograds[0][..., rows, cols],)


@register
class _linalg_inverse(_La):
    """Matrix inverse."""

    name = "_linalg_inverse"
    aliases = ("linalg_inverse",)

    def forward(self, a, ins, aux, is_train):
        return (xp_of(ins[0]).linalg.inv(ins[0]).astype(ins[0].dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        mm = xp_of(ins[0]).matmul
        inv = outs[0]
        return ((-mm(mm(_T(inv), ograds[0]), _T(inv))).astype(inv.dtype, copy=False),)


class _Det(_La):
    def out_shapes(self, a, shapes):
        _check_square(self.name, shapes[0])
        return [list(shapes[0][:-2]) or [1]] * self.num_outputs(a)

    def _inv_t(self, A, keep):
        """``inv(A)^T`` where ``keep`` (a batch mask) is true, zero elsewhere (MXNet stops
        the gradient at singular matrices)."""
        xp = xp_of(A)
        safe = xp.where(keep[..., None, None], A, xp.eye(A.shape[-1], dtype=A.dtype))
        return xp.where(keep[..., None, None], _T(xp.linalg.inv(safe)), 0)


@register
class _linalg_det(_Det):
    """Determinant (shape ``(1,)`` for one matrix)."""

    name = "_linalg_det"
    aliases = ("linalg_det",)

    def forward(self, a, ins, aux, is_train):
        A = ins[0]
        out = xp_of(A).linalg.det(A)
        return (out.reshape(tuple(A.shape[:-2]) or (1,)).astype(A.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        A = ins[0]
        det = outs[0].reshape(A.shape[:-2])
        g = ograds[0].reshape(A.shape[:-2])
        d = (g * det)[..., None, None] * self._inv_t(A, det != 0)
        return (d.astype(A.dtype, copy=False),)


@register
class _linalg_slogdet(_Det):
    """Sign and log of the absolute determinant."""

    name = "_linalg_slogdet"
    aliases = ("linalg_slogdet",)

    def output_names(self, a):
        return ("sign", "logabsdet")

    def forward(self, a, ins, aux, is_train):
        A = ins[0]
        sign, logdet = xp_of(A).linalg.slogdet(A)
        shape = tuple(A.shape[:-2]) or (1,)
        return (
            sign.reshape(shape).astype(A.dtype, copy=False),
            logdet.reshape(shape).astype(A.dtype, copy=False),
        ), None

    def backward(self, F, a, ins, outs, saved, ograds):
        A = ins[0]
        xp = xp_of(A)
        logdet = outs[1].reshape(A.shape[:-2])
        g = ograds[1] if ograds[1] is not None else xp.zeros_like(outs[1])
        g = g.reshape(A.shape[:-2])
        d = g[..., None, None] * self._inv_t(A, xp.isfinite(logdet))
        return (d.astype(A.dtype, copy=False),)


@register
class _linalg_gelqf(_La):
    """LQ factorisation ``A = L Q`` of wide matrices (rows <= columns): outputs ``Q``
    (orthonormal rows) and ``L`` (lower triangular)."""

    name = "_linalg_gelqf"
    aliases = ("linalg_gelqf",)

    def output_names(self, a):
        return ("Q", "L")

    def out_shapes(self, a, shapes):
        s = list(shapes[0])
        if len(s) < 2 or s[-2] > s[-1]:
            from ..base import MXNetError

            raise MXNetError(
                f"operator {self.name}: needs rows <= columns on the last two "
                f"axes, got shape {tuple(s)}"
            )
        return [s, s[:-1] + [s[-2]]]

    def forward(self, a, ins, aux, is_train):
        A = ins[0]
        q, r = xp_of(A).linalg.qr(_T(A))  # A^T = Q' R'  ->  A = R'^T Q'^T
        return (_T(q).astype(A.dtype), _T(r).astype(A.dtype)), None

    def backward(self, F, a, ins, outs, saved, ograds):
        Q, L = outs
        xp = xp_of(Q)
        dQ = ograds[0] if ograds[0] is not None else xp.zeros_like(Q)
        dL = ograds[1] if ograds[1] is not None else xp.zeros_like(L)
        m = xp.matmul(_T(L), dL) - xp.matmul(dQ, _T(Q))
        m = _tri(m, True) + _T(_tri(m, True, -1))
        return (_solve_left(_T(L), dQ + xp.matmul(m, Q)).astype(Q.dtype, copy=False),)


@register
class _linalg_syevd(_La):
    """Eigendecomposition of symmetric matrices: ``U`` (eigenvectors as rows, each with
    its largest-magnitude entry positive) and ``L`` (eigenvalues, ascending)."""

    name = "_linalg_syevd"
    aliases = ("linalg_syevd",)

    def output_names(self, a):
        return ("U", "L")

    def out_shapes(self, a, shapes):
        _check_square(self.name, shapes[0])
        return [list(shapes[0]), list(shapes[0][:-1])]

    def forward(self, a, ins, aux, is_train):
        A = ins[0]
        xp = xp_of(A)
        w, v = xp.linalg.eigh(A)
        u = _T(v)
        pick = xp.take_along_axis(u, xp.abs(u).argmax(axis=-1)[..., None], axis=-1)
        u = u * xp.where(pick < 0, -1.0, 1.0).astype(u.dtype)
        return (xp.ascontiguousarray(u).astype(A.dtype), w.astype(A.dtype)), None

    def backward(self, F, a, ins, outs, saved, ograds):
        U, w = outs
        xp = xp_of(U)
        dU = ograds[0] if ograds[0] is not None else xp.zeros_like(U)
        dw = ograds[1] if ograds[1] is not None else xp.zeros_like(w)
        x = xp.matmul(dU, _T(U))
        eps = 1e-30 if U.dtype == np.float32 else 1e-100
        gap = xp.maximum(w[..., :, None] - w[..., None, :], eps) * 2
        y = _tri((x - _T(x)) / gap, True, -1)  # i > j: (X[i,j] - X[j,i]) / 2(L_i - L_j)
        y = y + _T(y)
        n = w.shape[-1]
        y[..., xp.arange(n), xp.arange(n)] = dw
        return (xp.matmul(xp.matmul(_T(U), y), U).astype(U.dtype, copy=False),)
