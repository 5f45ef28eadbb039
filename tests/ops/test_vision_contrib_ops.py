"""The vision/contrib operators added for issue #21 (image ops, spatial sampling,
Correlation, ROI pooling, attention products, quantization, ...) against MXNet 1.9.1's
outputs and input gradients (tests/fixtures/mxnet/newops.npz, made by
scripts/fixtures/make_newops_fixtures.py)."""

import json
import pathlib

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

_FIX = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures/mxnet/newops.npz")
CASES = sorted(k[: -len("/meta")] for k in _FIX.files if k.endswith("/meta"))
# The operators the fixture checks against MXNet, by registered name.
IN_FIXTURE = (
    "BilinearSampler",
    "Correlation",
    "GridGenerator",
    "ROIPooling",
    "SpatialTransformer",
    "UpSampling",
    "amp_cast",
    "_contrib_DeformableConvolution",
    "_contrib_MultiProposal",
    "_contrib_PSROIPooling",
    "_contrib_Proposal",
    "_contrib_ROIAlign",
    "_contrib_RROIAlign",
    "_contrib_SyncBatchNorm",
    "_contrib_interleaved_matmul_encdec_qk",
    "_contrib_interleaved_matmul_encdec_valatt",
    "_contrib_interleaved_matmul_selfatt_qk",
    "_contrib_interleaved_matmul_selfatt_valatt",
    "_image_crop",
    "_image_flip_left_right",
    "_image_flip_top_bottom",
    "_image_normalize",
    "_image_resize",
    "_image_to_tensor",
)
# Checked by the tests below instead (MXNet's MKLDNN build differs or cannot run them).
BELOW = {
    "amp_multicast": "test_amp_multicast_widest_and_narrow",
    "BatchNorm_v1": "test_batchnorm_v1_symbol_outputs_variance",
    "_contrib_quantize": "test_quantize_int8_round_trip",
    "_contrib_dequantize": "test_quantize_int8_round_trip",
    "_contrib_quantize_v2": "test_quantize_uint8_and_v2",
    "_image_random_flip_left_right": "test_random_flip_is_seeded",
    "_image_random_flip_top_bottom": "test_random_flip_is_seeded",
}


def _fn(path, root=nd):
    for part in path.split("."):
        root = getattr(root, part)
    return root


@pytest.mark.parametrize("case", CASES)
def test_matches_mxnet(case):
    meta = json.loads(str(_FIX[f"{case}/meta"]))
    n_in = sum(1 for k in _FIX.files if k.startswith(f"{case}/in"))
    inputs = [
        nd.array(_FIX[f"{case}/in{i}"], dtype=_FIX[f"{case}/in{i}"].dtype) for i in range(n_in)
    ]
    for i in meta["grad"]:
        inputs[i].attach_grad()
    with mx.autograd.record():
        outs = _fn(meta["op"])(*inputs, **meta["attrs"])
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    for i, out in enumerate(outs):
        want = _FIX[f"{case}/out{i}"]
        assert out.shape == want.shape, (case, i)
        assert out.dtype == want.dtype, (case, i)
        np.testing.assert_allclose(
            out.asnumpy(), want, rtol=1e-4, atol=1e-5, err_msg=f"{case} out{i}"
        )
    if meta["grad"]:
        outs[0].backward(nd.array(_FIX[f"{case}/head"], dtype=outs[0].dtype))
        for i in meta["grad"]:
            np.testing.assert_allclose(
                inputs[i].grad.asnumpy(),
                _FIX[f"{case}/grad{i}"],
                rtol=1e-4,
                atol=1e-5,
                err_msg=f"{case} grad{i}",
            )


def test_fixture_covers_the_new_operators():
    from distnet.ops.registry import get_op

    seen = set()
    for case in CASES:
        fn = _fn(json.loads(str(_FIX[f"{case}/meta"]))["op"])
        seen.add(get_op(fn.__name__).name)  # generated functions carry the registry name
    assert seen == set(IN_FIXTURE)
    for name in BELOW:
        get_op(name)  # registered
        assert BELOW[name] in globals()


