"""One harness for every operator: forward against a numpy reference, backward against a
central-difference numerical gradient in float64.

A test module lists ``OpCase`` objects and parametrises ``run_case`` over them. Every
check takes an optional ``ctx`` (default: the current context) so the same cases run on a
GPU (``tests/gpu``).
"""

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

import distnet as mx
from distnet import nd


@dataclass
class OpCase:
    """One operator check.

    name: the ``nd`` function; inputs: numpy arrays (inputs then auxiliary states);
    attrs: keyword attributes; ref: numpy reference returning the output(s);
    grad: check gradients; wrt: indices of inputs to differentiate (default all float
    inputs that are not auxiliary); train: run in training mode; n_aux: trailing inputs that
    are auxiliary states; rtol/atol: forward tolerances.
    """

    name: str
    inputs: Sequence[np.ndarray]
    attrs: dict = field(default_factory=dict)
    ref: Optional[Callable] = None
    grad: bool = True
    wrt: Optional[Sequence[int]] = None
    train: bool = False
    n_aux: int = 0
    rtol: float = 1e-5
    atol: float = 1e-6
    id: str = ""

    def __str__(self):
        return self.id or self.name


def _nd(x, ctx):
    """``x`` as an NDArray of its own dtype on ``ctx`` (the current context if None)."""
    return nd.array(x, ctx=ctx, dtype=x.dtype)


def _call(case, arrays):
    fn = getattr(nd, case.name)
    return fn(*arrays, **case.attrs)


def _outputs(res):
    return list(res) if isinstance(res, (list, tuple)) else [res]


def check_forward(case, ctx=None):
    """Forward in float32 (as users run it) against the numpy reference."""
    arrays = [_nd(x, ctx) for x in case.inputs]
    with mx.autograd.train_mode() if case.train else mx.autograd.predict_mode():
        outs = _outputs(_call(case, arrays))
    expected = case.ref(*[x.copy() for x in case.inputs])
    expected = _outputs(expected)
    assert len(outs) == len(expected), f"{case}: {len(outs)} outputs, expected {len(expected)}"
    for i, (got, want) in enumerate(zip(outs, expected)):
        want = np.asarray(want)
        assert got.shape == want.shape, f"{case} output {i}: shape {got.shape} != {want.shape}"
        np.testing.assert_allclose(
            got.asnumpy(), want, rtol=case.rtol, atol=case.atol, err_msg=f"{case} output {i}"
        )


def _loss_and_grads(case, values, wrt, heads, ctx=None):
    arrays = [_nd(v, ctx) for v in values]
    for i in wrt:
        arrays[i].attach_grad()
    with mx.autograd.record(train_mode=case.train):
        outs = _outputs(_call(case, arrays))
        total = None
        for out, h in zip(outs, heads):
            term = (out * nd.array(h, ctx=out.context, dtype=out.dtype)).sum()
            total = term if total is None else total + term
    total.backward()
    return [arrays[i].grad.asnumpy() for i in wrt]


def _scalar_loss(case, values, heads, ctx=None):
    arrays = [_nd(v, ctx) for v in values]
    with mx.autograd.train_mode() if case.train else mx.autograd.predict_mode():
        outs = _outputs(_call(case, arrays))
    return sum(float((o.asnumpy().astype(np.float64) * h).sum()) for o, h in zip(outs, heads))


def check_backward(case, eps=1e-6, rtol=1e-4, atol=1e-6, seed=0, ctx=None):
    """Autograd gradients of ``sum(head * out)`` against central differences (float64)."""
    rng = np.random.default_rng(seed)
    values = [x.astype(np.float64) if x.dtype.kind == "f" else x for x in case.inputs]
    n_in = len(values) - case.n_aux
    wrt = (
        case.wrt
        if case.wrt is not None
        else [i for i in range(n_in) if values[i].dtype.kind == "f"]
    )
    probe = [_nd(v, ctx) for v in values]
    with mx.autograd.train_mode() if case.train else mx.autograd.predict_mode():
        outs = _outputs(_call(case, probe))
    heads = [rng.standard_normal(o.shape) for o in outs]
    got = _loss_and_grads(case, [v.copy() for v in values], wrt, heads, ctx)
    for k, i in enumerate(wrt):
        x = values[i]
        num = np.zeros_like(x)
        flat = x.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = _scalar_loss(case, [v.copy() for v in values], heads, ctx)
            flat[j] = old - eps
            minus = _scalar_loss(case, [v.copy() for v in values], heads, ctx)
            flat[j] = old
            num.reshape(-1)[j] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(
            got[k], num, rtol=rtol, atol=atol, err_msg=f"{case}: gradient of input {i}"
        )


def run_case(case, ctx=None):
    """Forward check, then (if ``case.grad``) the numerical gradient check, on ``ctx``."""
    if case.ref is not None:
        check_forward(case, ctx)
    if case.grad:
        check_backward(case, ctx=ctx)
