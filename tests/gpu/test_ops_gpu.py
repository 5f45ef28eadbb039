"""Every operator on a GPU, through the same ``xp`` code as on the CPU.

The case lists of ``tests/ops`` run on ``gpu(0)`` (forward against their numpy references,
backward against central differences in float64) and every case, plus the operators those
lists miss, is compared with the same call on the CPU: outputs, input gradients and
auxiliary states after backward.
"""

import dataclasses

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.ops.registry import all_ops

from ops import test_core_ops, test_index_ops, test_nn_conv, test_nn_ops
from ops.harness import OpCase, run_case

from .gpu_util import assert_on, dev

rng = np.random.default_rng(7)


def _r(*shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


def _pos(*shape):
    return rng.uniform(0.5, 2.0, shape).astype(np.float32)


def _params(prefix, cases):
    return [pytest.param(c, id=f"{prefix}-{c}") for c in cases]


def _listed(module, name):
    # a list renamed in tests/ops must not break collection here; the operators it
    # covered then show up in test_every_operator_has_a_gpu_check
    return getattr(module, name, [])


_DECONV = (
    [test_nn_conv._deconv_case(*c) for c in test_nn_conv.DECONV]
    if hasattr(test_nn_conv, "_deconv_case") and hasattr(test_nn_conv, "DECONV")
    else []
)
LISTED = (
    _params("core", _listed(test_core_ops, "CASES"))
    + _params("index", _listed(test_index_ops, "CASES"))
    + _params("nn", _listed(test_nn_ops, "CASES"))
    + _params("conv", _listed(test_nn_conv, "CONV_CASES"))
    + _params("pool", _listed(test_nn_conv, "POOL_CASES"))
    + _params("deconv", _DECONV)
)

# Operators the tests/ops lists do not cover (checked against the CPU only; the CPU
# results are checked against references and MXNet fixtures in tests/ops).
A, B, BCOL = _pos(3, 4), _pos(3, 4), _pos(3, 1)
EVEN = np.round(A * 2), np.round(B * 2)
LABELS = np.array([0, 3, 4, 1], np.float32)
NAN_X = _r(3, 4)
NAN_X[1, 2] = np.nan
EXTRA = [
    OpCase(n, list(EVEN), grad=False, id=n)
    for n in (
        "_equal",
        "_not_equal",
        "_greater",
        "_greater_equal",
        "_lesser",
        "_lesser_equal",
        "_logical_and",
        "_logical_or",
        "_logical_xor",
    )
]
EXTRA += [OpCase(n, [A, B], id=n) for n in ("_maximum", "_minimum", "_mod", "_power", "_hypot")]
EXTRA += [
    OpCase(n, [EVEN[0], np.round(BCOL * 2)], grad=False, id=n)
    for n in (
        "broadcast_greater_equal",
        "broadcast_lesser",
        "broadcast_not_equal",
        "broadcast_logical_and",
        "broadcast_logical_or",
        "broadcast_logical_xor",
    )
]
EXTRA += [
    OpCase(n, [EVEN[0]], {"scalar": 2.0}, grad=False, id=n)
    for n in (
        "_equal_scalar",
        "_not_equal_scalar",
        "_greater_scalar",
        "_greater_equal_scalar",
        "_lesser_scalar",
        "_lesser_equal_scalar",
        "_logical_and_scalar",
        "_logical_or_scalar",
        "_logical_xor_scalar",
    )
]
EXTRA += [
    OpCase("_hypot_scalar", [A], {"scalar": 1.3}, id="hypot_scalar"),
    OpCase("_mod_scalar", [A], {"scalar": 0.7}, id="mod_scalar"),
    OpCase("_rmod_scalar", [A], {"scalar": 2.5}, id="rmod_scalar"),
    OpCase("nansum", [NAN_X], {"axis": 1}, id="nansum"),
    OpCase("argmax_channel", [_r(3, 4)], grad=False, id="argmax_channel"),
    OpCase("reshape_like", [_r(3, 4), _r(2, 6)], wrt=[0], id="reshape_like"),
    OpCase("shape_array", [_r(2, 3, 4)], grad=False, id="shape_array"),
    OpCase("size_array", [_r(2, 3, 4)], grad=False, id="size_array"),
    OpCase(
        "_zeros_without_dtype",
        [],
        {"shape": (2, 3), "dtype": 1},
        grad=False,
        id="zeros_without_dtype",
    ),
    OpCase(
        "Embedding",
        [np.array([[0, 2], [2, 0], [3, 3]], np.float32), _r(4, 5)],
        {"input_dim": 4, "output_dim": 5},
        wrt=[1],
        id="embedding_repeated_rows",
    ),
    OpCase("SoftmaxOutput", [_r(4, 5), LABELS], wrt=[0], id="softmax_output"),
    OpCase(
        "SoftmaxOutput",
        [_r(4, 5), np.array([0, -1, 4, -1], np.float32)],
        {"use_ignore": True, "normalization": "valid"},
        wrt=[0],
        id="softmax_output_ignore",
    ),
    OpCase(
        "SoftmaxOutput",
        [_r(2, 3, 4), np.array([[0, 1, 2, 1], [2, 2, 0, 1]], np.float32)],
        {"multi_output": True},
        wrt=[0],
        id="softmax_output_multi",
    ),
    OpCase("softmax_cross_entropy", [_r(4, 5), LABELS], wrt=[0], id="softmax_cross_entropy"),
    OpCase("LinearRegressionOutput", [_r(4, 3), _r(4, 3)], wrt=[0], id="linear_regression"),
    OpCase(
        "LogisticRegressionOutput", [_r(4, 3), _pos(4, 3) / 2], wrt=[0], id="logistic_regression"
    ),
    OpCase("MAERegressionOutput", [_r(4, 3), _r(4, 3)], wrt=[0], id="mae_regression"),
    OpCase("MakeLoss", [_pos(3, 4)], {"normalization": "batch"}, id="MakeLoss"),
    OpCase("make_loss", [_pos(3, 4)], id="make_loss"),
]

# Operators with their own tests below or in test_ndarray_gpu.py.
SEPARATE = {
    "_random_uniform",
    "_random_normal",
    "_random_randint",
    "_random_exponential",
    "_random_gamma",
    "_random_poisson",
    "_shuffle",
    "Dropout",
    "_getitem",
    "_copyto",
}


def _on_gpu(case):
    """The case with forward tolerances for float32 GPU math (a few ulps from numpy's)."""
    return dataclasses.replace(case, rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-5))


