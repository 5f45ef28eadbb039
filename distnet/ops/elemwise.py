"""Elementwise operators: unary math, binary arithmetic (same-shape and broadcasting),
scalar forms and comparisons. Backward passes use ``F`` calls and Python operators only,
so they also run on NDArrays for second-order gradients."""

import math

import numpy as np

from .attrs import Attr, Float, Bool
from .registry import Op, register
from ._util import xp_of, unbroadcast, broadcast_shape, erf, relu as _relu


# ---------------------------------------------------------------- unary -------------
class _Unary(Op):
    """Elementwise function of one input; output has the input's shape."""

    inputs = ("data",)
    nd_backward = True
    fn = None
    grad = None

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (self.fn(xp_of(x), x),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        if self.grad is None:
            return (None,)
        return (self.grad(F, ins[0], outs[0], ograds[0]),)


def _unary(name, fn, grad, aliases=(), doc=None):
    attrs = {
        "name": name,
        "aliases": tuple(aliases),
        "fn": staticmethod(fn),
        "grad": None if grad is None else staticmethod(grad),
        "zero_grad": grad is None,
        "__doc__": doc or f"Elementwise ``{name}``.",
    }
    register(type(name, (_Unary,), attrs))


def _sigmoid(xp, x):
    # tanh form is stable for large |x| and avoids overflow warnings of exp(-x)
    return xp.tanh(x * 0.5) * 0.5 + 0.5


def _softrelu(xp, x):
    return xp.logaddexp(x * 0, x).astype(x.dtype, copy=False)


_LN10, _LN2 = math.log(10.0), math.log(2.0)

# NaN inputs get a NaN gradient, as MXNet's relu_grad (a NaN must not vanish silently)
_unary("relu", _relu, lambda F, x, y, g: F.where(x != x, x, g * (x > 0)))
_unary("sigmoid", _sigmoid, lambda F, x, y, g: g * y * (1 - y))
_unary("log_sigmoid", lambda xp, x: -_softrelu(xp, -x), lambda F, x, y, g: g * (1 - F.exp(y)))
_unary("tanh", lambda xp, x: xp.tanh(x), lambda F, x, y, g: g * (1 - y * y))
_unary(
    "softsign",
    lambda xp, x: x / (1 + xp.abs(x)),
    lambda F, x, y, g: g / ((1 + F.abs(x)) * (1 + F.abs(x))),
)
_unary(
    "softrelu",
    _softrelu,
    lambda F, x, y, g: g * (1 - F.exp(-y)),
    doc="``log(1 + exp(x))`` (Activation's softrelu).",
)


def _exp(xp, x):
    # numpy's float32 exp is up to 1 ulp off (exp(1) = 2.718282); MXNet's expf rounds
    # correctly (2.7182817): on the CPU, small floats go through float64
    if xp is np and x.dtype in (np.float32, np.float16):
        return np.exp(x, dtype=np.float64).astype(x.dtype)
    return xp.exp(x)


_unary("exp", _exp, lambda F, x, y, g: g * y)
_unary("expm1", lambda xp, x: xp.expm1(x), lambda F, x, y, g: g * (y + 1))
_unary("log", lambda xp, x: xp.log(x), lambda F, x, y, g: g / x)
_unary("log10", lambda xp, x: xp.log10(x), lambda F, x, y, g: g / (x * _LN10))
_unary("log2", lambda xp, x: xp.log2(x), lambda F, x, y, g: g / (x * _LN2))
_unary("log1p", lambda xp, x: xp.log1p(x), lambda F, x, y, g: g / (x + 1))
_unary("sqrt", lambda xp, x: xp.sqrt(x), lambda F, x, y, g: g * 0.5 / y)
_unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda F, x, y, g: g * -0.5 * y * y * y)
_unary("cbrt", lambda xp, x: xp.cbrt(x), lambda F, x, y, g: g / (3 * y * y))
_unary("rcbrt", lambda xp, x: 1 / xp.cbrt(x), lambda F, x, y, g: g * -y / (3 * x))
_unary("square", lambda xp, x: x * x, lambda F, x, y, g: g * 2 * x)
_unary("reciprocal", lambda xp, x: 1 / x, lambda F, x, y, g: -g * y * y)
_unary("negative", lambda xp, x: -x, lambda F, x, y, g: -g)
_unary("abs", lambda xp, x: xp.abs(x), lambda F, x, y, g: g * F.sign(x))
_unary("sign", lambda xp, x: xp.sign(x), None)
_unary("sin", lambda xp, x: xp.sin(x), lambda F, x, y, g: g * F.cos(x))
_unary("cos", lambda xp, x: xp.cos(x), lambda F, x, y, g: -g * F.sin(x))
_unary("tan", lambda xp, x: xp.tan(x), lambda F, x, y, g: g * (1 + y * y))
_unary("arcsin", lambda xp, x: xp.arcsin(x), lambda F, x, y, g: g / F.sqrt(1 - x * x))
_unary("arccos", lambda xp, x: xp.arccos(x), lambda F, x, y, g: -g / F.sqrt(1 - x * x))
_unary("arctan", lambda xp, x: xp.arctan(x), lambda F, x, y, g: g / (1 + x * x))
_unary("sinh", lambda xp, x: xp.sinh(x), lambda F, x, y, g: g * F.cosh(x))
_unary("cosh", lambda xp, x: xp.cosh(x), lambda F, x, y, g: g * F.sinh(x))
_unary("arcsinh", lambda xp, x: xp.arcsinh(x), lambda F, x, y, g: g / F.sqrt(x * x + 1))
_unary("arccosh", lambda xp, x: xp.arccosh(x), lambda F, x, y, g: g / F.sqrt(x * x - 1))
_unary("arctanh", lambda xp, x: xp.arctanh(x), lambda F, x, y, g: g / (1 - x * x))
_unary("degrees", lambda xp, x: xp.degrees(x), lambda F, x, y, g: g * (180 / math.pi))
_unary("radians", lambda xp, x: xp.radians(x), lambda F, x, y, g: g * (math.pi / 180))
_unary(
    "erf",
    lambda xp, x: erf(xp, x),
    lambda F, x, y, g: g * (2 / math.sqrt(math.pi)) * F.exp(-(x * x)),
)
_unary("floor", lambda xp, x: xp.floor(x), None)
_unary("ceil", lambda xp, x: xp.ceil(x), None)
_unary(
    "round",
    lambda xp, x: xp.where(x >= 0, xp.floor(x + 0.5), xp.ceil(x - 0.5)).astype(x.dtype, copy=False),
    None,
)
_unary("rint", lambda xp, x: xp.rint(x), None)
_unary("trunc", lambda xp, x: xp.trunc(x), None)
# round toward zero; numpy 2.5 deprecates numpy.fix, which is trunc under another name
_unary("fix", lambda xp, x: xp.trunc(x).astype(x.dtype, copy=False), None)
_unary("logical_not", lambda xp, x: (x == 0).astype(x.dtype), None)
_unary("_copy", lambda xp, x: x.copy(), lambda F, x, y, g: g, aliases=("identity",))


