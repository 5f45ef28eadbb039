"""Row-sparse pushes and pulls in 'dist_sync' / 'dist_async' (both sides).

A key initialised from a row_sparse array is planned by row ranges: one server holds it
whole, or (over DISTNET_KVSTORE_BIGARRAY_BOUND elements) each server holds an even range
of whole rows. A worker's row push sends each server only the rows of its range, a row
pull asks each server only for the rows wanted: bytes on the wire follow the rows
touched, never the table.

Wire: op 'push_rows' carries one uint8 frame, the part-local row ids (int64, sorted,
unique) followed by the rows' raw values; meta 'n' gives the row count. In sync mode every
worker that is still in the job sends each part one push per round (possibly with no
rows): the server sums the round's rows in rank order (bitwise reproducible) and applies
them once, through the optimizer's lazy update or, without an optimizer, by making the
table those rows (as MXNet's servers do). Op 'pull_rows' carries the row ids; the reply is
the rows, sent after the round this worker pushed last (sync) or at once (async).
"""

import mmap

import numpy as np

from . import protocol as P
from ..base import KVStoreError, pairs
from ..rowsparse import COMPRESSION_ERROR, RowSparse, check_rows, merge

_I8 = np.dtype("<i8")
#: Payload bytes of this process's row pushes and pulls (array frames: row ids and rows),
#: for benchmarks: bytes on the wire follow the rows touched.
WIRE = {"sent": 0, "received": 0}


# ---------------------------------------------------------------- worker side
def plan_rows(key, shape, num_servers, bound, server_of):
    """[(server, start, stop)] flat element ranges made of whole rows."""
    rows = shape[0] if shape else 1
    row_len = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    if rows * row_len > bound and num_servers > 1 and rows >= num_servers:
        edges = np.linspace(0, rows, num_servers + 1).astype(np.int64) * row_len
        return [(i, int(edges[i]), int(edges[i + 1])) for i in range(num_servers)]
    return [(server_of(key, num_servers), 0, rows * row_len)]


def _row_len(meta):
    return int(np.prod(meta.shape[1:])) if len(meta.shape) > 1 else 1


def _pack(rows, values):
    rows = np.ascontiguousarray(rows, dtype=_I8)
    vals = np.ascontiguousarray(values)
    return np.concatenate([rows.view(np.uint8), vals.reshape(-1).view(np.uint8)])


