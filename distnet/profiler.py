"""``mx.profiler``: MXNet's profiler API, writing the Chrome trace-event JSON MXNet writes.

    mx.profiler.set_config(profile_all=True, filename='profile.json')
    mx.profiler.set_state('run')
    ...                                   # train
    mx.profiler.set_state('stop')
    mx.profiler.dump()                    # profile.json: open in ui.perfetto.dev or chrome://tracing
    print(mx.profiler.dumps())            # MXNet's aggregate table per category

What is recorded (category: event names):

* ``operator``: every imperative operator by its registered name (``FullyConnected``,
  ``_mul_scalar``, ...) and, under ``autograd.backward``, each node's gradient as
  ``_backward_<op>`` (``profile_imperative``).
* ``autograd``: ``MXAutogradBackwardEx``, one span per ``backward`` call.
* ``executor``: ``MXExecutorForward`` / ``MXExecutorBackwardEx`` (Module and hybridized
  Gluon; ``profile_symbolic``). The graph's individual nodes are not split out.
* ``kvstore``: ``MXKVStoreInit``/``Push``/``Pull``/``PushPull``/``Broadcast``/``Barrier``
  (the call, which only starts a transfer) and ``KVStoreWait``: the time an NDArray read
  waited for its transfer to finish (``profile_api``).
* ``Domain``/``Task``/``Frame``/``Event``/``Counter``/``Marker`` objects, as in MXNet.

With no ``profile_*`` flag set, everything is recorded. Operators run synchronously on the
CPU, so a span is the operator's time; on a GPU it is the launch time of its kernels.

Under the launcher every worker writes its own file, the rank inserted before the
extension (``profile.json`` -> ``profile-rank1.json``); the events' ``pid`` is the rank.
Nothing is recorded unless the state is ``'run'``: the hooks check one module flag,
:data:`ON`, so a disabled profiler costs one attribute read per operator.
"""

import json
import os
import threading
import time

from .base import MXNetError

__all__ = [
    "set_config",
    "set_state",
    "get_state",
    "pause",
    "resume",
    "dump",
    "dumps",
    "Domain",
    "Task",
    "Frame",
    "Event",
    "Counter",
    "Marker",
    "profiler_set_config",
    "profiler_set_state",
    "dump_profile",
]

ON = False  # the flag every hook checks: state 'run' and not paused

_FLAGS = ("profile_all", "profile_symbolic", "profile_imperative", "profile_memory", "profile_api")
_OTHER = (
    "filename",
    "continuous_dump",
    "dump_period",
    "aggregate_stats",
    "profile_process",
    "gpu_memory_profile_filename_prefix",
)
_CONFIG = {"filename": "profile.json", "aggregate_stats": False}
_STATE = {"run": False, "paused": False, "cats": None}
# Recorded events: (ph, cat, name, t0_ns, t1_ns, tid, extra) tuples; appends are atomic.
_EVENTS = []
_AGG_FROM = [0]  # dumps(reset=True) aggregates only the events recorded since
_CLOCK = (time.perf_counter_ns(), time.time_ns())


def set_config(**kwargs):
    """Configure the profiler (MXNet's keywords): ``filename`` (default
    ``profile.json``), ``profile_all``, ``profile_symbolic``, ``profile_imperative``,
    ``profile_api``, ``profile_memory`` (accepted, nothing recorded), ``aggregate_stats``,
    ``continuous_dump``/``dump_period`` (accepted; ``dump`` writes the whole trace)."""
    for key, value in kwargs.items():
        if key not in _FLAGS + _OTHER:
            raise MXNetError(
                f"profiler.set_config: unknown argument {key!r}; expected one "
                f"of {sorted(_FLAGS + _OTHER)}"
            )
        if key == "profile_process" and value != "worker":
            raise MXNetError(
                "profiler.set_config: only profile_process='worker' is "
                f"supported (servers are not profiled), got {value!r}"
            )
        _CONFIG[key] = value
    _STATE["cats"] = _categories()
    _update_flag()


def _categories():
    """The categories the hooks record, from the profile_* flags (all when none is set)."""
    on = {f for f in _FLAGS if _CONFIG.get(f)}
    if not on or "profile_all" in on:
        return frozenset(("operator", "autograd", "executor", "kvstore"))
    cats = set()
    if "profile_imperative" in on:
        cats |= {"operator", "autograd"}
    if "profile_symbolic" in on:
        cats.add("executor")
    if "profile_api" in on:
        cats.add("kvstore")
    return frozenset(cats)


