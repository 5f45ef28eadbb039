"""Batches across a pipe without pickle: a msgpack header, then one raw frame per array.

A batch is a nest of lists, tuples and dicts whose leaves are NDArrays, numpy arrays,
numpy scalars or plain Python scalars. The header describes the nest and each array's
dtype and shape; the arrays follow as raw bytes and are received straight into fresh
numpy arrays (one copy, writable).
"""

import numpy as np
import msgpack

from ...base import MXNetError

_ARRAY_KINDS = "biufc"


def pack_task(batch_idx, indices):
    """The message asking a worker for batch ``batch_idx`` made of ``indices``."""
    return msgpack.packb([batch_idx, [int(i) for i in indices]])


def unpack_task(message):
    """``(batch_idx, indices)`` from ``pack_task``'s message."""
    batch_idx, indices = msgpack.unpackb(message)
    return batch_idx, indices


def send_batch(conn, batch_idx, batch):
    """Send ``batch`` (built once, so a bad leaf fails before anything is written)."""
    arrays = []
    tree = _flatten(batch, arrays)
    meta = [[arr.dtype.str, list(arr.shape)] for arr in arrays]
    header = msgpack.packb({"i": batch_idx, "tree": tree, "arrays": meta}, use_bin_type=True)
    conn.send_bytes(header)
    for arr in arrays:
        conn.send_bytes(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))


def send_error(conn, batch_idx, summary, trace):
    """Tell the reader that batch ``batch_idx`` failed (``summary``: 'Type: message')."""
    conn.send_bytes(
        msgpack.packb({"i": batch_idx, "error": summary, "trace": trace}, use_bin_type=True)
    )


def recv_batch(conn, ctx):
    """Receive one message: ``(batch_idx, batch, None)`` or ``(batch_idx, None, error)``
    where ``error`` is ``(summary, trace)``. NDArrays are rebuilt on ``ctx``."""
    header = msgpack.unpackb(conn.recv_bytes(), raw=False, strict_map_key=False)
    if "error" in header:
        return header["i"], None, (header["error"], header["trace"])
    arrays = []
    for dtype, shape in header["arrays"]:
        out = np.empty(tuple(shape), dtype=np.dtype(dtype))
        view = out.reshape(-1).view(np.uint8)
        if view.size:
            conn.recv_bytes_into(view)
        else:
            conn.recv_bytes()
        arrays.append(out)
    return header["i"], _rebuild(header["tree"], arrays, ctx), None


def _flatten(obj, arrays):
    """A msgpack-able description of ``obj``; arrays are appended to ``arrays``."""
    from ...ndarray import NDArray

    if isinstance(obj, NDArray):
        arrays.append(_numpy_of(obj))
        return ["n", len(arrays) - 1]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _ARRAY_KINDS:
            raise MXNetError(
                f"a DataLoader worker cannot send a numpy array of dtype "
                f"{obj.dtype}; return numeric arrays from batchify_fn"
            )
        arrays.append(obj)
        return ["a", len(arrays) - 1]
    if isinstance(obj, np.generic):
        return ["s", obj.dtype.str, obj.tobytes()]
    if isinstance(obj, (list, tuple)):
        return ["l" if isinstance(obj, list) else "t", [_flatten(x, arrays) for x in obj]]
    if isinstance(obj, dict):
        return ["d", [[_flatten(k, arrays), _flatten(v, arrays)] for k, v in obj.items()]]
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return ["p", obj]
    raise MXNetError(
        f"a DataLoader worker cannot send an object of type "
        f"{type(obj).__name__}; batchify_fn must return NDArrays, numpy "
        "arrays, scalars, or lists/tuples/dicts of them"
    )


def _numpy_of(arr):
    data = arr._read()
    return data if isinstance(data, np.ndarray) else data.get()


def _rebuild(tree, arrays, ctx):
    from ...ndarray.ndarray import wrap

    tag = tree[0]
    if tag == "n":
        return wrap(arrays[tree[1]], ctx)
    if tag == "a":
        return arrays[tree[1]]
    if tag == "s":
        return np.frombuffer(tree[2], dtype=np.dtype(tree[1]))[0]
    if tag == "l":
        return [_rebuild(x, arrays, ctx) for x in tree[1]]
    if tag == "t":
        return tuple(_rebuild(x, arrays, ctx) for x in tree[1])
    if tag == "d":
        return {_rebuild(k, arrays, ctx): _rebuild(v, arrays, ctx) for k, v in tree[1]}
    return tree[1]