def test_flip_gradient_is_the_flipped_head():
    # MXNet 1.9.1's flip backward returns a wrong gradient (and its flip_top_bottom
    # zeroes the middle row of odd-height float images); distnet's is the flip's.
    x = nd.array(np.arange(30, dtype=np.float32).reshape(5, 2, 3))
    x.attach_grad()
    head = np.random.RandomState(1).rand(5, 2, 3).astype(np.float32)
    with mx.autograd.record():
        y = nd.image.flip_top_bottom(x)
    y.backward(nd.array(head))
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy()[::-1])
    np.testing.assert_array_equal(x.grad.asnumpy(), head[::-1])


def test_image_namespaces_and_symbol_backward():
    data = mx.sym.Variable("data")
    crop = mx.sym.image.crop(data, x=1, y=0, width=2, height=2)
    x = np.arange(24, dtype=np.float32).reshape(3, 4, 2)
    exe = crop.bind(mx.cpu(), {"data": nd.array(x)}, args_grad={"data": nd.zeros((3, 4, 2))})
    exe.forward(is_train=True)
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), x[0:2, 1:3])
    exe.backward([nd.ones((2, 2, 2))])
    want = np.zeros_like(x)
    want[0:2, 1:3] = 1
    np.testing.assert_array_equal(exe.grad_dict["data"].asnumpy(), want)
    with pytest.raises(MXNetError, match="inside the 3x4"):
        nd.image.crop(nd.array(x), x=3, y=0, width=2, height=2)


def test_random_flip_is_seeded():
    x = nd.array(np.arange(12, dtype=np.float32).reshape(2, 2, 3))
    mx.random.seed(3)
    first = [nd.image.random_flip_left_right(x).asnumpy() for _ in range(8)]
    mx.random.seed(3)
    again = [nd.image.random_flip_left_right(x).asnumpy() for _ in range(8)]
    flipped = [np.array_equal(f, x.asnumpy()[:, ::-1]) for f in first]
    assert any(flipped) and not all(flipped)
    for f, g in zip(first, again):
        np.testing.assert_array_equal(f, g)


def test_amp_multicast_widest_and_narrow():
    a = nd.ones((2,), dtype="float16")
    b = nd.ones((2,), dtype="float32")
    c = nd.ones((2,), dtype="int32")
    assert [o.dtype for o in nd.amp_multicast(a, b, c, num_outputs=3)] == [
        np.float32,
        np.float32,
        np.int32,
    ]
    narrow = nd.amp_multicast(a, b, num_outputs=2, cast_narrow=True)
    assert [o.dtype for o in narrow] == [np.float16, np.float16]
    x = mx.sym.Variable("x", dtype=np.float32)
    _, out_types, _ = mx.sym.amp_cast(x, dtype="float16").infer_type(x="float32")
    assert out_types == [np.float16]


def test_batchnorm_v1_symbol_outputs_variance():
    sym = mx.sym.BatchNorm_v1(mx.sym.Variable("data"), name="bn", output_mean_var=True)
    assert sym.list_arguments() == ["data", "bn_gamma", "bn_beta"]
    assert sym.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert sym.list_outputs() == ["bn_output", "bn_mean", "bn_var"]
    x = np.random.RandomState(0).rand(4, 3, 2, 2).astype(np.float32)
    exe = sym.simple_bind(mx.cpu(), data=x.shape)
    exe.arg_dict["data"][:] = x
    exe.arg_dict["bn_gamma"][:] = 1
    exe.aux_dict["bn_moving_var"][:] = 1
    outs = exe.forward(is_train=True)
    np.testing.assert_allclose(outs[1].asnumpy(), x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(outs[2].asnumpy(), x.var(axis=(0, 2, 3)), rtol=1e-4)


def test_correlation_rejects_empty_output():
    x = nd.array(np.ones((1, 1, 28, 28)))
    with pytest.raises(MXNetError, match="output would be empty"):
        nd.Correlation(x, x, kernel_size=27)
    with pytest.raises(MXNetError, match="kernel_size must be odd"):
        nd.Correlation(x, x, kernel_size=28)
    assert nd.Correlation(x, x, kernel_size=9).shape == (1, 9, 18, 18)


def test_quantize_int8_round_trip():
    a = nd.array([[0.1392, 0.5928], [0.6027, 0.8579]])
    q, lo, hi = nd.contrib.quantize(a, nd.array([0.0]), nd.array([1.0]), out_type="int8")
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q.asnumpy(), [[18, 75], [77, 109]])  # MXNet 1.9.1's values
    assert (lo.asscalar(), hi.asscalar()) == (-1.0, 1.0)
    back = nd.contrib.dequantize(q, lo, hi, out_type="float32")
    np.testing.assert_allclose(
        back.asnumpy(), [[18 / 127, 75 / 127], [77 / 127, 109 / 127]], rtol=1e-6
    )
    # out-of-range values saturate symmetrically, zero stays zero
    q2, _, _ = nd.contrib.quantize(
        nd.array([-3.0, 0.0, 3.0]), nd.array([-1.0]), nd.array([1.0]), out_type="int8"
    )
    np.testing.assert_array_equal(q2.asnumpy(), [-127, 0, 127])