def _update_flag():
    global ON
    ON = _STATE["run"] and not _STATE["paused"]


def set_state(state="stop", profile_process="worker"):
    """Start (``'run'``) or stop (``'stop'``) recording."""
    if state not in ("run", "stop"):
        raise MXNetError(f"profiler.set_state: state must be 'run' or 'stop', got {state!r}")
    if _STATE["cats"] is None:
        _STATE["cats"] = _categories()
    _STATE["run"], _STATE["paused"] = state == "run", False
    _update_flag()


def get_state():
    """``'run'`` or ``'stop'``."""
    return "run" if _STATE["run"] else "stop"


def pause(profile_process="worker"):
    """Stop recording until :func:`resume` (the trace so far is kept)."""
    _STATE["paused"] = True
    _update_flag()


def resume(profile_process="worker"):
    """Continue recording after :func:`pause`."""
    _STATE["paused"] = False
    _update_flag()


# ------------------------------------------------------------------ hooks -------------

_TIDS = {}


def _tid():
    ident = threading.get_ident()
    tid = _TIDS.get(ident)
    if tid is None:
        tid = _TIDS.setdefault(ident, len(_TIDS))
    return tid


def _span(cat, name, t0):
    if cat in _STATE["cats"]:
        _EVENTS.append(("X", cat, name, t0, time.perf_counter_ns(), _tid(), None))


def operator(invoke, op, args, attrs, out):
    """Hook of ``nd`` operator dispatch: ``invoke`` timed as an ``operator`` span."""
    t0 = time.perf_counter_ns()
    try:
        return invoke(op, args, attrs, out, True)
    finally:
        _span("operator", op.name, t0)


def node_backward(run, node, ograds, create_graph):
    """Hook of autograd's per-node backward: a ``_backward_<op>`` operator span."""
    t0 = time.perf_counter_ns()
    try:
        return run(node, ograds, create_graph, True)
    finally:
        _span("operator", "_backward_" + node.op.name.lstrip("_"), t0)  # MXNet's names


def traced(name, cat):
    """Decorator recording each call of the function as span ``name`` in ``cat`` while
    the profiler runs (one flag check otherwise)."""

    def wrap(fn):
        def wrapper(*args, **kwargs):
            if not ON:
                return fn(*args, **kwargs)
            t0 = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                _span(cat, name, t0)

        wrapper.__name__, wrapper.__qualname__ = fn.__name__, fn.__qualname__
        wrapper.__doc__, wrapper.__wrapped__ = fn.__doc__, fn
        return wrapper

    return wrap


_KV_NAMES = {
    "init": "MXKVStoreInit",
    "push": "MXKVStorePush",
    "pull": "MXKVStorePull",
    "pushpull": "MXKVStorePushPull",
    "broadcast": "MXKVStoreBroadcast",
    "barrier": "MXKVStoreBarrier",
}


def kvstore_call(fn, args, kwargs):
    """Hook of the ``mx.kv`` adapter: the call (push/pull/...) as a ``kvstore`` span."""
    t0 = time.perf_counter_ns()
    try:
        return fn(*args, **kwargs)
    finally:
        name = _KV_NAMES.get(fn.__name__) or "MXKVStore" + "".join(
            part.capitalize() for part in fn.__name__.split("_")
        )
        _span("kvstore", name, t0)


def wait(pending):
    """Hook of an NDArray read waiting for its kvstore transfer: a ``KVStoreWait`` span."""
    t0 = time.perf_counter_ns()
    try:
        return pending.wait()
    finally:
        _span("kvstore", "KVStoreWait", t0)


# ------------------------------------------------------------------ output ------------


def _rank():
    """This worker's rank in a launcher or MPI job, else None."""
    from .config import job_rank

    return job_rank()


def _filename():
    """The configured file name, with ``-rank<r>`` before the extension in a job."""
    name, rank = _CONFIG.get("filename", "profile.json"), _rank()
    if rank is None:
        return name
    stem, ext = os.path.splitext(name)
    return f"{stem}-rank{rank}{ext}"


def _us(ns):
    """perf_counter nanoseconds -> microseconds since the epoch (MXNet's ts)."""
    return (ns - _CLOCK[0] + _CLOCK[1]) // 1000


