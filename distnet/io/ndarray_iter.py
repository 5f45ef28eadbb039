"""NDArrayIter: batches of in-memory arrays (numpy, NDArray, lists or dicts of them)."""

from collections import OrderedDict

import numpy as np

from ..base import MXNetError
from .base import DataBatch, DataDesc, DataIter

__all__ = ["NDArrayIter"]

_LAST_BATCH = ("pad", "discard", "roll_over")


def _is_scipy_sparse(value):
    """Whether ``value`` is a scipy sparse matrix (checked by module, so scipy is never imported)."""
    return type(value).__module__.startswith("scipy.sparse")


def _init_data(data, allow_empty, default_name):
    """``[(name, NDArray)]`` sorted by name, from an array, a list or a dict of arrays
    (non-NDArrays are copied with ``nd.array``, i.e. to float32, as MXNet does)."""
    from ..ndarray import NDArray, array

    if data is None:
        if not allow_empty:
            raise MXNetError(f"NDArrayIter: {default_name} must not be None")
        data = []
    if isinstance(data, (np.ndarray, NDArray)) or _is_scipy_sparse(data):
        data = [data]
    if isinstance(data, list):
        if not allow_empty and not data:
            raise MXNetError(f"NDArrayIter: {default_name} must not be empty")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict((f"_{i}_{default_name}", d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise TypeError(
            "Input must be NDArray, numpy.ndarray, h5py.Dataset a list of them or "
            "dict with them as values"
        )
    out = {}
    for k, v in data.items():
        if _is_scipy_sparse(v):  # a scipy csr matrix: CSRNDArray
            from ..ndarray.sparse import csr_matrix

            v = csr_matrix(v)
        if not isinstance(v, NDArray):
            try:
                v = array(v)
            except Exception as err:
                raise TypeError(
                    f"Invalid type '{type(v)}' for {k}, should be NDArray, "
                    "numpy.ndarray or h5py.Dataset"
                ) from err
        out[k] = v
    return sorted(out.items())


class NDArrayIter(DataIter):
    """Iterate over arrays in batches of ``batch_size`` along the layout's ``N`` axis.

    ``last_batch_handle``: ``'pad'`` fills the last batch from the start of the data
    (``batch.pad`` says how many), ``'discard'`` drops it, ``'roll_over'`` carries it into
    the next epoch's first batch. ``shuffle`` draws a new permutation with numpy's global
    RNG at every reset (so the same ``np.random.seed`` gives MXNet's order). Each batch is
    one slice (or one gather when shuffled) of the stored arrays: a fresh array, so
    changing it never changes the data set.
    """

    def __init__(
        self,
        data,
        label=None,
        batch_size=1,
        shuffle=False,
        last_batch_handle="pad",
        data_name="data",
        label_name="softmax_label",
        layout="NCHW",
    ):
        super().__init__(batch_size)
        if last_batch_handle not in _LAST_BATCH:
            raise MXNetError(
                f"NDArrayIter: last_batch_handle must be one of {_LAST_BATCH}, "
                f"got {last_batch_handle!r}"
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise MXNetError(f"NDArrayIter: batch_size must be a positive int, got {batch_size!r}")
        self.layout = layout
        self._axis = DataDesc.get_batch_axis(layout)
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        if last_batch_handle != "discard" and any(
            arr.stype == "csr" for _, arr in self.data + self.label
        ):
            raise NotImplementedError(
                "`NDArrayIter` only supports ``CSRNDArray`` with `last_batch_handle` set to "
                "`discard`."
            )
        self.num_data = self._count_samples()
        self.idx = np.arange(self.num_data)
        self._order = None  # positions of the shuffled data set, None when not shuffled
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)
        self._provide_data = self._describe(self.data)
        self._provide_label = self._describe(self.label)
        self.reset()

    def _count_samples(self):
        axis = self._axis
        first_name, first = self.data[0]
        n = first.shape[axis]
        for name, arr in self.data + self.label:
            if arr.ndim <= axis or arr.shape[axis] != n:
                raise MXNetError(
                    f"NDArrayIter: {name!r} has shape {arr.shape}, expected "
                    f"{n} samples along axis {axis} like {first_name!r}"
                )
        return n

    def _describe(self, source):
        descs = []
        for name, arr in source:
            shape = list(arr.shape)
            shape[self._axis] = self.batch_size
            descs.append(DataDesc(name, tuple(shape), arr.dtype, layout=self.layout))
        return descs

    @property
    def provide_data(self):
        """DataDescs of the data arrays, with the batch size on the batch axis."""
        return list(self._provide_data)

    @property
    def provide_label(self):
        """DataDescs of the label arrays."""
        return list(self._provide_label)

    def hard_reset(self):
        """Start over, dropping any rolled-over samples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        if self.shuffle:
            self._shuffle_data()
        if (
            self.last_batch_handle == "roll_over"
            and self.num_data - self.batch_size < self.cursor < self.num_data
        ):
            # MXNet's rule: the cached short batch opens the next epoch
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def _shuffle_data(self):
        # compose permutations exactly as MXNet, which re-gathers its shuffled copy
        np.random.shuffle(self.idx)
        self._order = self.idx.copy() if self._order is None else self._order[self.idx]

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self._axis] != self.batch_size:
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(
            data=data,
            label=label,
            pad=self.getpad(),
            index=None,
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )

    def _rows(self, source, positions):
        """Arrays of ``source`` at sample ``positions`` (a slice or an index array)."""
        from ..ndarray.ndarray import wrap

        if self._order is not None:
            positions = self._order[positions]
        out = []
        for _, arr in source:
            if arr.stype == "csr":  # rows of the csr matrix, kept sparse
                rows = positions if isinstance(positions, slice) else np.asarray(positions)
                out.append(arr[rows].copy() if isinstance(rows, slice) else arr.take_rows(rows))
                continue
            data = arr._read()
            if isinstance(positions, slice):
                index = (slice(None),) * self._axis + (positions,)
                rows = data[index].copy()
            else:
                xp = arr.context.xp
                rows = xp.take(data, xp.asarray(positions), axis=self._axis)
            out.append(wrap(rows, arr.context))
        return out

    def _concat(self, first, second):
        from ..ndarray.ndarray import wrap

        if not first or not second:
            return first if first else second
        out = []
        for a, b in zip(first, second):
            xp = a.context.xp
            out.append(wrap(xp.concatenate([a._read(), b._read()], axis=self._axis), a.context))
        return out

    def _batchify(self, source, cache):
        if self.cursor >= self.num_data:
            raise MXNetError("NDArrayIter: DataIter needs reset.")
        bs, n, cur = self.batch_size, self.num_data, self.cursor
        if self.last_batch_handle == "roll_over" and -bs < cur < 0:
            return self._concat(cache, self._rows(source, slice(0, cur + bs)))
        if self.last_batch_handle == "pad" and cur + bs > n:
            return self._rows(source, np.arange(cur, cur + bs) % n)
        return self._rows(source, slice(cur, min(cur + bs, n)))

    def getdata(self):
        data = self._batchify(self.data, self._cache_data)
        if self.last_batch_handle == "roll_over" and self.cursor < 0:
            self._cache_data = None
        return data

    def getlabel(self):
        label = self._batchify(self.label, self._cache_label)
        if self.last_batch_handle == "roll_over" and self.cursor < 0:
            self._cache_label = None
        return label

    def getpad(self):
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0
