"""Convolution, Deconvolution and Pooling: naive loop references, numerical gradients and
MXNet 1.9.1 fixture values."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.ops.registry import get_op

from .harness import OpCase, run_case

rng = np.random.default_rng(7)
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "mxnet"


def _r(*shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


# ---------------------------------------------------------------- references ----------
def naive_conv(x, w, b, stride, dilate, pad, groups):
    """Direct convolution by loops over every output element (any number of dims)."""
    x = x.astype(np.float64)
    n_, c = x.shape[:2]
    f, cg = w.shape[:2]
    kernel = w.shape[2:]
    d = len(kernel)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out = [
        (x.shape[2 + i] + 2 * pad[i] - dilate[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        for i in range(d)
    ]
    y = np.zeros((n_, f) + tuple(out))
    fg = f // groups
    for n, o, oc in itertools.product(range(n_), itertools.product(*map(range, out)), range(f)):
        g = oc // fg
        acc = 0.0
        for k in itertools.product(*map(range, kernel)):
            idx = tuple(o[i] * stride[i] + k[i] * dilate[i] for i in range(d))
            acc += np.dot(xp[(n, slice(g * cg, (g + 1) * cg)) + idx], w[(oc, slice(None)) + k])
        y[(n, oc) + o] = acc + (0 if b is None else b[oc])
    return y


def naive_deconv(x, w, b, stride, dilate, pad, adj, groups):
    """Transposed convolution by scattering every input element through the kernel."""
    n_, c = x.shape[:2]
    fg = w.shape[1]
    kernel = w.shape[2:]
    d = len(kernel)
    cg = c // groups
    full = [
        (x.shape[2 + i] - 1) * stride[i] + dilate[i] * (kernel[i] - 1) + 1 + adj[i]
        for i in range(d)
    ]
    canvas = np.zeros((n_, fg * groups) + tuple(full))
    for n, ic, i in itertools.product(
        range(n_), range(c), itertools.product(*map(range, x.shape[2:]))
    ):
        g = ic // cg
        for f, k in itertools.product(range(fg), itertools.product(*map(range, kernel))):
            pos = tuple(i[j] * stride[j] + k[j] * dilate[j] for j in range(d))
            canvas[(n, g * fg + f) + pos] += x[(n, ic) + i] * w[(ic, f) + k]
    crop = tuple(slice(p, s - p) for p, s in zip(pad, full))
    y = canvas[(slice(None), slice(None)) + crop]
    return y if b is None else y + b.reshape((1, -1) + (1,) * d)


def naive_pool(x, kernel, stride, pad, kind, convention="valid", include_pad=True, p=2):
    """Pooling by loops over windows, with MXNet's window clipping and divisors."""
    d = len(kernel)
    spatial = x.shape[2:]
    if convention == "valid":
        out = [(spatial[i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(d)]
    else:
        out = [
            int(np.ceil((spatial[i] + 2 * pad[i] - kernel[i]) / stride[i])) + 1 for i in range(d)
        ]
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in itertools.product(*map(range, out)):
        start = [o[i] * stride[i] - pad[i] for i in range(d)]
        end = [min(start[i] + kernel[i], spatial[i] + pad[i]) for i in range(d)]
        size = np.prod([end[i] - start[i] for i in range(d)])
        lo = [max(s, 0) for s in start]
        hi = [min(e, n) for e, n in zip(end, spatial)]
        win = x[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in zip(lo, hi))]
        win = win.reshape(x.shape[:2] + (-1,)).astype(np.float64)
        if kind == "max":
            val = win.max(-1)
        elif kind == "sum":
            val = win.sum(-1)
        elif kind == "lp":
            val = (win**p).sum(-1) ** (1.0 / p)
        else:
            count = size if include_pad else max(win.shape[-1], 1)
            val = win.sum(-1) / count
        y[(slice(None), slice(None)) + o] = val
    return y


# ---------------------------------------------------------------- convolution --------
CONV = [  # id, data shape, kernel, stride, dilate, pad, filters, groups
    ("1d_stride_pad", (2, 3, 9), (3,), (2,), (1,), (1,), 4, 1),
    ("2d_basic", (2, 3, 6, 6), (3, 3), (1, 1), (1, 1), (0, 0), 4, 1),
    ("2d_stride_pad", (1, 2, 7, 6), (3, 2), (2, 1), (1, 1), (1, 0), 3, 1),
    ("2d_dilate", (1, 2, 7, 7), (3, 3), (1, 1), (2, 2), (1, 1), 2, 1),
    ("2d_group", (1, 4, 5, 5), (3, 3), (1, 1), (1, 1), (1, 1), 6, 2),
    ("2d_depthwise", (1, 3, 5, 5), (3, 3), (1, 1), (1, 1), (1, 1), 3, 3),
    # many channels, narrow output: the channels-last column layout
    ("2d_channels_last_group", (1, 12, 4, 4), (2, 2), (1, 1), (1, 1), (0, 0), 4, 2),
    ("2d_channels_last_stride", (1, 8, 5, 5), (3, 3), (2, 2), (1, 1), (1, 1), 2, 1),
    ("3d", (1, 2, 4, 5, 4), (2, 3, 2), (1, 2, 1), (1, 1, 2), (1, 0, 1), 3, 1),
]


def _conv_case(cid, shape, kernel, stride, dilate, pad, nf, groups, no_bias=False):
    x = _r(*shape)
    w = _r(nf, shape[1] // groups, *kernel)
    attrs = dict(
        kernel=kernel,
        stride=stride,
        dilate=dilate,
        pad=pad,
        num_filter=nf,
        num_group=groups,
        no_bias=no_bias,
    )
    if no_bias:
        return OpCase(
            "Convolution",
            [x, w],
            attrs,
            id=f"conv_{cid}_nobias",
            rtol=1e-4,
            atol=1e-5,
            ref=lambda x, w: naive_conv(x, w, None, stride, dilate, pad, groups),
        )
    b = _r(nf)
    return OpCase(
        "Convolution",
        [x, w, b],
        attrs,
        id=f"conv_{cid}",
        rtol=1e-4,
        atol=1e-5,
        ref=lambda x, w, b: naive_conv(x, w, b, stride, dilate, pad, groups),
    )


CONV_CASES = [_conv_case(*c) for c in CONV]
CONV_CASES.append(
    _conv_case("2d_basic", (1, 2, 5, 5), (3, 3), (1, 1), (1, 1), (1, 1), 2, 1, no_bias=True)
)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_convolution(case):
    run_case(case)


def test_both_column_layouts_are_exercised():
    conv = get_op("Convolution")
    layouts = set()
    for _, shape, kernel, stride, dilate, pad, nf, groups in CONV:
        a = conv.parse(
            dict(
                kernel=kernel,
                stride=stride,
                dilate=dilate,
                pad=pad,
                num_filter=nf,
                num_group=groups,
            )
        )
        layouts.add(conv.plan(a, shape).cl)
    assert layouts == {True, False}


def test_weight_gradient_without_per_sample_stack(monkeypatch):
    """Big filters take the single-product weight gradient instead of a per-sample stack."""
    from distnet.ops import _im2col

    monkeypatch.setattr(_im2col, "_BATCHED_BYTES", 0)
    for cid in ("2d_group", "2d_dilate"):
        run_case(_conv_case(*next(c for c in CONV if c[0] == cid)))


def test_convolution_nhwc_layout():
    x, w, b = _r(2, 5, 6, 3), _r(4, 3, 3, 3), _r(4)  # weight (F, kh, kw, C) as MXNet
    y = nd.Convolution(
        nd.array(x),
        nd.array(w),
        nd.array(b),
        kernel=(3, 3),
        num_filter=4,
        pad=(1, 1),
        layout="NHWC",
    )
    want = naive_conv(
        x.transpose(0, 3, 1, 2), w.transpose(0, 3, 1, 2), b, (1, 1), (1, 1), (1, 1), 1
    ).transpose(0, 2, 3, 1)
    assert y.shape == (2, 5, 6, 4)
    np.testing.assert_allclose(y.asnumpy(), want, rtol=1e-4, atol=1e-5)
    run_case(
        OpCase(
            "Convolution",
            [_r(1, 3, 4, 2), _r(2, 2, 2, 2)],
            dict(kernel=(2, 2), num_filter=2, no_bias=True, layout="NHWC"),
            id="conv_nhwc_grad",
        )
    )


def test_convolution_infer_shape_and_names():
    conv = get_op("Convolution")
    a = conv.parse(dict(kernel=(5, 5), num_filter=20, num_group=2, pad=(1, 1)))
    ins, outs, _ = conv.infer_shape(a, [(8, 4, 28, 28), None, None], [])
    assert ins == [(8, 4, 28, 28), (20, 2, 5, 5), (20,)]
    assert outs == [(8, 20, 26, 26)]
    assert conv.input_names(conv.parse(dict(kernel=(3,), num_filter=2, no_bias=True))) == (
        "data",
        "weight",
    )
    assert conv.input_names(a) == ("data", "weight", "bias")


def test_convolution_errors_name_the_problem():
    x, w = nd.array(_r(1, 3, 5, 5)), nd.array(_r(4, 2, 3, 3))
    with pytest.raises(
        MXNetError,
        match=r"weight has shape \(4, 2, 3, 3\), expected "
        r"\(4, 3, 3, 3\)",
    ):
        nd.Convolution(x, w, kernel=(3, 3), num_filter=4, no_bias=True)
    with pytest.raises(MXNetError, match="data must be 4-D"):
        nd.Convolution(nd.array(_r(3, 5, 5)), w, kernel=(3, 3), num_filter=4, no_bias=True)
    with pytest.raises(MXNetError, match="num_group"):
        nd.Convolution(
            x, nd.array(_r(4, 1, 3, 3)), kernel=(3, 3), num_filter=4, num_group=2, no_bias=True
        )
    with pytest.raises(MXNetError, match="stride"):
        nd.Convolution(
            x, nd.array(_r(4, 3, 3, 3)), kernel=(3, 3), stride=(1, 1, 1), num_filter=4, no_bias=True
        )
    with pytest.raises(MXNetError, match="does not fit"):
        nd.Convolution(x, nd.array(_r(4, 3, 7, 7)), kernel=(7, 7), num_filter=4, no_bias=True)


# ---------------------------------------------------------------- deconvolution ------
DECONV = [  # id, data shape, kernel, stride, dilate, pad, adj, filters, groups
    ("1d", (1, 2, 4), (3,), (2,), (1,), (1,), (1,), 3, 1),
    ("2d_basic", (1, 3, 3, 3), (3, 3), (1, 1), (1, 1), (0, 0), (0, 0), 2, 1),
    ("2d_stride_pad_adj", (1, 2, 3, 3), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 2, 1),
    ("2d_dilate", (1, 2, 3, 3), (2, 2), (1, 1), (2, 2), (0, 0), (0, 0), 2, 1),
    ("2d_group", (1, 4, 3, 3), (2, 2), (2, 2), (1, 1), (0, 0), (0, 0), 6, 2),
    ("3d", (1, 2, 2, 3, 2), (2, 2, 2), (2, 1, 1), (1, 1, 1), (0, 1, 0), (1, 0, 0), 2, 1),
]


def _deconv_case(cid, shape, kernel, stride, dilate, pad, adj, nf, groups):
    x = _r(*shape)
    w = _r(shape[1], nf // groups, *kernel)
    b = _r(nf)
    attrs = dict(
        kernel=kernel,
        stride=stride,
        dilate=dilate,
        pad=pad,
        adj=adj,
        num_filter=nf,
        num_group=groups,
        no_bias=False,
    )
    return OpCase(
        "Deconvolution",
        [x, w, b],
        attrs,
        id=f"deconv_{cid}",
        rtol=1e-4,
        atol=1e-5,
        ref=lambda x, w, b: naive_deconv(x, w, b, stride, dilate, pad, adj, groups),
    )


@pytest.mark.parametrize("case", [_deconv_case(*c) for c in DECONV], ids=str)
def test_deconvolution(case):
    run_case(case)


def test_deconvolution_defaults_and_target_shape():
    deconv = get_op("Deconvolution")
    a = deconv.parse(dict(kernel=(3, 3), num_filter=2))
    assert a["no_bias"] is True  # MXNet's default, unlike Convolution
    assert deconv.input_names(a) == ("data", "weight")
    ins, outs, _ = deconv.infer_shape(a, [(1, 3, 4, 4), None], [])
    assert ins[1] == (3, 2, 3, 3) and outs == [(1, 2, 6, 6)]
    t = deconv.parse(dict(kernel=(3, 3), stride=(2, 2), target_shape=(8, 8), num_filter=2))
    assert deconv.infer_shape(t, [(1, 3, 4, 4), None], [])[1] == [(1, 2, 8, 8)]
    with pytest.raises(MXNetError, match="adj"):
        nd.Deconvolution(
            nd.array(_r(1, 3, 4, 4)),
            nd.array(_r(3, 2, 3, 3)),
            kernel=(3, 3),
            stride=(2, 2),
            adj=(2, 2),
            num_filter=2,
        )


# ---------------------------------------------------------------- MXNet fixtures -----
def _fixture_cases(prefix):
    spec = json.loads((FIX / "ops.json").read_text())
    return [k for k, v in spec.items() if k.startswith(prefix) and v.get("op")]


@pytest.mark.parametrize("case", _fixture_cases("conv") + _fixture_cases("deconv"))
def test_convolutions_match_mxnet(case):
    spec = json.loads((FIX / "ops.json").read_text())[case]
    data = np.load(FIX / "ops.npz")
    get = lambda k: data[f"{case}:{k}"]  # noqa: E731
    attrs = dict(spec["attrs"])
    has_bias = f"{case}:b" in data.files
    if not has_bias:
        attrs["no_bias"] = True
    args = [nd.array(get("x")), nd.array(get("w"))] + ([nd.array(get("b"))] if has_bias else [])
    for arr in args:
        arr.attach_grad()
    with mx.autograd.record():
        y = getattr(nd, spec["op"])(*args, **attrs)
    np.testing.assert_allclose(y.asnumpy(), get("y"), rtol=1e-5, atol=1e-5)
    if f"{case}:head_grad" in data.files:
        y.backward(nd.array(get("head_grad")))
        names = ["dx", "dw"] + (["db"] if has_bias else [])
        for arr, name in zip(args, names):
            np.testing.assert_allclose(
                arr.grad.asnumpy(), get(name), rtol=1e-5, atol=1e-5, err_msg=f"{case} {name}"
            )


@pytest.mark.parametrize("case", _fixture_cases("pool"))
def test_pooling_matches_mxnet(case):
    spec = json.loads((FIX / "ops.json").read_text())[case]
    data = np.load(FIX / "ops.npz")
    y = nd.Pooling(nd.array(data[f"{case}:x"]), **spec["attrs"])
    np.testing.assert_allclose(y.asnumpy(), data[f"{case}:y"], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- pooling -------------
def _distinct(*shape):
    """Values with no ties, so max pooling's numerical gradient is well defined."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1).astype(np.float32)


POOL = [  # id, shape, kernel, stride, pad, type, convention, count_include_pad
    ("max_2d", (1, 2, 5, 5), (2, 2), (2, 2), (0, 0), "max", "valid", True),
    ("max_2d_overlap_pad", (1, 2, 5, 5), (3, 3), (2, 2), (1, 1), "max", "valid", True),
    ("max_2d_full", (1, 2, 5, 5), (2, 2), (2, 2), (0, 0), "max", "full", True),
    ("avg_2d_pad", (1, 2, 5, 5), (3, 3), (2, 2), (1, 1), "avg", "valid", True),
    ("avg_2d_pad_exclude", (1, 2, 5, 5), (3, 3), (2, 2), (1, 1), "avg", "valid", False),
    ("avg_2d_full_pad", (1, 1, 5, 5), (2, 2), (2, 2), (1, 1), "avg", "full", True),
    ("sum_2d", (1, 2, 4, 5), (2, 3), (1, 2), (0, 1), "sum", "valid", True),
    ("lp_2d", (1, 2, 4, 4), (2, 2), (2, 2), (0, 0), "lp", "valid", True),
    ("max_1d", (2, 2, 7), (3,), (2,), (1,), "max", "valid", True),
    ("avg_1d_full", (2, 2, 6), (4,), (3,), (0,), "avg", "full", True),
    ("max_3d", (1, 1, 4, 4, 3), (2, 2, 2), (2, 2, 1), (0, 0, 0), "max", "valid", True),
    ("avg_3d_pad", (1, 1, 3, 4, 3), (2, 2, 2), (1, 2, 2), (1, 0, 1), "avg", "valid", True),
]


def _pool_case(cid, shape, kernel, stride, pad, kind, conv, include):
    x = _distinct(*shape) if kind == "max" else _r(*shape)
    if kind == "lp":
        x = np.abs(x) + 0.1
    attrs = dict(
        kernel=kernel,
        stride=stride,
        pad=pad,
        pool_type=kind,
        pooling_convention=conv,
        count_include_pad=include,
    )
    return OpCase(
        "Pooling",
        [x],
        attrs,
        id=f"pool_{cid}",
        ref=lambda x: naive_pool(x, kernel, stride, pad, kind, conv, include),
    )


POOL_CASES = [_pool_case(*c) for c in POOL]
for _kind in ("max", "avg", "sum", "lp"):
    _x = _distinct(2, 3, 3, 4) if _kind == "max" else np.abs(_r(2, 3, 3, 4)) + 0.1
    POOL_CASES.append(
        OpCase(
            "Pooling",
            [_x],
            dict(global_pool=True, pool_type=_kind, kernel=(1, 1)),
            id=f"pool_global_{_kind}",
            ref=lambda x, k=_kind: naive_pool(x, (3, 4), (1, 1), (0, 0), k),
        )
    )


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling(case):
    run_case(case)


def test_max_pooling_gradient_goes_to_first_maximum():
    x = nd.array(np.array([[[[1, 3, 3, 0], [3, 2, 1, 1]]]], np.float32))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.Pooling(x, kernel=(2, 2), stride=(2, 2))
    y.backward(nd.array(np.array([[[[5, 7]]]], np.float32)))
    np.testing.assert_array_equal(y.asnumpy(), [[[[3, 3]]]])
    np.testing.assert_array_equal(x.grad.asnumpy(), [[[[0, 5, 7, 0], [0, 0, 0, 0]]]])


def test_max_pooling_window_in_padding_gives_lowest_float():
    x = nd.array(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    y = nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pad=(1, 1), pooling_convention="full")
    want = np.full((4, 4), np.finfo(np.float32).min, np.float32)  # MXNet 1.9.1's values
    want[:3, :3] = [[0, 2, 4], [10, 12, 14], [20, 22, 24]]
    np.testing.assert_array_equal(y.asnumpy()[0, 0], want)


def test_pooling_layout_shapes_and_errors():
    x = _r(2, 6, 5, 3)
    y = nd.Pooling(nd.array(x), kernel=(2, 2), stride=(2, 2), layout="NHWC")
    want = naive_pool(x.transpose(0, 3, 1, 2), (2, 2), (2, 2), (0, 0), "max")
    np.testing.assert_allclose(y.asnumpy(), want.transpose(0, 2, 3, 1), rtol=1e-6)
    pool = get_op("Pooling")
    a = pool.parse(dict(kernel=(3, 3), stride=(2, 2), pooling_convention="full"))
    assert pool.infer_shape(a, [(4, 3, 8, 8)], [])[1] == [(4, 3, 4, 4)]
    a = pool.parse(dict(kernel=(3,), stride=(2,), pooling_convention="same"))
    assert pool.infer_shape(a, [(1, 1, 7)], [])[1] == [(1, 1, 4)]
    with pytest.raises(MXNetError, match="kernel"):
        nd.Pooling(nd.array(_r(1, 1, 4, 4)), kernel=(2,))
    with pytest.raises(MXNetError, match="larger than"):
        nd.Pooling(nd.array(_r(1, 1, 2, 2)), kernel=(3, 3))


@pytest.mark.skipif(
    not hasattr(__import__("resource"), "getrusage")
    or any(k.startswith("MALLOC_") for k in __import__("os").environ),
    reason="needs glibc defaults",
)
def test_training_steps_do_not_fault_memory_back_in():
    """Freed temporaries stay in the process (see ops/_memory.py): repeated convolution
    steps must not page their buffers back in from the OS every time."""
    import resource

    x = nd.array(_r(64, 1, 28, 28))
    w, b = nd.array(_r(20, 1, 5, 5)), nd.zeros((20,))
    for arr in (x, w, b):
        arr.attach_grad()

    def step():
        with mx.autograd.record():
            y = nd.Convolution(x, w, b, kernel=(5, 5), num_filter=20)
        y.backward()

    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    assert faults < 200, f"{faults:.0f} page faults per step (a few thousand untuned)"
