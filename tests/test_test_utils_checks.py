"""mx.test_utils' symbolic checks, generator statistics and environment helpers: the parts
MXNet's own unit tests import (check_numeric_gradient, check_symbolic_forward/backward,
check_consistency, compare_optimizer, verify_generator, environment, ...)."""

import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet import test_utils as tu


def _fc(no_bias=True):
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    return mx.sym.FullyConnected(x, weight=w, no_bias=no_bias, num_hidden=3, name="fc")


def test_numeric_gradient_accepts_a_correct_backward():
    np.random.seed(0)
    loc = {"x": np.random.rand(2, 4), "w": np.random.rand(3, 4)}
    tu.check_numeric_gradient(_fc(), loc, rtol=1e-2, atol=1e-3)
    tu.check_numeric_gradient(
        mx.sym.tanh(mx.sym.Variable("x")), [np.random.rand(3, 3)], numeric_eps=1e-3, rtol=1e-2
    )


def test_numeric_gradient_catches_a_wrong_backward():
    # BlockGrad's backward is zero while its forward is the identity: the finite
    # differences see slope 1, so the check must fail and name the argument
    sym = mx.sym.BlockGrad(mx.sym.Variable("x")) * 2
    with pytest.raises(AssertionError, match="NUMERICAL_x"):
        tu.check_numeric_gradient(sym, [np.random.rand(2, 2)], rtol=1e-2, atol=1e-3)


def test_numeric_grad_is_the_central_difference_of_the_summed_output():
    x = mx.sym.Variable("x")
    exe = (x * x).simple_bind(mx.cpu(), x=(3,))
    grads = tu.numeric_grad(exe, {"x": np.array([1.0, 2.0, -3.0])}, eps=1e-2, dtype=np.float64)
    np.testing.assert_allclose(grads["x"], [2.0, 4.0, -6.0], rtol=1e-4)  # float32 executor


def test_symbolic_forward_compares_every_output():
    x = mx.sym.Variable("x")
    outs = tu.check_symbolic_forward(x * 2, [np.ones((2, 2))], [2 * np.ones((2, 2))])
    assert outs[0].shape == (2, 2)
    doubled = x * 2
    tu.check_symbolic_forward(doubled, {"x": np.ones(2)}, {doubled.list_outputs()[0]: [2, 2]})
    with pytest.raises(AssertionError, match="EXPECTED_"):
        tu.check_symbolic_forward(x * 2, [np.ones((2, 2))], [3 * np.ones((2, 2))])


@pytest.mark.parametrize("req", ["write", "add", "null"])
def test_symbolic_backward_honours_grad_req(req):
    x = mx.sym.Variable("x")
    grads = tu.check_symbolic_backward(
        x * 3, [np.ones((2, 2))], [np.ones((2, 2))], [3 * np.ones((2, 2))], grad_req=req
    )
    assert set(grads) == {"x"}
    if req == "write":
        np.testing.assert_allclose(grads["x"].asnumpy(), 3.0)
    with pytest.raises(AssertionError):
        tu.check_symbolic_backward(
            x * 3, [np.ones((2, 2))], [np.ones((2, 2))], [4 * np.ones((2, 2))], grad_req="write"
        )


def test_location_with_wrong_names_is_rejected():
    with pytest.raises(ValueError, match="do not match"):
        tu.check_symbolic_forward(_fc(), {"x": np.ones((2, 4))}, [np.ones((2, 3))])


def test_consistency_across_dtypes_and_a_real_mismatch():
    sym = mx.sym.FullyConnected(num_hidden=3, name="fc")
    specs = [
        {"ctx": mx.cpu(0), "fc_data": (2, 4), "type_dict": {"fc_data": t}}
        for t in (np.float64, np.float32)
    ]
    truth = tu.check_consistency(sym, specs)
    assert truth["fc_output"].shape == (2, 3) and truth["fc_weight"].shape == (3, 4)
    wrong = {"fc_output": np.full((2, 3), 1e3)}
    with pytest.raises(AssertionError):
        tu.check_consistency(sym, specs, ground_truth=wrong, grad_req="null")


