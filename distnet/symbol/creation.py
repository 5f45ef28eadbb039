"""Symbol functions that are not one registry operator called as is: array creation
(``sym.zeros``, ``ones``, ``full``, ``arange``, ``linspace``, ``eye``) and ``split_v2``,
writing the attributes MXNet's front end writes."""

__all__ = ["zeros", "ones", "full", "arange", "linspace", "eye", "split_v2"]


def _create(op_name, attrs, name, args=()):
    from ..ops.registry import get_op
    from .compose import create

    return create(get_op(op_name), op_name, args, attrs, name)


def zeros(shape, dtype=None, name=None, **kwargs):
    """A Symbol of zeros of ``shape`` (float32 by default)."""
    return _create("_zeros", dict(kwargs, shape=shape, dtype=dtype or "float32"), name)


def ones(shape, dtype=None, name=None, **kwargs):
    """A Symbol of ones of ``shape`` (float32 by default)."""
    return _create("_ones", dict(kwargs, shape=shape, dtype=dtype or "float32"), name)


def full(shape, val, dtype=None, name=None, **kwargs):
    """A Symbol of ``shape`` filled with ``val``."""
    return _create(
        "_full", dict(kwargs, shape=shape, value=float(val), dtype=dtype or "float32"), name
    )


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None, dtype=None):
    """Evenly spaced values in ``[start, stop)``."""
    return _create(
        "_arange",
        dict(
            start=start,
            stop=stop,
            step=step,
            repeat=repeat,
            infer_range=infer_range,
            dtype=dtype or "float32",
        ),
        name,
    )


def linspace(start, stop, num, endpoint=True, name=None, dtype=None):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    return _create(
        "_linspace",
        dict(start=start, stop=stop, num=num, endpoint=endpoint, dtype=dtype or "float32"),
        name,
    )


def eye(N, M=0, k=0, dtype=None, name=None, **kwargs):
    """A 2-d Symbol with ones on the ``k``-th diagonal."""
    return _create("_eye", dict(kwargs, N=N, M=M, k=k, dtype=dtype or "float32"), name)


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False, name=None):
    """Split into equal sections (an int) or at the given indices (a tuple)."""
    from ..ops.index_join import split_v2_attrs

    attrs = split_v2_attrs(indices_or_sections, axis, squeeze_axis)
    attrs["indices"] = list(attrs["indices"])  # MXNet writes a list: '[]', '[0, 1, 3]'
    return _create("_split_v2", attrs, name, (ary,))
