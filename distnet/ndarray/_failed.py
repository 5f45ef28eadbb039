"""Operator failures reported where MXNet reports them: at the next read.

MXNet runs operators asynchronously, so an error found while an operator *runs* (a
sampler's ``scale < 0``; operators raise ``OpRuntimeError`` for such checks) surfaces at
the next synchronisation point: ``wait_to_read``, ``asnumpy``, ``nd.waitall()``. Shape and
argument errors stay immediate, as in MXNet. distnet keeps that contract: the failed
call returns arrays (filled with NaN, or zeros for integer types) that carry the error;
operators fed with them pass it on; the first read of any of them, or ``waitall``,
raises it, once. Later reads see the NaN-filled values, never a plausible number.
"""

import threading
import weakref

import numpy as np

__all__ = ["Failure", "failed_result", "failed_copy", "raise_unreported"]

_lock = threading.Lock()
_unreported = weakref.WeakSet()  # failures no read or waitall has raised yet


class Failure:
    """The ``_pending`` of arrays made by a failed operator: waiting on it raises the
    error the first time, for whichever of the arrays is read first."""

    __slots__ = ("error", "reported", "__weakref__")

    def __init__(self, error):
        # without its traceback: the frames it holds hold the failed arrays, which hold
        # this Failure; the cycle would keep a dropped array's error alive for waitall
        self.error = error.with_traceback(None)
        self.reported = False
        with _lock:
            _unreported.add(self)

    def wait(self):
        """Raise the operator's error unless it was raised already."""
        with _lock:
            if self.reported:
                return
            self.reported = True
            _unreported.discard(self)
        raise self.error


def raise_unreported():
    """``nd.waitall()``'s part: raise the first failure no read has raised (all of
    them are then considered reported, as MXNet's waitall clears its errors)."""
    with _lock:
        pending = list(_unreported)
        _unreported.clear()
        for failure in pending:
            failure.reported = True
    if pending:
        raise pending[0].error


def failed_result(op, a, args, failure, out):
    """The outputs of ``op`` on ``args`` (NDArrays, inputs then auxiliary states) that
    could not run: arrays of the inferred shapes and types carrying ``failure``. Raises
    the failure now when the output shapes cannot be inferred without running."""
    from .ndarray import wrap

    n_aux = len(op.aux)
    ins, aux = (args[:-n_aux], args[-n_aux:]) if n_aux else (args, ())
    try:
        _, shapes, _ = op.infer_shape(a, [x.shape for x in ins], [x.shape for x in aux])
        _, dtypes, _ = op.infer_type(
            a, [np.dtype(x.dtype) for x in ins], [np.dtype(x.dtype) for x in aux]
        )
    except Exception:
        shapes = None
    if not shapes or any(s is None for s in shapes):
        _consume(failure)
        raise failure.error
    ctx = args[0]._ctx if args else (a.get("ctx") or _current())
    outs = out if isinstance(out, (list, tuple)) else ([out] if out is not None else None)
    if outs is None:
        shapes = [s if s or op.zero_d else (1,) for s in shapes]  # as invoke's results
        outs = [wrap(_filled(ctx, s, t), ctx) for s, t in zip(shapes, dtypes)]
    else:
        for dst in outs:
            dst._read()[...] = _fill_value(dst.dtype)
    for arr in outs:
        arr._pending = failure
    return out if out is not None else outs


def failed_copy(src, other):
    """``src.copyto(other)`` for an ``src`` made by a failed call: the copy (a new array
    on context ``other``, or the NDArray ``other``) carries the same failure."""
    from ..context import Context
    from .ndarray import NDArray, wrap

    if isinstance(other, Context):
        dst = wrap(_filled(other, src.shape, src.dtype), other)
    elif isinstance(other, NDArray) and other.shape == src.shape:
        dst = other
        dst._read()[...] = _fill_value(dst.dtype)
    else:
        _consume(src._pending)
        raise src._pending.error
    dst._pending = src._pending
    return dst


def _consume(failure):
    with _lock:
        failure.reported = True
        _unreported.discard(failure)


def _fill_value(dtype):
    return np.nan if np.issubdtype(np.dtype(dtype), np.inexact) else 0


def _filled(ctx, shape, dtype):
    return ctx.xp.full(tuple(shape), _fill_value(dtype), dtype=dtype)


def _current():
    from ..context import current_context

    return current_context()