@pytest.mark.parametrize("case", LISTED)
def test_case_passes_on_the_gpu(case):
    with dev(0):  # operators without inputs create on the current context
        run_case(_on_gpu(case), ctx=dev(0))


def _outputs(res):
    return list(res) if isinstance(res, (list, tuple)) else [res]


def _wrt(case):
    if not case.grad:
        return []
    if case.wrt is not None:
        return list(case.wrt)
    n_in = len(case.inputs) - case.n_aux
    return [i for i in range(n_in) if case.inputs[i].dtype.kind == "f"]


def _run(case, ctx, seed=0):
    """Outputs, gradients of sum(head * out) and auxiliary states after backward."""
    mx.random.seed(seed)
    arrays = [nd.array(x, ctx=ctx, dtype=x.dtype) for x in case.inputs]
    wrt = _wrt(case)
    for i in wrt:
        arrays[i].attach_grad()
    attrs = dict(case.attrs) if case.inputs else dict(case.attrs, ctx=ctx)
    heads = np.random.default_rng(1)
    with ctx, mx.autograd.record(train_mode=case.train):
        outs = _outputs(getattr(nd, case.name)(*arrays, **attrs))
        total = None
        for out in outs:
            h = nd.array(heads.standard_normal(out.shape), ctx=ctx, dtype=out.dtype)
            term = (out * h).sum()
            total = term if total is None else total + term
    if wrt:
        total.backward()
    aux = arrays[len(arrays) - case.n_aux :] if case.n_aux else []
    return outs, [arrays[i].grad for i in wrt], aux


def _random(case):
    """Whether the case draws random numbers (its CPU outputs depend on the seed)."""
    a, b = _run(case, mx.cpu(), seed=1)[0], _run(case, mx.cpu(), seed=2)[0]
    return any(not np.array_equal(x.asnumpy(), y.asnumpy(), equal_nan=True) for x, y in zip(a, b))


