"""Array helpers of the module package: raw copies, slices and concatenation on the
numpy/cupy arrays behind NDArrays (no operator dispatch on the per-batch path)."""

import numpy as np

from ..base import MXNetError
from ..ndarray import NDArray
from ..ndarray.ndarray import _copy_into, wrap


class ExtraParamError(MXNetError, ValueError):
    """A parameter name the module does not have (allow_extra=False): a ValueError, as
    MXNet raises, and an MXNetError, as every distnet error (tracebacks name it so)."""


ExtraParamError.__name__ = ExtraParamError.__qualname__ = "MXNetError"
ExtraParamError.__module__ = "distnet.base"


def raw_of(x):
    """The numpy/cupy array behind an NDArray (`read_raw`: after pending transfers), or x
    as an array."""
    if isinstance(x, NDArray):
        return x._read()
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__cuda_array_interface__"):
        return x
    return np.asarray(x)


def load_into(dst, src, what):
    """Copy batch array `src` into the bound array `dst` (casting to dst's dtype)."""
    if dst._sparse:  # a row_sparse parameter (get_params): stored in its storage type
        dst[:] = src if isinstance(src, NDArray) else raw_of(src)
        return
    s = raw_of(src)
    d = dst._data
    if s.shape != d.shape:
        raise MXNetError(
            f"{what} has shape {tuple(s.shape)} but the module is bound to {tuple(d.shape)}"
        )
    if type(d) is np.ndarray and type(s) is np.ndarray:
        np.copyto(d, s, casting="unsafe")
    else:
        _copy_into(d, s)


def axis_slice(arr, axis, sl):
    """arr[..., sl, ...] with `sl` on `axis` (a view)."""
    if axis == 0:
        return arr[sl]
    return arr[(slice(None),) * axis + (sl,)]


def load_slice_into(dst, src, axis, sl, what):
    """Copy the `sl` part of `src` along `axis` into `dst`."""
    s = raw_of(src)
    if axis >= 0 and (sl.start != 0 or sl.stop != s.shape[axis]):
        s = axis_slice(s, axis, sl)
    load_into(dst, s, what)


def concat_arrays(arrays, axis):
    """Concatenate NDArrays along `axis` on the first one's context."""
    if len(arrays) == 1:
        return arrays[0]
    first = arrays[0]
    ctx = first.context
    datas = [raw_of(a if a.context == ctx else a.as_in_context(ctx)) for a in arrays]
    if isinstance(datas[0], np.ndarray):
        return wrap(np.concatenate(datas, axis=axis), ctx)
    return wrap(ctx.xp.concatenate(datas, axis=axis), ctx)


def split_input_slice(batch_size, work_load_list):
    """Slices of the batch for each device, proportional to its work load (MXNet's rule:
    rounded shares, the remainder to the last device)."""
    total = sum(work_load_list)
    if total <= 0:
        raise MXNetError(f"work_load_list must have a positive sum, got {work_load_list}")
    nums = [round(w * batch_size / total) for w in work_load_list]
    if sum(nums) < batch_size:
        nums[-1] += batch_size - sum(nums)
    slices, end = [], 0
    for num in nums:
        begin = int(min(end, batch_size))
        end = int(min(begin + num, batch_size))
        if begin >= end:
            raise MXNetError(
                f"Too many slices: batch size {batch_size} split by work load "
                f"{list(work_load_list)} leaves a device with no samples"
            )
        slices.append(slice(begin, end))
    return slices