# ---------------------------------------------------------------- binary ------------
class _Binary(Op):
    """Elementwise function of two inputs ``lhs`` and ``rhs``."""

    inputs = ("lhs", "rhs")
    nd_backward = True
    fn = None
    grad = None
    broadcast = True
    logical = False

    def infer_shape(self, a, in_shapes, aux_shapes):
        lhs, rhs = in_shapes
        if not self.broadcast:  # same-shape ops fill one input's shape from the other
            known = lhs if lhs is not None else rhs
            return [known, known], [known], aux_shapes
        if lhs is None or rhs is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [broadcast_shape(lhs, rhs)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        lhs, rhs = ins
        out = self.fn(xp_of(lhs), lhs, rhs)
        if out.dtype != lhs.dtype:  # comparisons give 0/1 in the input type, as MXNet
            out = out.astype(lhs.dtype)
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        if self.grad is None:
            return (None, None)
        lhs, rhs = ins
        gl, gr = self.grad(F, lhs, rhs, outs[0], ograds[0])
        if self.broadcast:
            gl = None if gl is None else unbroadcast(F, gl, lhs.shape)
            gr = None if gr is None else unbroadcast(F, gr, rhs.shape)
        return gl, gr


def _binary(base, fn, grad, elem_names=(), bcast_aliases=()):
    """Register ``broadcast_<base>`` and, when ``elem_names`` is given, the same-shape
    operator ``elem_names[0]`` with aliases ``elem_names[1:]``."""
    doc = f"Elementwise ``{base}`` of two arrays."
    register(
        type(
            f"broadcast_{base}",
            (_Binary,),
            {
                "name": f"broadcast_{base}",
                "aliases": tuple(bcast_aliases),
                "fn": staticmethod(fn),
                "grad": None if grad is None else staticmethod(grad),
                "zero_grad": grad is None,
                "__doc__": doc + " Broadcasts.",
            },
        )
    )
    if elem_names:
        register(
            type(
                elem_names[0],
                (_Binary,),
                {
                    "name": elem_names[0],
                    "aliases": tuple(elem_names[1:]),
                    "fn": staticmethod(fn),
                    "grad": None if grad is None else staticmethod(grad),
                    "zero_grad": grad is None,
                    "broadcast": False,
                    "__doc__": doc + " Shapes must match.",
                },
            )
        )


_binary(
    "add",
    lambda xp, l, r: l + r,
    lambda F, l, r, y, g: (g, g),
    ("elemwise_add", "_plus", "_Plus", "_add"),
    ("broadcast_plus",),
)
_binary(
    "sub",
    lambda xp, l, r: l - r,
    lambda F, l, r, y, g: (g, -g),
    ("elemwise_sub", "_minus", "_Minus", "_sub"),
    ("broadcast_minus",),
)
_binary(
    "mul",
    lambda xp, l, r: l * r,
    lambda F, l, r, y, g: (g * r, g * l),
    ("elemwise_mul", "_mul", "_Mul"),
)
_binary(
    "div",
    lambda xp, l, r: l / r,
    lambda F, l, r, y, g: (g / r, -g * y / r),
    ("elemwise_div", "_div", "_Div"),
)


def _mod_grad(F, l, r, y, g):
    if np.dtype(l.dtype).kind in "iub":
        return None, None  # MXNet 1.9.1 gives integer mod no gradient (zeros)
    return g, -g * F.floor(l / r)


_binary(
    "mod",
    lambda xp, l, r: xp.mod(l, r),
    _mod_grad,
    ("_mod", "_Mod"),
)
_binary(
    "power",
    lambda xp, l, r: xp.power(l, r),
    lambda F, l, r, y, g: (g * r * l ** (r - 1), g * y * F.log(l)),
    ("_power", "_Power"),
)
_binary(
    "maximum",
    lambda xp, l, r: xp.maximum(l, r),
    lambda F, l, r, y, g: (g * (l >= r), g * (l < r)),
    ("_maximum", "_Maximum"),
)
_binary(
    "minimum",
    lambda xp, l, r: xp.minimum(l, r),
    lambda F, l, r, y, g: (g * (l <= r), g * (l > r)),
    ("_minimum", "_Minimum"),
)
_binary(
    "hypot",
    lambda xp, l, r: xp.hypot(l, r),
    lambda F, l, r, y, g: (g * l / y, g * r / y),
    ("_hypot",),
)
for _name, _fn in (
    ("equal", lambda xp, l, r: l == r),
    ("not_equal", lambda xp, l, r: l != r),
    ("greater", lambda xp, l, r: l > r),
    ("greater_equal", lambda xp, l, r: l >= r),
    ("lesser", lambda xp, l, r: l < r),
    ("lesser_equal", lambda xp, l, r: l <= r),
    ("logical_and", lambda xp, l, r: (l != 0) & (r != 0)),
    ("logical_or", lambda xp, l, r: (l != 0) | (r != 0)),
    ("logical_xor", lambda xp, l, r: (l != 0) ^ (r != 0)),
):
    _binary(_name, _fn, None, (f"_{_name}",))


# ---------------------------------------------------------------- scalar ------------
class _Scalar(Op):
    """Elementwise function of an array and the attribute ``scalar``."""

    inputs = ("data",)
    params = {"scalar": Attr(Float, 1.0), "is_int": Attr(Bool, True)}
    nd_backward = True
    fn = None
    grad = None

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        s = a["scalar"]
        # MXNet casts the scalar to the array's type first (int32 3 * 2.5 == 6)
        out = self.fn(xp_of(x), x, int(s) if x.dtype.kind in "iub" else s)
        if out.dtype != x.dtype:
            out = out.astype(x.dtype)
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        if self.grad is None:
            return (None,)
        return (self.grad(F, ins[0], a["scalar"], outs[0], ograds[0]),)


def _scalar(name, fn, grad, aliases=()):
    register(
        type(
            name,
            (_Scalar,),
            {
                "name": name,
                "aliases": tuple(aliases),
                "fn": staticmethod(fn),
                "grad": None if grad is None else staticmethod(grad),
                "zero_grad": grad is None,
                "__doc__": f"``{name}``: elementwise with the attribute ``scalar``.",
            },
        )
    )


_scalar("_plus_scalar", lambda xp, x, s: x + s, lambda F, x, s, y, g: g, ("_PlusScalar",))
_scalar("_minus_scalar", lambda xp, x, s: x - s, lambda F, x, s, y, g: g, ("_MinusScalar",))
_scalar("_rminus_scalar", lambda xp, x, s: s - x, lambda F, x, s, y, g: -g, ("_RMinusScalar",))
_scalar("_mul_scalar", lambda xp, x, s: x * s, lambda F, x, s, y, g: g * s, ("_MulScalar",))
_scalar("_div_scalar", lambda xp, x, s: x / s, lambda F, x, s, y, g: g / s, ("_DivScalar",))
_scalar("_rdiv_scalar", lambda xp, x, s: s / x, lambda F, x, s, y, g: -g * y / x, ("_RDivScalar",))
_scalar("_mod_scalar", lambda xp, x, s: xp.mod(x, s), lambda F, x, s, y, g: g, ("_ModScalar",))
_scalar(
    "_rmod_scalar",
    lambda xp, x, s: xp.mod(s, x),
    lambda F, x, s, y, g: -g * F.floor(s / x),
    ("_RModScalar",),
)
_scalar(
    "_power_scalar",
    lambda xp, x, s: x**s,
    lambda F, x, s, y, g: g * s * x ** (s - 1),
    ("_PowerScalar",),
)
_scalar(
    "_rpower_scalar",
    lambda xp, x, s: xp.power(s, x),
    lambda F, x, s, y, g: g * y * math.log(s),
    ("_RPowerScalar",),
)
_scalar(
    "_maximum_scalar",
    lambda xp, x, s: xp.maximum(x, s),
    lambda F, x, s, y, g: g * (x >= s),
    ("_MaximumScalar",),
)
_scalar(
    "_minimum_scalar",
    lambda xp, x, s: xp.minimum(x, s),
    lambda F, x, s, y, g: g * (x <= s),
    ("_MinimumScalar",),
)
_scalar(
    "_hypot_scalar",
    lambda xp, x, s: xp.hypot(x, s),
    lambda F, x, s, y, g: g * x / y,
    ("_HypotScalar",),
)
for _name, _fn in (
    ("_equal_scalar", lambda xp, x, s: x == s),
    ("_not_equal_scalar", lambda xp, x, s: x != s),
    ("_greater_scalar", lambda xp, x, s: x > s),
    ("_greater_equal_scalar", lambda xp, x, s: x >= s),
    ("_lesser_scalar", lambda xp, x, s: x < s),
    ("_lesser_equal_scalar", lambda xp, x, s: x <= s),
    ("_logical_and_scalar", lambda xp, x, s: (x != 0) & (s != 0)),
    ("_logical_or_scalar", lambda xp, x, s: (x != 0) | (s != 0)),
    ("_logical_xor_scalar", lambda xp, x, s: (x != 0) ^ (s != 0)),
):
    _scalar(_name, _fn, None)


# ---------------------------------------------------------------- n-ary -------------
@register
class add_n(Op):
    """Sum of any number of same-shape arrays (``ElementWiseSum``)."""

    name = "add_n"
    aliases = ("ElementWiseSum", "_contrib_add_n")
    variadic = True
    nd_backward = True
    params = {"num_args": Attr(int)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        known = next((s for s in in_shapes if s is not None), None)
        return [known] * len(in_shapes), [known], aux_shapes

    def forward(self, a, ins, aux, is_train):
        out = ins[0].copy()
        for x in ins[1:]:
            out += x
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return tuple(ograds[0] for _ in ins)


# ---------------------------------------------------------------- h9 additions ------
class _ScaledUnary(_Unary):
    """Elementwise function with attributes: ``fn(xp, x, a)`` and ``grad(F, x, y, g, a)``."""

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (self.fn(xp_of(x), x, a).astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (self.grad(F, ins[0], outs[0], ograds[0], a),)


def _smooth_l1(xp, x, a):
    s2 = a["scalar"] ** 2
    return xp.where(xp.abs(x) < 1.0 / s2, 0.5 * s2 * x * x, xp.abs(x) - 0.5 / s2)


def _smooth_l1_grad(F, x, y, g, a):
    s2 = a["scalar"] ** 2
    inside = F.abs(x) < 1.0 / s2
    return g * (inside * (s2 * x) + (1 - inside) * F.sign(x))


register(
    type(
        "smooth_l1",
        (_ScaledUnary,),
        {
            "name": "smooth_l1",
            "params": {"scalar": Attr(Float, 1.0)},
            "fn": staticmethod(_smooth_l1),
            "grad": staticmethod(_smooth_l1_grad),
            "__doc__": "Smooth L1 (Huber-like, Fast R-CNN): ``0.5*(scalar*x)^2`` where "
            "``|x| < 1/scalar^2``, else ``|x| - 0.5/scalar^2``.",
        },
    )
)


def _hard_sigmoid(xp, x, a):
    return xp.clip(a["alpha"] * x + a["beta"], 0.0, 1.0)


def _hard_sigmoid_grad(F, x, y, g, a):
    return g * ((y > 0) * (y < 1)) * a["alpha"]


register(
    type(
        "hard_sigmoid",
        (_ScaledUnary,),
        {
            "name": "hard_sigmoid",
            "params": {"alpha": Attr(Float, 0.2), "beta": Attr(Float, 0.5)},
            "fn": staticmethod(_hard_sigmoid),
            "grad": staticmethod(_hard_sigmoid_grad),
            "__doc__": "``max(0, min(1, alpha*x + beta))``, elementwise.",
        },
    )
)
