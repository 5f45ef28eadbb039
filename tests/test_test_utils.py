"""mx.test_utils: tolerant comparisons and their messages, random data, default context."""

import threading

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.test_utils import (
    almost_equal,
    assert_almost_equal,
    assert_allclose,
    assert_almost_equal_ignore_nan,
    assert_exception,
    default_context,
    get_tols,
    rand_ndarray,
    rand_shape_2d,
    rand_shape_3d,
    rand_shape_nd,
    random_arrays,
    retry,
    same,
    set_default_context,
)


def test_passes_within_float32_default_tolerance():
    a = nd.array([[1.0, 2.0], [3.0, 4.0]])
    assert_almost_equal(a, np.array([[1.0, 2.0], [3.0, 4.0009]], np.float32))
    assert_almost_equal(a, a.asnumpy() * (1 + 5e-5))  # rtol 1e-4
    assert_almost_equal(np.float32(1), 1.0001)  # numbers work too


def test_failure_message_names_the_worst_element_as_mxnet():
    got = nd.array([[1, 2], [3, 4]])
    want = np.array([[1, 2], [3, 4.5]], np.float32)
    with pytest.raises(AssertionError) as err:
        assert_almost_equal(got, want, names=("got", "want"))
    msg = str(err.value)
    # The lines MXNet 1.9.1 prints for this comparison.
    assert (
        "Error 344.827576 exceeds tolerance rtol=1.000000e-04, atol=1.000000e-03 "
        "(mismatch 25.000000%)." in msg
    )
    assert "Location of maximum error: (1, 1), got=4.00000000, want=4.50000000" in msg
    assert "ACTUAL:" in msg and "DESIRED:" in msg


def test_mismatch_share_counts_every_failing_element():
    a = np.zeros(8, np.float32)
    b = np.zeros(8, np.float32)
    b[[1, 5, 6]] = [1.0, 3.0, 0.5]
    with pytest.raises(
        AssertionError,
        match=r"mismatch 37.500000%\)\.\n"
        r"Location of maximum error: \(5,\), a=0.00000000, b=3.00000000",
    ):
        assert_almost_equal(a, b)


def test_tolerances_follow_the_dtypes():
    assert get_tols(np.zeros(1, np.float16), np.zeros(1, np.float32), None, None) == (1e-2, 1e-1)
    assert get_tols(np.zeros(1, np.float64), np.zeros(1, np.float64), None, None) == (1e-5, 1e-20)
    assert get_tols(np.zeros(1, np.int32), np.zeros(1, np.int64), None, None) == (0, 0)
    dict_tol = {np.dtype(np.float32): 0.5}
    assert get_tols(np.zeros(1, np.float32), np.zeros(1, np.float32), dict_tol, 2.0) == (0.5, 2.0)
    assert_almost_equal(np.float16(1.0), np.float16(1.009))  # float16 is lenient
    with pytest.raises(AssertionError):
        assert_almost_equal(np.float64(1.0), np.float64(1.0001))
    with pytest.raises(AssertionError):
        assert_almost_equal(np.array([1, 2], np.int32), np.array([1, 3], np.int32))
    assert_almost_equal(np.array([1.0]), np.array([1.5]), rtol=0, atol=0.6)


def test_nan_inf_bool_and_shapes():
    nan = np.array([1.0, np.nan])
    with pytest.raises(AssertionError, match="Location of maximum error: \\(1,\\)"):
        assert_almost_equal(nan, nan)
    assert_almost_equal(nan, nan, equal_nan=True)
    assert_allclose(nan, nan)  # equal_nan by default
    assert_almost_equal_ignore_nan(nan, np.array([np.nan, 2.0]))
    assert_almost_equal(np.array([np.inf, -np.inf]), np.array([np.inf, -np.inf]))
    assert_almost_equal(np.array([True, False]), np.array([True, False]))
    with pytest.raises(AssertionError):
        assert_almost_equal(np.array([True, False]), np.array([True, True]))
    assert_almost_equal(np.ones((2, 3)), np.ones(3))  # broadcasting, as MXNet
    with pytest.raises(AssertionError, match=r"a.shape = \(2, 3\) and b.shape = \(3,\)"):
        assert_almost_equal(np.ones((2, 3)), np.ones(3), use_broadcast=False)
    with pytest.raises(AssertionError, match="do not broadcast"):
        assert_almost_equal(np.ones(2), np.ones(3))


