"""The fast paths of convolution training: the input gradient of a stride-1 convolution
computed as a convolution (ConvPlan.dual) must equal col2im's, in every geometry."""

import numpy as np
import pytest

from distnet.ops._im2col import ConvPlan, conv_out_size

rng = np.random.default_rng(11)

DUAL = [  # data shape (N, C, *S), filters, groups, kernel, dilate, pad
    ((2, 4, 9), 4, 1, (3,), (1,), (1,)),
    ((2, 6, 7, 8), 6, 1, (3, 3), (1, 1), (1, 1)),  # ResNet's 3x3 'same'
    ((2, 6, 7, 8), 3, 1, (3, 3), (1, 1), (0, 0)),  # valid, fewer filters
    ((2, 6, 7, 8), 6, 1, (3, 3), (1, 1), (2, 2)),  # padding as wide as the kernel
    ((2, 6, 9, 9), 4, 2, (3, 2), (2, 1), (1, 0)),  # groups, dilation, asymmetry
    ((2, 5, 6, 6), 5, 5, (3, 3), (1, 1), (1, 1)),  # depthwise
    ((3, 16, 8, 8), 16, 1, (1, 1), (1, 1), (0, 0)),  # 1x1
    ((1, 4, 4, 5, 4), 4, 2, (2, 3, 2), (1, 1, 2), (1, 0, 1)),
]


def _plan(shape, nf, groups, kernel, dilate, pad, cl):
    d = len(kernel)
    out = tuple(
        conv_out_size(s, k, 1, dl, p) for s, k, dl, p in zip(shape[2:], kernel, dilate, pad)
    )
    plan = ConvPlan(shape[0], shape[1], nf, groups, shape[2:], kernel, (1,) * d, dilate, pad, out)
    plan.cl = cl
    return plan


@pytest.mark.parametrize("cl", [False, True], ids=["channels_first", "channels_last"])
@pytest.mark.parametrize("geometry", DUAL, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_gradient_as_convolution_equals_col2im(geometry, cl, dtype):
    shape, nf, groups, kernel, dilate, pad = geometry
    plan = _plan(shape, nf, groups, kernel, dilate, pad, cl)
    assert plan.dual() is not None
    w = rng.standard_normal((nf, shape[1] // groups) + kernel).astype(dtype)
    gy = rng.standard_normal((shape[0], nf) + plan.O).astype(dtype)
    gm = plan.grad_matrix(np, gy)
    want = plan.data_grad(np, gm, w, dtype)
    got = plan.input_grad(np, gy, gm, w, dtype)
    assert got.shape == tuple(shape) and got.dtype == dtype and got.flags.c_contiguous
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_dual_is_not_used_where_it_would_cost_more():
    assert _plan((2, 6, 8, 8), 6, 1, (3, 3), (1, 1), (3, 3), False).dual() is None  # pad
    assert _plan((2, 1, 8, 8), 20, 1, (5, 5), (1, 1), (0, 0), False).dual() is None  # F > C
    strided = ConvPlan(2, 6, 6, 1, (8, 8), (3, 3), (2, 2), (1, 1), (1, 1), (4, 4))
    assert strided.dual() is None


def test_large_column_buffers_are_reused_only_when_free():
    from distnet.ops import _im2col

    _im2col.release_buffers()
    shape = (4, 1 << 18)  # 4 MB of float32
    a = _im2col._buffer(np, shape, np.float32)
    view = a.reshape(-1)  # a saved view keeps it in use
    del a
    b = _im2col._buffer(np, shape, np.float32)
    assert not np.shares_memory(view, b)
    del view
    c = _im2col._buffer(np, shape, np.float32)  # the first one is free again
    assert sum(np.shares_memory(c, arr) for arr in _im2col._pool[(("cols",), shape, "<f4")]) == 1
    assert _im2col._buffer(np, (3, 3), np.float32).size == 9  # small: not pooled
    assert (("cols",), (3, 3), "<f4") not in _im2col._pool
    _im2col.release_buffers()
    assert _im2col.pooled_bytes() == 0


def test_reused_padded_canvas_keeps_a_zero_border():
    from distnet.ops import _im2col

    _im2col.release_buffers()
    plan = _plan((16, 16, 32, 32), 16, 1, (3, 3), (1, 1), (1, 1), False)
    for _ in range(3):
        x = rng.standard_normal((16, 16, 32, 32)).astype(np.float32)
        canvas = plan._canvas(np, x)
        np.testing.assert_array_equal(canvas, np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)]))
        del canvas
    assert _im2col.pooled_bytes() > 0


@pytest.mark.parametrize(
    "first,second",
    [
        ((16, 34, 32, 32), (16, 34, 30, 30)),  # same padded canvas, pad 1 then pad 2
        ((16, 34, 32, 32), (16, 34, 32, 32)),  # 34 channels, 34x34 canvas: both layouts
    ],
)
def test_pooled_canvases_never_leak_one_layers_data_into_anothers_border(first, second):
    from distnet.ops import _im2col

    _im2col.release_buffers()
    pads = [(1, 1), (2, 2) if first != second else (1, 1)]
    cls = [False, False] if first != second else [False, True]
    for shape, pad, cl in zip((first, second, first, second), pads * 2, cls * 2):
        plan = _plan(shape, 4, 1, (3, 3), (1, 1), pad, cl)
        x = rng.standard_normal(shape).astype(np.float32)
        canvas = plan._canvas(np, x)
        want = np.pad(x, [(0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])])
        np.testing.assert_array_equal(np.moveaxis(canvas, -1, 1) if cl else canvas, want)
        del canvas
    assert _im2col.pooled_bytes() > 0


def test_training_steps_reuse_their_column_buffers():
    """Two stacked 'same' 3x3 layers (ResNet's first stage at batch 16): after the first
    step no new buffer is needed, and each step's columns are the previous step's."""
    from distnet import autograd, nd
    from distnet.ops import _im2col

    _im2col.release_buffers()
    x = nd.array(rng.standard_normal((16, 16, 32, 32)).astype(np.float32))
    ws = [nd.array(rng.standard_normal((16, 16, 3, 3)).astype(np.float32)) for _ in "ab"]
    for arr in [x] + ws:
        arr.attach_grad()

    def step():
        with autograd.record():
            y = x
            for w in ws:
                y = nd.Convolution(y, w, kernel=(3, 3), pad=(1, 1), num_filter=16, no_bias=True)
        y.backward()
        return y.asnumpy(), x.grad.asnumpy()

    first = step()
    held = {key: [id(a) for a in arrs] for key, arrs in _im2col._pool.items()}
    assert held and _im2col.pooled_bytes() > 0
    for _ in range(3):
        again = step()
        assert {key: [id(a) for a in arrs] for key, arrs in _im2col._pool.items()} == held
    # at the peak both layers' saved columns and the second layer's input-gradient
    # columns are alive: three distinct buffers, never one handed out twice
    cols = [arrs for key, arrs in _im2col._pool.items() if key[0] == ("cols",)]
    assert [len(arrs) for arrs in cols] == [3]
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