def push_rows(store, key, value, priority=0):
    """Send each server the rows of its range; returns the Group of the pushes."""
    from .io import Group

    if store._compression is not None:
        raise KVStoreError(f"push of key {key!r}: {COMPRESSION_ERROR}")
    handles = []
    for k, vals in pairs(key, value):
        meta = store._key_meta(k, "push")
        for v in vals:
            check_rows(k, meta.shape, meta.dtype, v, "push")
        merged = merge(vals, True)
        if not aligned(meta):  # a dense key split mid-row: push it dense
            handles.append(store.push(k, _dense(merged, meta), priority))
            continue
        rounds = store.__dict__.setdefault("_row_rounds", {})
        rounds[k] = rounds.get(k, 0) + 1
        start, row_len = len(handles), _row_len(meta)
        for part, (srv, a, b) in enumerate(meta.plan):
            lo, hi = np.searchsorted(merged.rows, [a // row_len, b // row_len])
            payload = _pack(merged.rows[lo:hi] - a // row_len, merged.values[lo:hi])
            WIRE["sent"] += payload.nbytes
            extra = {"rank": store.rank, "sync": store._sync, "n": int(hi - lo), "row_len": row_len}
            handles.append(
                store._request(
                    srv,
                    "push_rows",
                    f"row_sparse push of key {k!r} to {store._peer(srv)}",
                    priority,
                    key=k,
                    part=part,
                    rnd=rounds[k],
                    array=payload,
                    meta=extra,
                )
            )
        meta.last_push, meta.push_priority = Group(handles[start:]), priority
    return Group(handles)


def init_rows(store, key, value):
    """Record the keys (planned by whole rows); rank 0 sends each server the shape of its
    range and the initial rows in it; then all workers barrier."""
    from .client import _Meta
    from .io import Group

    handles = []
    row_keys = store.__dict__.setdefault("_row_keys", set())
    for k, vals in pairs(key, value):
        if k in store._meta:
            raise KVStoreError(f"init of key {k!r}: the key is already initialised")
        v = merge(vals[:1], True)
        row_keys.add(k)
        dt = np.dtype(v.values.dtype)
        meta = store._meta[k] = _Meta(tuple(v.shape), dt, store._plan(k, _Shape(v)))
        if store.rank == 0:
            handles.extend(_send_init(store, k, v, meta))
    Group(handles).wait()
    store.barrier()


class _Shape:
    """What DistStore._plan reads of a value: its shape and size (no array needed)."""

    __slots__ = ("shape", "size")

    def __init__(self, v):
        self.shape = tuple(v.shape)
        self.size = int(np.prod(self.shape))


def _send_init(store, k, v, meta):
    row_len = _row_len(meta)
    handles = []
    for part, (srv, a, b) in enumerate(meta.plan):
        lo, hi = np.searchsorted(v.rows, [a // row_len, b // row_len])
        shape = list(meta.shape) if len(meta.plan) == 1 else [b - a]
        extra = {
            "rank": 0,
            "n": int(hi - lo),
            "row_len": row_len,
            "shape": shape,
            "dtype": meta.dtype.name,
        }
        handles.append(
            store._request(
                srv,
                "init_rows",
                f"init of key {k!r} on {store._peer(srv)}",
                key=k,
                part=part,
                array=_pack(v.rows[lo:hi] - a // row_len, v.values[lo:hi]),
                meta=extra,
            )
        )
    return handles


def aligned(meta):
    """Whether every server of the key holds whole rows (row_sparse keys always do)."""
    row_len = _row_len(meta)
    return all(a % row_len == 0 and b % row_len == 0 for _, a, b in meta.plan)


def _dense(merged, meta):
    out = np.zeros(meta.shape, meta.dtype)
    out[merged.rows] = merged.values
    return out


def pull_all(store, key, out):
    """Pull the whole value of ``key`` into ``out`` after this worker's row pushes are
    applied: as all rows (sync rounds of row pushes are counted apart from dense ones)."""
    from ..base import copy_into

    meta = store._key_meta(key, "pull")
    if not aligned(meta):
        return store.pull(key, out).wait()
    copy_into(out, pull_rows(store, key, np.arange(meta.shape[0] if meta.shape else 1)))


def pull_rows(store, key, row_ids):
    """The rows ``row_ids`` (sorted unique int64) of ``key``, from the servers holding
    them (after this worker's last row push is applied, in sync mode)."""
    from .client import _Op

    meta = store._key_meta(key, "row_sparse_pull")
    if meta.last_push is not None and not meta.last_push.done:
        meta.last_push.wait()
    row_ids = np.asarray(row_ids, dtype=np.int64)
    row_len = _row_len(meta)
    out = np.empty((row_ids.shape[0],) + tuple(meta.shape[1:]), meta.dtype)
    flat = out.reshape(row_ids.shape[0], row_len)
    todo = []
    for part, (srv, a, b) in enumerate(meta.plan):
        lo, hi = (int(i) for i in np.searchsorted(row_ids, [a // row_len, b // row_len]))
        if hi > lo:
            todo.append((part, srv, a // row_len, lo, hi))
    if not todo:
        return out
    h = _Op(len(todo), f"row_sparse_pull of key {key!r}", store.cfg.timeout)
    rnd = store.__dict__.get("_row_rounds", {}).get(key, 0)
    for part, srv, row0, lo, hi in todo:
        WIRE["sent"] += (hi - lo) * 8
        store._request(
            srv,
            "pull_rows",
            f"row_sparse_pull of key {key!r} from {store._peer(srv)}",
            0,
            _filler(key, flat, lo, hi, row_len),
            handle=h,
            key=key,
            part=part,
            rnd=rnd,
            array=(row_ids[lo:hi] - row0).view(np.uint8),
            meta={"rank": store.rank, "sync": store._sync, "row_len": row_len},
        )
    h.wait()
    return out


def _filler(key, flat, lo, hi, row_len):
    def on_reply(msg):
        src = msg.array
        if src is None or src.size != (hi - lo) * row_len:
            raise KVStoreError(f"reply of {msg.sender} does not fit the rows of key {key!r}")
        flat[lo:hi] = src.reshape(hi - lo, row_len)
        WIRE["received"] += src.nbytes

    return on_reply


# ---------------------------------------------------------------- server side
class _RowRounds:
    """Row pushes of one key part: sync rounds received and pulls waiting for them."""

    __slots__ = ("round", "rounds", "waiting")

    def __init__(self):
        self.round, self.rounds, self.waiting = 0, {}, []


def _state(server, msg):
    states = server.__dict__.setdefault("row_rounds", {})
    return states.setdefault((msg.key, msg.part), _RowRounds())


def _table(slot, row_len, writable=False):
    value = slot.writable_value() if writable else slot.value
    return value.reshape(-1, row_len)


def _msg_row_len(msg, slot):
    """The row length the worker's plan uses, checked against the part held here."""
    row_len = msg.meta.get("row_len")
    if (
        not isinstance(row_len, int)
        or isinstance(row_len, bool)
        or row_len <= 0
        or slot.value.size % row_len
    ):
        raise KVStoreError(
            f"{msg.op} of key {msg.key!r} (part {msg.part}): row length "
            f"{row_len!r} does not divide the {slot.value.size} values held"
        )
    return row_len


def _unpack(msg, slot):
    """(local row ids, rows, row length) of a push_rows message, checked."""
    n, row_len = msg.meta.get("n"), _msg_row_len(msg, slot)
    arr, itemsize = msg.array, slot.value.dtype.itemsize
    if (
        not isinstance(n, int)
        or n < 0
        or arr is None
        or arr.dtype != np.uint8
        or arr.size != n * 8 + n * row_len * itemsize
    ):
        raise KVStoreError(
            f"push of key {msg.key!r} (part {msg.part}): malformed row_sparse "
            f"payload for {n!r} rows of {row_len} {slot.value.dtype} values"
        )
    raw = arr.reshape(-1)
    rows = raw[: n * 8].view(_I8).astype(np.int64)
    vals = raw[n * 8 :].view(slot.value.dtype).reshape(n, row_len)
    _check_ids(msg, rows, slot.value.size // row_len)
    return rows, vals, row_len


def _check_ids(msg, rows, nrows):
    if rows.size and (rows.min() < 0 or rows.max() >= nrows):
        raise KVStoreError(
            f"{msg.op} of key {msg.key!r} (part {msg.part}): row ids must be "
            f"in [0, {nrows}), got [{int(rows.min())}, {int(rows.max())}]"
        )


def on_init_rows(server, ident, msg):
    """Allocate a part (zeros of meta 'shape' and 'dtype') and set the rows sent."""
    from .rounds import Slot

    shape, dtype = msg.meta.get("shape"), msg.meta.get("dtype")
    if (
        not isinstance(shape, list)
        or len(shape) > P.MAX_DIMS
        or dtype not in P.DTYPES
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise KVStoreError(f"init of key {msg.key!r}: malformed row_sparse init")
    if (msg.key, msg.part) in server.slots:
        return server._reply(ident, msg.rid)  # rank 0's value wins
    slot = Slot(_zeros(shape, np.dtype(dtype)))
    rows, vals, row_len = _unpack(msg, slot)
    _table(slot, row_len)[rows] = vals
    server.slots[(msg.key, msg.part)] = slot
    server._reply(ident, msg.rid)


def _zeros(shape, dtype, big=64 << 20):
    """A zero table whose pages are touched only as rows are: numpy asks the kernel for
    transparent huge pages on big arrays, and then the first rows written fault in (and
    zero) 2 MiB each - for a 10M x 64 table most of it at the first push, seconds in which
    the server misses its heartbeats. An anonymous mapping without huge pages costs what
    the rows touched cost."""
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes < big:
        return np.zeros(shape, dtype)
    mm = mmap.mmap(-1, nbytes)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        mm.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(mm, dtype).reshape(shape)  # the array keeps the mapping alive


def on_push_rows(server, ident, msg):
    """A worker's rows for one part: applied at once (async) or in its sync round."""
    slot = server._slot(msg, "push_rows")
    rows, vals, row_len = _unpack(msg, slot)
    rank = msg.meta.get("rank")
    if not msg.meta.get("sync", True):
        server._reply(ident, msg.rid)
        return _apply(server, msg.key, slot, rows, vals.copy(), row_len)
    st = _state(server, msg)
    got = st.rounds.get(msg.round, {})
    if msg.round <= st.round or rank in got:
        raise KVStoreError(
            f"row_sparse push of key {msg.key!r}: round {msg.round} from "
            f"worker {rank} was already applied or received"
        )
    st.rounds.setdefault(msg.round, {})[rank] = (rows, vals.copy(), row_len)
    server._reply(ident, msg.rid)
    try_rounds(server, msg.key, msg.part)


def try_rounds(server, key, part):
    """Apply every complete sync round of a part, then answer the pulls waiting."""
    st = server.__dict__.get("row_rounds", {}).get((key, part))
    slot = server.slots.get((key, part))
    if st is None or slot is None:
        return
    while True:
        got = st.rounds.get(st.round + 1)
        if got is None or not got or not server.active.issubset(got):
            break
        del st.rounds[st.round + 1]
        st.round += 1
        ranks = sorted(got)
        row_len = got[ranks[0]][2]
        summed = merge([RowSparse(got[r][0], got[r][1], (0,)) for r in ranks], True)
        _apply(server, key, slot, summed.rows, summed.values, row_len)
    still = []
    for rnd, ident, rid, rows in st.waiting:
        if rnd <= st.round:
            _send_rows(server, slot, ident, rid, rows, key)
        else:
            still.append((rnd, ident, rid, rows))
    st.waiting = still


def _apply(server, key, slot, rows, vals, row_len):
    from ..updaters import summed_only

    table = _table(slot, row_len, writable=True)
    try:
        if server.updater is None or summed_only(key):
            table[...] = 0
            table[rows] = vals
        else:
            server.updater(key, RowSparse(rows, vals, table.shape), table)
    except Exception as e:  # noqa: BLE001 - reported to the pullers, server serves on
        P.log.exception("%s: optimizer update of key %r failed", server.name(), key)
        slot.error = f"optimizer update of key {key!r} failed: {type(e).__name__}: {e}"


def on_pull_rows(server, ident, msg):
    """Answer with the rows asked for (after the worker's round, in sync mode)."""
    slot = server._slot(msg, "pull_rows")
    arr = msg.array
    if arr is None or arr.dtype != np.uint8 or arr.size % 8:
        raise KVStoreError(f"row_sparse_pull of key {msg.key!r}: malformed row ids")
    rows = arr.reshape(-1).view(_I8).astype(np.int64)
    row_len = _msg_row_len(msg, slot)
    _check_ids(msg, rows, slot.value.size // row_len)
    st = _state(server, msg)
    if msg.meta.get("sync", True) and msg.round > st.round:
        st.waiting.append((msg.round, ident, msg.rid, (rows, row_len)))
    else:
        _send_rows(server, slot, ident, msg.rid, (rows, row_len), msg.key)


def _send_rows(server, slot, ident, rid, rows_len, key):
    if slot.error:
        return server._error(ident, rid, slot.error)
    rows, row_len = rows_len
    server._reply(ident, rid, _table(slot, row_len)[rows])


def on_worker_left(server):
    """A worker left: rounds that waited only for it can complete now."""
    for key, part in list(server.__dict__.get("row_rounds", {})):
        try_rounds(server, key, part)