def test_almost_equal_and_same():
    a = nd.array([1.0, 2.0])
    assert almost_equal(a, np.array([1.0, 2.0001], np.float32))
    assert not almost_equal(a, np.array([1.0, 2.1], np.float32))
    assert not almost_equal(np.ones(2), np.ones(3))
    assert same(a, np.array([1.0, 2.0], np.float32))
    assert not same(a, np.array([1.0, 2.0001], np.float32))


def test_assert_exception():
    assert_exception(int, ValueError, "x")
    with pytest.raises(AssertionError, match="did not raise ValueError"):
        assert_exception(int, ValueError, "3")


def test_random_data_shapes_dtypes_and_seeding():
    np.random.seed(3)
    x = rand_ndarray((2, 3))
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.context == default_context()
    assert rand_ndarray((4,), dtype="float64").dtype == np.float64
    np.random.seed(3)
    np.testing.assert_array_equal(rand_ndarray((2, 3)).asnumpy(), x.asnumpy())
    big = rand_ndarray((2000,)).asnumpy()
    assert abs(big.mean()) < 0.1 and 0.9 < big.std() < 1.1  # standard normal
    a, b = random_arrays((2, 3), (4,))
    assert a.shape == (2, 3) and b.shape == (4,) and a.dtype == np.float32
    assert rand_ndarray((4, 3), stype="csr").stype == "csr"  # tests/sparse covers values
    with pytest.raises(MXNetError, match="unknown storage type 'coo'"):
        rand_ndarray((2, 2), stype="coo")


def test_random_shapes_stay_in_range():
    np.random.seed(0)
    for _ in range(50):
        s2, s3, s5 = rand_shape_2d(3, 4), rand_shape_3d(), rand_shape_nd(5, dim=2)
        assert len(s2) == 2 and 1 <= s2[0] <= 3 and 1 <= s2[1] <= 4
        assert len(s3) == 3 and all(1 <= d <= 10 for d in s3)
        assert len(s5) == 5 and all(1 <= d <= 2 for d in s5)
        assert all(isinstance(d, int) for d in s2 + s3 + s5)
    zeros = {rand_shape_nd(1, dim=1, allow_zero_size=True)[0] for _ in range(50)}
    assert zeros == {0, 1}


def test_set_default_context_is_per_thread_and_under_with_blocks():
    before = mx.current_context()
    seen = {}

    def other_thread():
        seen["ctx"] = default_context()

    try:
        set_default_context(mx.cpu(3))
        assert default_context() == mx.cpu(3) and mx.current_context() == mx.cpu(3)
        assert nd.zeros((1,)).context == mx.cpu(3)
        with mx.cpu(1):
            assert default_context() == mx.cpu(1)
            set_default_context(mx.cpu(2))  # replaces, stays below
            assert default_context() == mx.cpu(1)
        assert default_context() == mx.cpu(2)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        assert seen["ctx"] == mx.cpu(0)
    finally:
        set_default_context(before)
    assert mx.current_context() == before
    with pytest.raises(MXNetError, match="expected a Context"):
        set_default_context("cpu(0)")


def test_retry_reruns_failing_tests():
    calls = []

    @retry(3)
    def flaky():
        calls.append(1)
        assert len(calls) == 2

    flaky()
    assert len(calls) == 2


def test_reachable_as_mx_test_utils_and_from_testing():
    assert mx.test_utils.assert_almost_equal is assert_almost_equal
    from distnet.testing import assert_almost_equal as again

    assert again is assert_almost_equal