def _trace_events(events, pid):
    """MXNet's trace: process/thread names, then B/E pairs for spans, b/e (with an id)
    for tasks and frames, C for counters, i for markers."""
    role = "worker %d" % pid if _rank() is not None else "distnet"
    out = [{"ph": "M", "args": {"name": role}, "pid": pid, "name": "process_name"}]
    out += [
        {
            "ph": "M",
            "args": {"name": "thread %d" % tid},
            "pid": pid,
            "tid": tid,
            "name": "thread_name",
        }
        for tid in sorted(set(e[5] for e in events))
    ]
    for ph, cat, name, t0, t1, tid, extra in events:
        base = {"name": name, "cat": cat, "pid": pid, "tid": tid}
        if ph == "X":
            out.append(dict(base, ph="B", ts=_us(t0)))
            out.append(dict(base, ph="E", ts=_us(t1)))
        elif ph == "b":
            out.append(dict(base, ph="b", ts=_us(t0), id=extra))
            out.append(dict(base, ph="e", ts=_us(t1), id=extra))
        elif ph == "C":
            out.append(dict(base, ph="C", ts=_us(t0), args={name: extra}))
        else:
            out.append(dict(base, ph="i", ts=_us(t0), s=extra))
    return out


def dump(finished=True, profile_process="worker"):
    """Write the trace recorded so far to the configured file (atomically), as MXNet's
    ``{"traceEvents": [...], "displayTimeUnit": "ms"}``. With ``finished`` the recorded
    events are then dropped, so a later dump starts afresh."""
    events = list(_EVENTS)
    fname = _filename()
    folder = os.path.dirname(os.path.abspath(fname))
    os.makedirs(folder, exist_ok=True)
    tmp = "%s.%d.tmp" % (fname, os.getpid())
    with open(tmp, "w") as f:
        json.dump(
            {"traceEvents": _trace_events(events, _rank() or 0), "displayTimeUnit": "ms"},
            f,
            indent=1,
        )
    os.replace(tmp, fname)
    if finished:
        del _EVENTS[: len(events)]
        _AGG_FROM[0] = max(0, _AGG_FROM[0] - len(events))
    return fname


def _aggregate():
    """{category: {name: [count, total, min, max] in ms}} of the timed events."""
    table = {}
    for ph, cat, name, t0, t1, _, _ in _EVENTS[_AGG_FROM[0] :]:
        if ph not in ("X", "b"):
            continue
        ms = (t1 - t0) / 1e6
        row = table.setdefault(cat, {}).setdefault(name, [0, 0.0, ms, ms])
        row[0] += 1
        row[1] += ms
        row[2], row[3] = min(row[2], ms), max(row[3], ms)
    return table


_SORT = {"total": 1, "count": 0, "min": 2, "max": 3, "avg": None}


def dumps(reset=False, format="table", sort_by="total", ascending=False):
    """MXNet's aggregate statistics per category, as a table (``format='table'``) or
    JSON (``'json'``); ``reset`` starts the statistics afresh (the trace is kept)."""
    if format not in ("table", "json"):
        raise MXNetError(f"profiler.dumps: format must be 'table' or 'json', got {format!r}")
    if sort_by not in _SORT:
        raise MXNetError(f"profiler.dumps: sort_by must be one of {sorted(_SORT)}, got {sort_by!r}")
    table = _aggregate()
    if reset:
        _AGG_FROM[0] = len(_EVENTS)

    def key(item):
        row = item[1]
        return row[1] / row[0] if _SORT[sort_by] is None else row[_SORT[sort_by]]

    if format == "json":
        return json.dumps(
            {
                "Time": {
                    cat: {
                        name: {
                            "Count": r[0],
                            "Total": round(r[1], 4),
                            "Min": round(r[2], 4),
                            "Max": round(r[3], 4),
                            "Avg": round(r[1] / r[0], 4),
                        }
                        for name, r in sorted(rows.items(), key=key, reverse=not ascending)
                    }
                    for cat, rows in sorted(table.items())
                },
                "Unit": {"Time": "ms"},
            },
            indent=4,
        )
    lines = ["", "Profile Statistics:", "\tNote the difference in units for different entries."]
    for cat, rows in sorted(table.items()):
        lines += [
            cat,
            "=================",
            "%-30s%11s%17s%17s%17s%17s"
            % (
                "Name",
                "Total Count",
                "Time (ms)",
                "Min Time (ms)",
                "Max Time (ms)",
                "Avg Time (ms)",
            ),
            "%-30s%11s%17s%17s%17s%17s"
            % (
                "----",
                "-----------",
                "---------",
                "-------------",
                "-------------",
                "-------------",
            ),
        ]
        for name, r in sorted(rows.items(), key=key, reverse=not ascending):
            lines.append(
                "%-30s%11d%17.4f%17.4f%17.4f%17.4f" % (name, r[0], r[1], r[2], r[3], r[1] / r[0])
            )
        lines.append("")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------- MXNet's deprecated names --------