def test_compare_optimizer_agrees_and_disagrees():
    sgd = lambda lr: mx.optimizer.SGD(learning_rate=lr, momentum=0.9)  # noqa: E731
    tu.compare_optimizer(sgd(0.1), sgd(0.1), (3, 4), np.float32)
    tu.compare_optimizer(sgd(0.1), sgd(0.1), [(3, 4), (5,)], np.float32, ntensors=2)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(sgd(0.1), sgd(0.5), (3, 4), np.float32)


def test_chi_square_survival_matches_known_quantiles():
    assert tu._chi2_survival(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert tu._chi2_survival(11.070497693516351, 5) == pytest.approx(0.05, rel=1e-9)
    assert tu._chi2_survival(0.0, 4) == 1.0
    assert tu._chi2_survival(100.0, 3) < 1e-20


def test_verify_generator_accepts_the_right_and_rejects_a_wrong_distribution():
    np.random.seed(1)
    buckets = [0, 1, 2, 3]
    probs = [0.1, 0.2, 0.3, 0.4]
    good = lambda n: np.random.choice(4, size=n, p=probs)  # noqa: E731
    bad = lambda n: np.random.choice(4, size=n)  # noqa: E731
    assert len(tu.verify_generator(good, buckets, probs, nsamples=20000, nrepeat=5)) == 5
    with pytest.raises(AssertionError, match="Generator test fails"):
        tu.verify_generator(bad, buckets, probs, nsamples=20000, nrepeat=5)
    ranges, equal = tu.gen_buckets_probs_with_ppf(lambda q: q, 4)
    assert ranges == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
    assert equal == [0.25] * 4
    p, observed, expected = tu.chi_square_check(
        lambda n: np.random.uniform(size=n), ranges, equal, nsamples=4000
    )
    assert observed.sum() == 4000 and list(expected) == [1000] * 4 and 0 <= p <= 1


def test_mean_and_var_checks():
    np.random.seed(2)
    assert tu.mean_check(lambda n: np.random.normal(3, 2, size=n), 3, 2, nsamples=100000)
    assert not tu.mean_check(lambda n: np.random.normal(4, 2, size=n), 3, 2, nsamples=100000)
    assert tu.var_check(lambda n: np.random.normal(0, 2, size=n), 2, nsamples=100000)


def test_environment_sets_and_restores_even_on_error():
    os.environ["DISTNET_TU_KEEP"] = "old"
    os.environ.pop("DISTNET_TU_NEW", None)
    with pytest.raises(RuntimeError):
        with tu.environment({"DISTNET_TU_KEEP": "new", "DISTNET_TU_NEW": "1"}):
            assert os.environ["DISTNET_TU_KEEP"] == "new"
            assert os.environ["DISTNET_TU_NEW"] == "1"
            raise RuntimeError("body failed")
    assert os.environ["DISTNET_TU_KEEP"] == "old" and "DISTNET_TU_NEW" not in os.environ
    with tu.environment("DISTNET_TU_KEEP", None):
        assert "DISTNET_TU_KEEP" not in os.environ
    assert os.environ.pop("DISTNET_TU_KEEP") == "old"


def test_discard_stderr_silences_file_descriptor_2():
    import subprocess
    import sys

    code = (
        "import os\nfrom distnet.test_utils import discard_stderr\n"
        "with discard_stderr():\n    os.write(2, b'hidden\\n')\nos.write(2, b'shown\\n')\n"
    )
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).stderr
    assert b"hidden" not in err and b"shown" in err


def test_reductions_and_shapes_helpers():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(
        tu.np_reduce(a, (0, 2), True, np.sum), a.sum(axis=(0, 2), keepdims=True)
    )
    np.testing.assert_array_equal(tu.np_reduce(a, 1, False, np.max), a.max(axis=1))
    np.testing.assert_array_equal(tu.collapse_sum_like(a, (3, 1)), a.sum(axis=(0, 2)).reshape(3, 1))
    with pytest.raises(AssertionError, match="not equal"):
        tu.checkShapes(np.ones(2), np.ones(3))


def test_same_array_and_symbol_structure():
    a = mx.nd.ones((2, 2))
    assert tu.same_array(a, a[:])
    assert not tu.same_array(a, a.copy())
    x = mx.sym.Variable("x")
    assert tu.same_symbol_structure(mx.sym.relu(x), mx.sym.relu(mx.sym.Variable("y")))
    assert not tu.same_symbol_structure(mx.sym.relu(x), mx.sym.tanh(x))


