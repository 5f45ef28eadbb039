"""Elementwise, reduction, shape and softmax operators through the shared harness."""

import numpy as np
import pytest

from .harness import OpCase, run_case

rng = np.random.default_rng(42)


def _r(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def _pos(*shape):
    return rng.uniform(0.5, 2.0, shape).astype(np.float32)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = [
    ("relu", _r(3, 4), lambda x: np.maximum(x, 0)),
    ("sigmoid", _r(3, 4), _sigmoid),
    ("tanh", _r(3, 4), np.tanh),
    ("softsign", _r(3, 4), lambda x: x / (1 + np.abs(x))),
    ("softrelu", _r(3, 4), lambda x: np.log1p(np.exp(x))),
    ("log_sigmoid", _r(3, 4), lambda x: np.log(_sigmoid(x))),
    ("exp", _r(3, 4), np.exp),
    ("expm1", _r(3, 4), np.expm1),
    ("log", _pos(3, 4), np.log),
    ("log10", _pos(3, 4), np.log10),
    ("log2", _pos(3, 4), np.log2),
    ("log1p", _pos(3, 4), np.log1p),
    ("sqrt", _pos(3, 4), np.sqrt),
    ("rsqrt", _pos(3, 4), lambda x: 1 / np.sqrt(x)),
    ("cbrt", _pos(3, 4), np.cbrt),
    ("rcbrt", _pos(3, 4), lambda x: 1 / np.cbrt(x)),
    ("square", _r(3, 4), np.square),
    ("reciprocal", _pos(3, 4), np.reciprocal),
    ("negative", _r(3, 4), np.negative),
    ("abs", _pos(3, 4) * np.sign(_r(3, 4)), np.abs),
    ("sin", _r(3, 4), np.sin),
    ("cos", _r(3, 4), np.cos),
    ("tan", _r(3, 4), np.tan),
    ("arcsin", _r(3, 4, low=-0.8, high=0.8), np.arcsin),
    ("arccos", _r(3, 4, low=-0.8, high=0.8), np.arccos),
    ("arctan", _r(3, 4), np.arctan),
    ("sinh", _r(3, 4), np.sinh),
    ("cosh", _r(3, 4), np.cosh),
    ("arcsinh", _r(3, 4), np.arcsinh),
    ("arccosh", _pos(3, 4) + 1.0, np.arccosh),
    ("arctanh", _r(3, 4, low=-0.8, high=0.8), np.arctanh),
    ("degrees", _r(3, 4), np.degrees),
    ("radians", _r(3, 4), np.radians),
    ("identity", _r(3, 4), lambda x: x),
]
ERF_X = _r(3, 4, low=-2, high=2)
NOGRAD = [
    ("sign", _r(3, 4), np.sign),
    ("floor", _r(3, 4) * 3, np.floor),
    ("ceil", _r(3, 4) * 3, np.ceil),
    (
        "round",
        np.array([-2.5, -1.5, -0.4, 0.5, 1.5, 2.49], np.float32),
        lambda x: np.array([-3, -2, -0, 1, 2, 2], np.float32),
    ),
    ("rint", _r(3, 4) * 3, np.rint),
    ("trunc", _r(3, 4) * 3, np.trunc),
    ("fix", _r(3, 4) * 3, np.fix),
    ("logical_not", np.array([0, 1, 2, 0], np.float32), lambda x: (x == 0).astype(np.float32)),
]

CASES = [OpCase(n, [x], ref=f, id=n) for n, x, f in UNARY]
CASES += [OpCase(n, [x], ref=f, grad=False, id=n) for n, x, f in NOGRAD]
CASES.append(
    OpCase(
        "erf",
        [ERF_X],
        ref=lambda x: np.vectorize(__import__("math").erf)(x).astype(np.float32),
        id="erf",
    )
)

A, B, BCOL = _pos(3, 4), _pos(3, 4), _pos(3, 1)
BINARY = [
    ("add", np.add),
    ("sub", np.subtract),
    ("mul", np.multiply),
    ("div", np.divide),
    ("power", np.power),
    ("maximum", np.maximum),
    ("minimum", np.minimum),
    ("hypot", np.hypot),
]
for base, f in BINARY:
    CASES.append(OpCase(f"broadcast_{base}", [A, BCOL], ref=f, id=f"broadcast_{base}"))
    CASES.append(
        OpCase(f"broadcast_{base}", [_pos(2, 1, 4), _pos(3, 1)], ref=f, id=f"broadcast_{base}_3d")
    )
for name, f in (
    ("elemwise_add", np.add),
    ("elemwise_sub", np.subtract),
    ("elemwise_mul", np.multiply),
    ("elemwise_div", np.divide),
):
    CASES.append(OpCase(name, [A, B], ref=f, id=name))
CASES.append(OpCase("broadcast_mod", [A * 3, BCOL], ref=np.mod, grad=False, id="mod"))
for name, f in (
    ("broadcast_equal", np.equal),
    ("broadcast_greater", np.greater),
    ("broadcast_lesser_equal", np.less_equal),
):
    CASES.append(
        OpCase(
            name,
            [np.round(A), np.round(BCOL)],
            ref=lambda x, y, f=f: f(x, y).astype(np.float32),
            grad=False,
            id=name,
        )
    )

SCALARS = [
    ("_plus_scalar", lambda x, s: x + s),
    ("_minus_scalar", lambda x, s: x - s),
    ("_rminus_scalar", lambda x, s: s - x),
    ("_mul_scalar", lambda x, s: x * s),
    ("_div_scalar", lambda x, s: x / s),
    ("_rdiv_scalar", lambda x, s: s / x),
    ("_power_scalar", lambda x, s: x**s),
    ("_rpower_scalar", lambda x, s: s**x),
    ("_maximum_scalar", lambda x, s: np.maximum(x, s)),
    ("_minimum_scalar", lambda x, s: np.minimum(x, s)),
]
for name, f in SCALARS:
    CASES.append(
        OpCase(name, [A], {"scalar": 1.3}, ref=lambda x, f=f: f(x, np.float32(1.3)), id=name)
    )

X = _r(2, 3, 4)
for name, f in (
    ("sum", np.sum),
    ("mean", np.mean),
    ("max", np.max),
    ("min", np.min),
    ("prod", np.prod),
):
    CASES.append(
        OpCase(name, [X], {"axis": 1}, ref=lambda x, f=f: f(x, axis=1), id=f"{name}_axis1")
    )
    CASES.append(
        OpCase(
            name,
            [X],
            {"axis": (0, 2), "keepdims": True},
            ref=lambda x, f=f: f(x, axis=(0, 2), keepdims=True),
            id=f"{name}_keepdims",
        )
    )
    CASES.append(OpCase(name, [X], ref=lambda x, f=f: np.array([f(x)]), id=f"{name}_all"))
CASES.append(
    OpCase(
        "sum", [X], {"axis": 1, "exclude": True}, ref=lambda x: x.sum(axis=(0, 2)), id="sum_exclude"
    )
)
CASES.append(OpCase("norm", [X], ref=lambda x: np.array([np.sqrt((x * x).sum())]), id="norm"))
CASES.append(
    OpCase("norm", [X], {"ord": 1, "axis": 2}, ref=lambda x: np.abs(x).sum(axis=2), id="norm_l1")
)
CASES.append(
    OpCase(
        "argmax",
        [X],
        {"axis": 1},
        ref=lambda x: x.argmax(axis=1).astype(np.float32),
        grad=False,
        id="argmax",
    )
)
CASES.append(
    OpCase(
        "argmin",
        [X],
        {"axis": 2, "keepdims": True},
        ref=lambda x: x.argmin(axis=2)[..., None].astype(np.float32),
        grad=False,
        id="argmin",
    )
)

RESHAPES = [
    ((2, 3, 4), (4, 0, -1), (4, 3, 2)),
    ((2, 3, 4), (-2,), (2, 3, 4)),
    ((2, 3, 4), (-3, 4), (6, 4)),
    ((2, 3, 4), (-4, 1, 2, -2), (1, 2, 3, 4)),
    ((2, 3, 4), (0, -4, -1, 1, 0), (2, 3, 1, 4)),
    ((2, 3, 4), (-1,), (24,)),
]
for src, code, want in RESHAPES:
    CASES.append(
        OpCase(
            "reshape",
            [_r(*src)],
            {"shape": code},
            ref=lambda x, w=want: x.reshape(w),
            id=f"reshape{code}",
        )
    )
CASES.append(
    OpCase(
        "reshape",
        [_r(10, 5, 4)],
        {"shape": (-1, 0), "reverse": True},
        ref=lambda x: x.reshape(50, 4),
        id="reshape_reverse",
    )
)
CASES += [
    OpCase("Flatten", [X], ref=lambda x: x.reshape(2, 12), id="flatten"),
    OpCase("transpose", [X], ref=lambda x: x.transpose(), id="transpose"),
    OpCase(
        "transpose",
        [X],
        {"axes": (1, 0, 2)},
        ref=lambda x: x.transpose(1, 0, 2),
        id="transpose_axes",
    ),
    OpCase("expand_dims", [X], {"axis": 1}, ref=lambda x: x[:, None], id="expand_dims"),
    OpCase("squeeze", [_r(2, 1, 3)], ref=lambda x: x[:, 0], id="squeeze"),
    OpCase(
        "broadcast_to",
        [_r(3, 1)],
        {"shape": (2, 3, 4)},
        ref=lambda x: np.broadcast_to(x, (2, 3, 4)),
        id="broadcast_to",
    ),
    OpCase(
        "broadcast_to",
        [_r(3, 1)],
        {"shape": (0, 5)},
        ref=lambda x: np.broadcast_to(x, (3, 5)),
        id="broadcast_to_zero",
    ),
    OpCase(
        "broadcast_axis",
        [_r(3, 1)],
        {"axis": 1, "size": 4},
        ref=lambda x: np.broadcast_to(x, (3, 4)),
        id="broadcast_axis",
    ),
    OpCase(
        "broadcast_like",
        [_r(3, 1), _r(3, 4)],
        ref=lambda x, y: np.broadcast_to(x, (3, 4)),
        wrt=[0],
        id="broadcast_like",
    ),
    OpCase("dot", [_r(3, 4), _r(4, 5)], ref=np.dot, id="dot"),
    OpCase(
        "dot",
        [_r(4, 3), _r(5, 4)],
        {"transpose_a": True, "transpose_b": True},
        ref=lambda x, y: x.T @ y.T,
        id="dot_transposed",
    ),
    OpCase("dot", [_r(2, 3, 4), _r(4, 5)], ref=lambda x, y: np.tensordot(x, y, 1), id="dot_3d"),
    OpCase("batch_dot", [_r(2, 3, 4), _r(2, 4, 5)], ref=np.matmul, id="batch_dot"),
    OpCase(
        "batch_dot",
        [_r(2, 4, 3), _r(2, 5, 4)],
        {"transpose_a": True, "transpose_b": True},
        ref=lambda x, y: np.matmul(x.swapaxes(1, 2), y.swapaxes(1, 2)),
        id="batch_dot_t",
    ),
    OpCase(
        "Cast", [X], {"dtype": "float64"}, ref=lambda x: x.astype(np.float64), grad=False, id="cast"
    ),
    OpCase("BlockGrad", [X], ref=lambda x: x, grad=False, id="blockgrad"),
    OpCase("zeros_like", [X], ref=np.zeros_like, grad=False, id="zeros_like"),
    OpCase("ones_like", [X], ref=np.ones_like, grad=False, id="ones_like"),
    OpCase("add_n", [A, B, A], ref=lambda a, b, c: a + b + c, id="add_n"),
]


def _softmax(x, axis=-1, t=1.0):
    e = np.exp((x - x.max(axis=axis, keepdims=True)) / t)
    return e / e.sum(axis=axis, keepdims=True)


CASES += [
    OpCase("softmax", [X], ref=_softmax, id="softmax"),
    OpCase(
        "softmax",
        [X],
        {"axis": 1, "temperature": 2.0},
        ref=lambda x: _softmax(x, 1, 2.0),
        id="softmax_t",
    ),
    OpCase("log_softmax", [X], ref=lambda x: np.log(_softmax(x)), id="log_softmax"),
    OpCase(
        "log_softmax",
        [X],
        {"axis": 0},
        ref=lambda x: np.log(_softmax(x, 0)),
        id="log_softmax_axis0",
    ),
    OpCase("softmin", [X], ref=lambda x: _softmax(-x), id="softmin"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_operator(case):
    run_case(case)


_CMP = {
    "equal": np.equal,
    "not_equal": np.not_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "lesser": np.less,
    "lesser_equal": np.less_equal,
    "logical_and": lambda x, y: (x != 0) & (y != 0),
    "logical_or": lambda x, y: (x != 0) | (y != 0),
    "logical_xor": lambda x, y: (x != 0) ^ (y != 0),
}
IA, IB = np.round(A * 2) - 2, np.round(B * 2) - 2  # small integers with ties and zeros
MORE_CASES = []
for _base, _f in _CMP.items():

    def _ref(x, y, f=_f):
        return f(x, y).astype(np.float32)

    MORE_CASES.append(OpCase(f"_{_base}", [IA, IB], ref=_ref, grad=False, id=f"_{_base}"))
    MORE_CASES.append(
        OpCase(
            f"broadcast_{_base}", [IA, IB[:, :1]], ref=_ref, grad=False, id=f"broadcast_{_base}_b"
        )
    )
    MORE_CASES.append(
        OpCase(
            f"_{_base}_scalar",
            [IA],
            {"scalar": 0.0},
            ref=lambda x, f=_f: f(x, np.float32(0)).astype(np.float32),
            grad=False,
            id=f"_{_base}_scalar",
        )
    )
MORE_CASES += [
    OpCase("_maximum", [A, B], ref=np.maximum, id="_maximum"),
    OpCase("_minimum", [A, B], ref=np.minimum, id="_minimum"),
    OpCase("_hypot", [A, B], ref=np.hypot, id="_hypot"),
    OpCase("_mod", [A * 3, B], ref=np.mod, grad=False, id="_mod"),
    OpCase(
        "_mod_scalar",
        [A * 3],
        {"scalar": 1.5},
        ref=lambda x: np.mod(x, np.float32(1.5)),
        id="_mod_scalar",
    ),
    OpCase(
        "_rmod_scalar",
        [A],
        {"scalar": 3.0},
        ref=lambda x: np.mod(np.float32(3), x),
        grad=False,
        id="_rmod_scalar",
    ),
    OpCase(
        "_hypot_scalar",
        [A],
        {"scalar": 2.0},
        ref=lambda x: np.hypot(x, np.float32(2)),
        id="_hypot_scalar",
    ),
    OpCase(
        "argmax_channel",
        [X],
        ref=lambda x: x.argmax(axis=-1).astype(np.float32),
        grad=False,
        id="argmax_channel",
    ),
    OpCase(
        "nansum",
        [np.where(X > 0.5, np.nan, X).astype(np.float32)],
        {"axis": 1},
        ref=lambda x: np.nansum(x, axis=1),
        grad=False,
        id="nansum_nan",
    ),
    OpCase("nansum", [X], {"axis": 2}, ref=lambda x: x.sum(axis=2), id="nansum"),
    OpCase(
        "reshape_like",
        [_r(2, 6), _r(3, 4)],
        ref=lambda x, y: x.reshape(3, 4),
        wrt=[0],
        id="reshape_like",
    ),
    OpCase(
        "shape_array", [X], ref=lambda x: np.array(x.shape, np.int64), grad=False, id="shape_array"
    ),
    OpCase(
        "size_array", [X], ref=lambda x: np.array([x.size], np.int64), grad=False, id="size_array"
    ),
]


@pytest.mark.parametrize("case", MORE_CASES, ids=str)
def test_more_operators(case):
    run_case(case)


def test_samplers_and_shuffle_statistics():
    import distnet as mx
    from distnet import nd

    mx.random.seed(11)
    e = nd.random.exponential(scale=2.0, shape=(20000,)).asnumpy()
    assert e.dtype == np.float32 and e.min() >= 0 and abs(e.mean() - 2.0) < 0.1
    p = nd.random.poisson(lam=3.0, shape=(20000,)).asnumpy()
    assert abs(p.mean() - 3.0) < 0.1 and abs(p.var() - 3.0) < 0.2
    x = nd.array(np.arange(20).reshape(10, 2))
    s = nd.shuffle(x).asnumpy()
    assert sorted(s[:, 0].tolist()) == list(range(0, 20, 2))
    assert (s[:, 1] - s[:, 0] == 1).all() and not (s == x.asnumpy()).all()
