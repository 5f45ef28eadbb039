"""The Updater (``updater(index, grad, weight)``, what kvstores and Module call) and its
states format.

States are msgpack, never pickle::

    {"format": "distnet-optimizer-states", "version": 1,
     "states": [[key, state], ...],          # key: int or str; ints, then strs, sorted
     "counters": {"num_update": n, "devices": [[device_id, [[key, count], ...]], ...],
                  "runtime": {...}},          # e.g. Nadam's m_schedule
     "optimizer": [name, hyperparams] | None} # only with dump_optimizer=True

where a state is ``None``, a number, ``["nd", dtype_str, shape, raw_bytes]`` (C order,
little-endian numpy dtype string such as ``"<f4"``), ``["tuple", [...]]`` or
``["list", [...]]``. Unlike MXNet, update counters are saved too, so Adam's bias
correction and learning-rate schedules continue where they were after a reload.
"""

import math

import msgpack
import numpy as np

from ..base import MXNetError
from .optimizer import Optimizer

__all__ = ["Updater", "get_updater", "read_states_file"]

FORMAT = "distnet-optimizer-states"
VERSION = 1
_ALLOWED_KINDS = "biuf"  # bool, signed, unsigned, float


class Updater:
    """Runs ``optimizer`` on (index, grad, weight), creating states on first sight.

    ``updater(index, grad, weight)`` updates ``weight`` in place; ``index``, ``grad`` and
    ``weight`` may also be equal-length lists (Module's aggregated call).
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise MXNetError(f"Updater needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        opt = self.optimizer
        if not isinstance(index, (list, tuple)):
            if isinstance(index, bytes):
                index = index.decode()
            opt._set_current_context(weight.context.device_id)
            state = self._state(index, weight)
            opt.update_multi_precision(index, weight, grad, state)
            return
        indices = [i.decode() if isinstance(i, bytes) else i for i in index]
        if len(indices) != len(grad) or len(indices) != len(weight):
            raise MXNetError(
                f"updater: {len(indices)} indices but {len(grad)} gradients "
                f"and {len(weight)} weights"
            )
        if not indices:
            return
        opt._set_current_context(weight[0].context.device_id)
        states = [self._state(i, w) for i, w in zip(indices, weight)]
        opt.update_multi(indices, list(weight), list(grad), states)

    def _state(self, index, weight):
        state = self.states.get(index, _MISSING)
        if state is _MISSING:
            state = self.states[index] = self.optimizer.create_state_multi_precision(index, weight)
            self.states_synced[index] = True
        elif not self.states_synced.get(index, True):
            state = self.states[index] = self.sync_state_context(state, weight.context)
            self.states_synced[index] = True
        return state

    def sync_state_context(self, state, context):
        """``state`` with its arrays moved to ``context``."""
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        if hasattr(state, "as_in_context"):
            return state.as_in_context(context)
        return state

    def get_states(self, dump_optimizer=False):
        """The states (and update counters; the optimizer's description too when
        ``dump_optimizer``) as msgpack bytes; see the module docstring."""
        opt = self.optimizer
        blob = {
            "format": FORMAT,
            "version": VERSION,
            "states": [[_key(k), _encode(v, k)] for k, v in _sorted(self.states)],
            "counters": _counters(opt),
            "optimizer": list(opt.describe()) if dump_optimizer else None,
        }
        return msgpack.packb(blob, use_bin_type=True)

    def set_states(self, states):
        """Load what ``get_states`` wrote (a rebuilt optimizer replaces this one when the
        blob carries one). Garbage raises MXNetError saying what is wrong."""
        blob = _unpack(states)
        optimizer = self.optimizer
        if blob["optimizer"] is not None:
            desc = blob["optimizer"]
            if not (isinstance(desc, list) and len(desc) == 2 and isinstance(desc[1], dict)):
                raise MXNetError("optimizer states: 'optimizer' must be [name, hyperparams]")
            optimizer = _rebuild(desc)
            optimizer.param_dict = self.optimizer.param_dict
        decoded = {}
        for entry in blob["states"]:
            if not (isinstance(entry, list) and len(entry) == 2):
                raise MXNetError(
                    f"optimizer states: bad entry {entry!r:.80}; expected [key, state]"
                )
            key = entry[0]
            if not isinstance(key, (int, str)) or isinstance(key, bool):
                raise MXNetError(f"optimizer states: key {key!r} is not an int or str")
            if key in decoded:
                raise MXNetError(f"optimizer states: key {key!r} appears twice")
            decoded[key] = _decode(entry[1], key)
        # validated in full before anything changes: a bad blob leaves this updater as it was
        counters = _parse_counters(optimizer, blob["counters"])
        if counters is not None:
            _apply_counters(optimizer, *counters)
        self.optimizer = optimizer
        self.aggregate_updates = optimizer.aggregate_num > 0
        self.states = decoded
        self.states_synced = dict.fromkeys(decoded, False)


_MISSING = object()


def read_states_file(fname, caller):
    """The bytes of an optimizer-states file; an unreadable file is an MXNetError naming
    ``caller`` and the file."""
    try:
        with open(fname, "rb") as f:
            return f.read()
    except OSError as err:
        raise MXNetError(f"{caller}: cannot read {fname!r}: {err.strerror}") from None


def get_updater(optimizer):
    """The Updater of ``optimizer`` (MXNet's closure for kvstores)."""
    return Updater(optimizer)


def _key(k):
    """A state key as msgpack keeps it apart: int (numpy ints too) or str."""
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        return int(k)
    if isinstance(k, str):
        return k
    raise MXNetError(f"optimizer states: key {k!r} is not an int or str")


def _encode(state, key):
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    if isinstance(state, tuple):
        return ["tuple", [_encode(s, key) for s in state]]
    if isinstance(state, list):
        return ["list", [_encode(s, key) for s in state]]
    data = getattr(state, "_data", None)
    if data is None and isinstance(state, np.ndarray):
        data = state
    if data is None:
        raise MXNetError(
            f"optimizer states: cannot save state of key {key!r}: type "
            f"{type(state).__name__} (expected NDArrays, tuples, numbers)"
        )
    arr = state.asnumpy() if hasattr(state, "asnumpy") else np.asarray(data)
    arr = np.ascontiguousarray(arr)
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    return ["nd", dt.str, list(arr.shape), arr.astype(dt, copy=False).tobytes()]


def _rebuild(desc):
    """The optimizer a states blob describes; any failure (unknown name, bad or unknown
    hyperparameters) is an MXNetError naming it."""
    try:
        return Optimizer.from_description(desc)
    except MXNetError as err:
        raise MXNetError(f"optimizer states: cannot rebuild the optimizer: {err}") from None
    except Exception as err:  # a constructor given wrong types raises anything
        raise MXNetError(
            f"optimizer states: cannot rebuild optimizer {desc[0]!r:.40} "
            f"from its hyperparameters: {type(err).__name__}: {err}"
        ) from None


_MAX_DEPTH = 8  # states are arrays, or tuples of them (multi-precision: two levels)


def _decode(obj, key, depth=0):
    if depth > _MAX_DEPTH:
        raise MXNetError(
            f"optimizer states: state of key {key!r} is nested more than {_MAX_DEPTH} levels deep"
        )
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if not (isinstance(obj, list) and obj and isinstance(obj[0], str)):
        raise MXNetError(
            f"optimizer states: state of key {key!r} is malformed ({type(obj).__name__})"
        )
    tag = obj[0]
    if tag in ("tuple", "list") and len(obj) == 2 and isinstance(obj[1], list):
        items = [_decode(s, key, depth + 1) for s in obj[1]]
        return tuple(items) if tag == "tuple" else items
    if tag == "nd" and len(obj) == 4:
        return _decode_array(obj, key)
    raise MXNetError(f"optimizer states: state of key {key!r} has unknown tag {tag!r}")


def _decode_array(obj, key):
    from ..ndarray import array

    _, dtype, shape, buf = obj
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise MXNetError(f"optimizer states: key {key!r} has bad dtype {dtype!r}") from err
    if dt.kind not in _ALLOWED_KINDS or not isinstance(buf, bytes):
        raise MXNetError(
            f"optimizer states: key {key!r} has unsupported dtype {dtype!r} or non-binary data"
        )
    if not (
        isinstance(shape, list)
        and len(shape) <= 32
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise MXNetError(f"optimizer states: key {key!r} has bad shape {shape!r:.80}")
    expected = math.prod(shape) * dt.itemsize  # Python ints: crafted dims cannot wrap
    if len(buf) != expected:
        raise MXNetError(
            f"optimizer states: key {key!r} shape {tuple(shape)} {dt} needs "
            f"{expected} bytes, got {len(buf)}"
        )
    return array(np.frombuffer(buf, dt).reshape(shape), dtype=dt.newbyteorder("="))


def _sorted(table):
    """``table``'s items ordered by key (ints before strs): the bytes of a states blob do
    not depend on which key a server happened to see first."""
    return sorted(table.items(), key=lambda kv: (isinstance(kv[0], str), kv[0]))


def _counters(opt):
    devices = [
        [dev, [[_key(k), int(c)] for k, c in _sorted(counts)]]
        for dev, counts in sorted(opt._all_index_update_counts.items())
    ]
    runtime = {k: _plain_runtime(v) for k, v in opt._runtime_state().items()}
    return {"num_update": int(opt.num_update), "devices": devices, "runtime": runtime}


def _plain_runtime(v):
    return v.item() if hasattr(v, "item") else v


def _parse_counters(opt, counters):
    """(num_update, per-device counts, runtime state) of a 'counters' section, validated
    for ``opt``; None when the blob has none."""
    if counters is None:
        return None
    try:
        num_update = int(counters["num_update"])
        devices = {
            int(dev): {_key(k): int(c) for k, c in pairs} for dev, pairs in counters["devices"]
        }
        runtime = dict(counters.get("runtime") or {})
    except (KeyError, TypeError, ValueError, AttributeError, MXNetError) as err:
        raise MXNetError(f"optimizer states: malformed 'counters' section ({err})") from None
    bad = [
        k
        for k, v in runtime.items()
        if not isinstance(v, (int, float, type(None)))
        or isinstance(v, bool)
        or k not in opt._runtime_attrs
    ]
    if bad:
        raise MXNetError(
            f"optimizer states: 'counters.runtime' entries {bad!r:.80} are not "
            f"numeric runtime state of {type(opt).__name__}"
        )
    return num_update, devices, runtime


def _apply_counters(opt, num_update, devices, runtime):
    opt.num_update = num_update
    opt._all_index_update_counts = devices
    opt._index_update_count = devices.setdefault(0, {})
    opt._set_runtime_state(runtime)


def _unpack(data):
    if isinstance(data, bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise MXNetError(f"optimizer states must be bytes, got {type(data).__name__}")
    if data[:1] == b"\x80":
        raise MXNetError(
            "optimizer states: this looks like a Python pickle (as MXNet's "
            ".states files are); distnet never loads pickles - re-save the "
            "states with distnet"
        )
    try:
        blob = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as err:  # msgpack raises several unrelated types on garbage
        raise MXNetError(
            f"optimizer states: not a distnet optimizer states blob "
            f"(msgpack: {type(err).__name__}: {err})"
        ) from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise MXNetError(
            "optimizer states: not a distnet optimizer states blob (missing "
            f"format marker {FORMAT!r})"
        )
    if blob.get("version") != VERSION:
        raise MXNetError(
            f"optimizer states: unsupported version {blob.get('version')!r}; "
            f"this distnet reads version {VERSION}"
        )
    if not isinstance(blob.get("states"), list):
        raise MXNetError("optimizer states: 'states' must be a list of [key, state]")
    blob.setdefault("optimizer", None)
    blob.setdefault("counters", None)
    return blob