def test_dummy_iter_repeats_the_first_batch():
    it = mx.io.NDArrayIter(np.arange(8.0).reshape(4, 2), np.arange(4.0), batch_size=2)
    dummy = tu.DummyIter(it)
    first, second = next(dummy), dummy.next()
    assert first is second and dummy.batch_size == 2
    assert dummy.provide_data == it.provide_data


def test_sparse_helpers_make_sparse_arrays():
    np.random.seed(1)
    arr, (data, indices) = tu.rand_sparse_ndarray((6, 2), "row_sparse", density=0.5)
    assert arr.stype == "row_sparse" and data.shape == (indices.shape[0], 2)
    dense = arr.asnumpy()
    assert set(np.nonzero(dense.any(axis=1))[0]) <= set(indices.asnumpy().tolist())
    csr = tu.create_sparse_array((5, 4), "csr", data_init=7.0, density=1.0)
    assert csr.stype == "csr" and (csr.asnumpy() == 7.0).all()
    zero = tu.create_sparse_array_zd((3, 2), "row_sparse", density=0.0)
    assert zero.indices.shape == (0,)
    with pytest.raises(MXNetError, match="unknown storage type"):
        tu.rand_sparse_ndarray((2, 2), "coo")


def test_every_public_name_of_mxnets_test_utils_exists():
    # MXNet 1.9.1's mxnet.test_utils public functions and classes (its __module__ names)
    names = """DummyIter almost_equal assert_allclose assert_almost_equal
    assert_almost_equal_ignore_nan assert_almost_equal_with_err assert_exception assign_each
    assign_each2 checkShapes check_consistency check_gluon_hybridize_consistency
    check_numeric_gradient check_speed check_symbolic_backward check_symbolic_forward
    chi_square_check collapse_sum_like compare_ndarray_tuple compare_optimizer
    create_2d_tensor create_sparse_array create_sparse_array_zd create_vector default_atols
    default_context default_dtype default_numeric_eps default_rtols discard_stderr download
    download_model effective_dtype environment gen_buckets_probs_with_ppf get_atol
    get_bz2_data get_cifar10 get_etol get_identity_mat get_identity_mat_batch get_im2rec_path
    get_mnist get_mnist_iterator get_mnist_pkl get_mnist_ubyte get_rtol get_tolerance
    get_tols get_zip_data has_tvm_ops is_aarch64_run is_cd_run is_op_runnable list_gpus
    locationError mean_check new_matrix_with_real_eigvals_2d new_matrix_with_real_eigvals_nd
    new_orthonormal_matrix_2d new_sym_matrix_with_real_eigvals_2d
    new_sym_matrix_with_real_eigvals_nd np_reduce numeric_grad rand_coord_2d rand_ndarray
    rand_shape_2d rand_shape_3d rand_shape_nd rand_sparse_ndarray random_arrays random_sample
    random_uniform_arrays retry same same_array same_symbol_structure set_default_context
    shuffle_csr_column_indices simple_forward var_check verify_generator""".split()
    assert [n for n in names if not callable(getattr(tu, n, None))] == []
    star = {}
    exec("from distnet.test_utils import *", star)  # what MXNet's test files do
    assert set(names) <= set(star)
    assert star["mx"].nd is mx.nd and star["np"] is np  # names those files then use


def test_gluon_hybridize_consistency():
    from distnet.gluon import nn

    def build():
        net = nn.HybridSequential()
        net.add(nn.Dense(4, activation="tanh"), nn.Dense(2))
        return net

    tu.check_gluon_hybridize_consistency(build, [mx.nd.random.uniform(shape=(3, 5))])


def test_matrix_helpers_have_the_promised_properties():
    np.random.seed(3)
    q = tu.new_orthonormal_matrix_2d(4)
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-10)
    s = tu.new_sym_matrix_with_real_eigvals_nd((2, 3, 3))
    np.testing.assert_allclose(s, np.swapaxes(s, -1, -2), atol=1e-10)
    m = tu.new_matrix_with_real_eigvals_2d(3)
    assert np.all(np.abs(np.linalg.eigvals(m).imag) < 1e-8)