def profiler_set_config(mode="symbolic", filename="profile.json"):
    """Deprecated MXNet name: ``set_config(profile_<mode>=True, filename=...)``
    (mode 'symbolic' or 'all')."""
    set_config(**{"profile_" + mode: True, "filename": filename})


def profiler_set_state(state="stop"):
    """Deprecated MXNet name of :func:`set_state`."""
    set_state(state)


def dump_profile():
    """Deprecated MXNet name of :func:`dump`."""
    dump(True)


# ------------------------------------------------------- user-defined events -----------


def _recording():
    return _STATE["run"] and not _STATE["paused"]


class Domain:
    """A named category for the user's own tasks, frames, counters and markers."""

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name

    def new_task(self, name):
        """A :class:`Task` in this domain."""
        return Task(self, name)

    def new_frame(self, name):
        """A :class:`Frame` in this domain."""
        return Frame(self, name)

    def new_counter(self, name, value=None):
        """A :class:`Counter` in this domain."""
        return Counter(self, name, value)

    def new_marker(self, name):
        """A :class:`Marker` in this domain."""
        return Marker(self, name)


class _Span:
    """Something with start()/stop() recorded as one span (and usable with ``with``)."""

    _PH = "X"

    def __init__(self, domain, name):
        self.domain, self.name, self._t0 = domain, name, None

    def _cat(self):
        return self.domain.name

    def start(self):
        """Begin the span."""
        self._t0 = time.perf_counter_ns()

    def stop(self):
        """End the span (recorded when the profiler runs)."""
        if self._t0 is not None and _recording():
            _EVENTS.append(
                (
                    self._PH,
                    self._cat(),
                    self.name,
                    self._t0,
                    time.perf_counter_ns(),
                    _tid(),
                    id(self) & 0xFFFFFFFF,
                )
            )
        self._t0 = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.name


class Task(_Span):
    """A span of the user's work in a Domain (an async ``b``/``e`` pair in the trace)."""

    _PH = "b"


class Frame(_Span):
    """A frame (e.g. one iteration) in a Domain, as MXNet's Frame."""

    _PH = "b"


class Event(_Span):
    """A span in category ``event`` (``B``/``E`` in the trace), as MXNet's Event."""

    def __init__(self, name):
        super().__init__(None, name)

    def _cat(self):
        return "event"


class Counter:
    """A value shown as a counter track: ``set_value``, ``increment``, ``decrement``,
    ``+=`` and ``-=``."""

    def __init__(self, domain, name, value=None):
        self.domain, self.name, self.value = domain, name, 0
        if value is not None:
            self.set_value(value)

    def set_value(self, value):
        """Set the counter (recorded when the profiler runs)."""
        self.value = value
        if _recording():
            _EVENTS.append(
                ("C", self.domain.name, self.name, time.perf_counter_ns(), 0, _tid(), value)
            )

    def increment(self, delta=1):
        """Add ``delta``."""
        self.set_value(self.value + delta)

    def decrement(self, delta=1):
        """Subtract ``delta``."""
        self.set_value(self.value - delta)

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


class Marker:
    """An instant event in a Domain."""

    def __init__(self, domain, name):
        self.domain, self.name = domain, name

    def mark(self, scope="process"):
        """Record the instant; ``scope`` is 'global', 'process' or 'thread'."""
        scopes = {"global": "g", "process": "p", "thread": "t"}
        if scope not in scopes:
            raise MXNetError(f"Marker.mark: scope must be one of {sorted(scopes)}, got {scope!r}")
        if _recording():
            _EVENTS.append(
                (
                    "i",
                    self.domain.name + ",instant_marker",
                    self.name,
                    time.perf_counter_ns(),
                    0,
                    _tid(),
                    scopes[scope],
                )
            )