@pytest.mark.parametrize("case", LISTED + _params("extra", EXTRA))
def test_gpu_matches_cpu(case):
    want_outs, want_grads, want_aux = _run(case, mx.cpu())
    outs, grads, aux = _run(case, dev(0))
    assert len(outs) == len(want_outs)
    random = _random(case)
    for got, want in zip(outs + grads + aux, want_outs + want_grads + want_aux):
        assert_on(got, dev(0))
        assert got.shape == want.shape and got.dtype == want.dtype
        if random:  # a GPU draws other numbers than the CPU: shapes and types only
            continue
        np.testing.assert_allclose(
            got.asnumpy(), want.asnumpy(), rtol=1e-4, atol=1e-5, err_msg=str(case)
        )


def test_indexing_and_its_gradient_on_the_gpu():
    x_np = _r(4, 3)
    x = nd.array(x_np, ctx=dev(0))
    x.attach_grad()
    idx = nd.array([0, 0, 2], ctx=dev(0))
    with mx.autograd.record():
        y = x[1:3].sum() * 2 + (x[idx] * x[idx]).sum()
    y.backward()
    want = np.zeros_like(x_np)
    want[1:3] += 2
    for i in (0, 0, 2):  # repeated rows accumulate (cupy's scatter-add path)
        want[i] += 2 * x_np[i]
    assert_on(x.grad, dev(0))
    np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-6)


@pytest.mark.parametrize(
    "name, attrs, mean, std",
    [
        ("_random_uniform", {"low": -2.0, "high": 3.0}, 0.5, 5 / 12**0.5),
        ("_random_normal", {"loc": 1.0, "scale": 2.0}, 1.0, 2.0),
        ("_random_exponential", {"lam": 2.0}, 0.5, 0.5),
        ("_random_gamma", {"alpha": 2.0, "beta": 3.0}, 6.0, 18**0.5),
        ("_random_poisson", {"lam": 4.0}, 4.0, 2.0),
        ("_random_randint", {"low": 0, "high": 10}, 4.5, (99 / 12) ** 0.5),
    ],
)
def test_random_samplers_on_the_gpu(name, attrs, mean, std):
    ctx = dev(0)
    mx.random.seed(3)
    out = getattr(nd, name)(shape=(20000,), ctx=ctx, **attrs)
    mx.random.seed(3)
    again = getattr(nd, name)(shape=(20000,), ctx=ctx, **attrs)
    assert_on(out, ctx)
    values = out.asnumpy()
    np.testing.assert_array_equal(values, again.asnumpy())
    assert values.dtype == (np.int32 if name == "_random_randint" else np.float32)
    assert abs(values.mean() - mean) < 4 * std / len(values) ** 0.5 + 1e-3
    assert abs(values.std() - std) < 0.05 * std
    if name == "_random_uniform":
        assert values.min() >= -2 and values.max() < 3


def test_shuffle_and_dropout_on_the_gpu():
    ctx = dev(0)
    x = nd.array(np.arange(40, dtype=np.float32).reshape(20, 2), ctx=ctx)
    shuffled = nd.shuffle(x)
    assert_on(shuffled, ctx)
    rows = shuffled.asnumpy()
    assert sorted(map(tuple, rows)) == sorted(map(tuple, x.asnumpy()))
    assert (rows[:, 1] - rows[:, 0] == 1).all()  # whole rows move
    ones = nd.ones((100, 100), ctx=ctx)
    ones.attach_grad()
    with mx.autograd.record():
        y = nd.Dropout(ones, p=0.25)
    y.backward()
    assert_on(y, ctx)
    mask = y.asnumpy()
    assert abs((mask == 0).mean() - 0.25) < 0.03
    np.testing.assert_allclose(mask[mask != 0], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(ones.grad.asnumpy(), mask)  # gradient uses the same mask
    with mx.autograd.predict_mode():
        np.testing.assert_array_equal(nd.Dropout(ones, p=0.25).asnumpy(), 1)


def _canonical(name):
    return all_ops()[name].name


def test_every_operator_has_a_gpu_check():
    covered = {_canonical(p.values[0].name) for p in LISTED}
    covered |= {_canonical(c.name) for c in EXTRA} | SEPARATE
    registered = {op.name for op in all_ops().values()}
    missing = sorted(registered - covered)
    assert not missing, f"operators without a GPU check: {missing}"