def test_quantize_uint8_and_v2():
    a = nd.array([0.0, 0.25, 1.0, 2.0])
    q, lo, hi = nd.contrib.quantize(a, nd.array([0.0]), nd.array([1.0]), out_type="uint8")
    assert q.dtype == np.uint8
    np.testing.assert_array_equal(q.asnumpy(), [0, 64, 255, 255])
    np.testing.assert_allclose(
        nd.contrib.dequantize(q, lo, hi).asnumpy(), [0, 64 / 255, 1, 1], rtol=1e-6
    )
    x = nd.array([[-0.7, 0.1392, 0.5928], [0.6027, 0.8579, -0.3]])
    q, lo, hi = nd.contrib.quantize_v2(x, out_type="int8")
    np.testing.assert_array_equal(q.asnumpy(), [[-104, 21, 88], [89, 127, -44]])
    np.testing.assert_allclose([lo.asscalar(), hi.asscalar()], [-0.8579, 0.8579], rtol=1e-6)
    q, lo, hi = nd.contrib.quantize_v2(x, out_type="auto", min_calib_range=0.1, max_calib_range=0.7)
    assert q.dtype == np.uint8 and (lo.asscalar(), hi.asscalar()) == pytest.approx((0.1, 0.7))
    with pytest.raises(MXNetError, match="min_range must hold one value"):
        nd.contrib.quantize(x, nd.array([0.0, 1.0]), nd.array([1.0]))


def test_bilinear_upsampling_symbol_shapes():
    up = mx.sym.UpSampling(
        mx.sym.Variable("data"),
        mx.sym.Variable("weight"),
        sample_type="bilinear",
        scale=3,
        num_filter=2,
        num_args=2,
    )
    arg_shapes, out_shapes, _ = up.infer_shape(data=(1, 2, 4, 4))
    assert arg_shapes == [(1, 2, 4, 4), (2, 1, 5, 5)]
    assert out_shapes == [(1, 2, 12, 12)]


def test_proposal_needs_one_image_and_gives_no_gradient():
    cls = nd.array(np.random.RandomState(0).rand(2, 6, 3, 3))
    bbox = nd.zeros((2, 12, 3, 3))
    info = nd.array([[48, 48, 1.0], [48, 48, 1.0]])
    with pytest.raises(MXNetError, match="use contrib.MultiProposal"):
        nd.contrib.Proposal(cls, bbox, info, scales=(1,), ratios=(0.5, 1, 2), rpn_post_nms_top_n=5)
    cls.attach_grad()
    with mx.autograd.record():
        rois = nd.contrib.MultiProposal(
            cls, bbox, info, scales=(1,), ratios=(0.5, 1, 2), rpn_post_nms_top_n=5
        )
    assert rois.shape == (10, 5)
    np.testing.assert_array_equal(rois.asnumpy()[:, 0], [0] * 5 + [1] * 5)
    rois.backward()
    assert not cls.grad.asnumpy().any()


def test_roi_ops_check_batch_index():
    data = nd.ones((1, 4, 5, 5))
    rois = nd.array([[2, 0, 0, 3, 3]])
    with pytest.raises(MXNetError, match="batch index 2 is outside the batch of 1"):
        nd.ROIPooling(data, rois, pooled_size=(2, 2), spatial_scale=1.0)
    with pytest.raises(MXNetError, match=r"rois \(num_rois, 5\)"):
        nd.contrib.ROIAlign(data, nd.ones((1, 4)), pooled_size=(2, 2), spatial_scale=1.0)
