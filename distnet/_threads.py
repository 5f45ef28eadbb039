"""distnet's BLAS/OpenMP thread policy: threads when the cores are free, one when they are not.

numpy's OpenBLAS starts one thread per core and lets idle threads spin. With other busy
processes on the same cores (a shared machine, DataLoader workers, a kvstore server on the
host) those threads wait on each other and throughput collapses: the Module MLP at batch
64 measured 2.5k-6.5k samples/s with the default pool against 85k-108k single-threaded
under the same load (issue 15), and one 256x784x128 product 9-15 ms on two threads
against 1.1 ms on one. On idle cores the pool is worth having (the same MLP at batch 256
lost a quarter of its speed single-threaded). So the policy looks at the cores:

* it measures how many of this process's cores other processes keep busy: the busy time
  of those CPUs in ``/proc/stat`` less this process's own CPU time, over intervals of at
  least :data:`SAMPLE_SECONDS` (checked when a product is about to run, so a process that
  does not multiply reads nothing; non-Linux systems use the load average instead);
* the cores count as free only when every one of the last :data:`WINDOW` intervals left
  them free (:func:`free_cores`): one busy interval drops the pool at once, returning to
  it needs about ``WINDOW * SAMPLE_SECONDS`` of quiet, because a thread that shares its
  core stalls every product (tens of times slower) while a missed pool costs at most the
  thread count;
* with all cores free every product may use the pool (OpenBLAS itself keeps tiny products
  on one thread); with some busy, products below ``DISTNET_BLAS_SMALL_MACS`` multiply-adds
  run on one thread and larger ones on the free cores (:func:`threads_for`);
* ``cap`` bounds everything: the cores this process may run on, lowered by
  ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` when they are set (by
  the user, or by ``distnet-launch``, which splits a host's cores among its local workers)
  and by ``DISTNET_BLAS_THREADS``; ``DISTNET_BLAS_THREADS=off`` leaves every library
  exactly as it loaded.

It acts through ``threadpoolctl`` (the thread-pool control library of scikit-learn), on
the first heavy operator call, never at import; the operators call :func:`for_gemm` just
before each matrix product. Without threadpoolctl installed the libraries keep their
defaults, and one warning says so.
"""

import logging
import os
import time

_log = logging.getLogger(__name__)

#: Variables through which users and the launcher cap thread pools (read, never written).
CAP_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: When some cores are busy, products with fewer multiply-adds run single-threaded: every
#: MLP layer up to batch 512 (512 x 784 x 128 = 51M) and every per-sample convolution
#: product, whose threads would synchronise every few hundred microseconds.
DEFAULT_SMALL_MACS = 1 << 26
#: Shortest interval over which the load is measured (a tick is 10 ms: shorter intervals
#: would be mostly rounding).
SAMPLE_SECONDS = 0.2
#: How many recent intervals must all have left the cores free before the pool is used.
WINDOW = 3
#: A core counts as free when other processes used at most this fraction of it (spares the
#: pool from kernel threads and tick rounding, not from a real competitor).
SLACK = 0.2


def read_settings(environ=None):
    """The environment variables of the policy, parsed: ``{'mode': 'auto'|'off',
    'cap': int, 'small_macs': int}``. Invalid values raise ``MXNetError`` naming the
    variable."""
    from .base import MXNetError

    if environ is None:
        from .config import raw

        environ = raw(CAP_VARS + ("DISTNET_BLAS_THREADS", "DISTNET_BLAS_SMALL_MACS"))
    env = environ
    cap = len(_our_cpus()) or os.cpu_count() or 1
    for var in CAP_VARS + ("DISTNET_BLAS_THREADS",):
        raw = env.get(var, "").strip()
        if not raw or (var == "DISTNET_BLAS_THREADS" and raw.lower() in ("auto", "off")):
            continue
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise MXNetError(
                f"{var}={raw!r}: expected a positive number of threads"
                + (" or 'auto'/'off'" if var == "DISTNET_BLAS_THREADS" else "")
            )
        cap = min(cap, value)
    mode = "off" if env.get("DISTNET_BLAS_THREADS", "").strip().lower() == "off" else "auto"
    raw = env.get("DISTNET_BLAS_SMALL_MACS", "").strip()
    try:
        small = int(raw) if raw else DEFAULT_SMALL_MACS
    except ValueError:
        small = -1
    if small < 0:
        raise MXNetError(
            f"DISTNET_BLAS_SMALL_MACS={raw!r}: expected a non-negative number of multiply-adds"
        )
    return {"mode": mode, "cap": cap, "small_macs": small}


# ------------------------------------------------------------ the decision (pure) -----


def others_busy(before, after, own_seconds, wall_seconds):
    """Cores that other processes kept busy between two readings of this process's CPUs.

    ``before``/``after``: ``(busy ticks, all ticks, cpus)`` summed over the CPUs this
    process may run on (:func:`read_cpu_ticks`); ``own_seconds``: this process's CPU time
    in the interval (all its threads); ``wall_seconds``: the interval. Never negative.
    """
    total = after[1] - before[1]
    if total <= 0 or wall_seconds <= 0:
        return 0.0
    busy_cores = after[2] * (after[0] - before[0]) / total
    return max(0.0, busy_cores - own_seconds / wall_seconds)


def free_cores(cap, recent_others, window=WINDOW, slack=SLACK):
    """Cores this process can use without sharing: ``cap`` less the busiest of the last
    ``window`` intervals' :func:`others_busy` (a core used up to ``slack`` by others still
    counts as free), at least 1. With fewer than ``window`` intervals measured: 1."""
    if len(recent_others) < window:
        return 1
    recent_others = recent_others[-window:]
    return max(1, min(cap, int(cap - max(recent_others) + slack)))


def threads_for(macs, cap, free, small_macs):
    """BLAS threads for a product of ``macs`` multiply-adds: the pool (``cap``) when every
    core is free, else one thread below ``small_macs`` and the ``free`` cores above."""
    if free >= cap:
        return cap
    if macs < small_macs:
        return 1
    return max(1, min(free, cap))


# ------------------------------------------------------------ measuring the load ------


def _our_cpus():
    """The CPUs this process may run on (a set of indices; empty where unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return os.sched_getaffinity(0)
    return set()


def read_cpu_ticks(cpus, path="/proc/stat"):
    """``(busy ticks, all ticks, number of cpus)`` summed over ``cpus`` from ``path``
    (idle and iowait count as not busy; guest time is already inside user time), or None
    where the file cannot be read (non-Linux)."""
    busy = total = n = 0
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
    except OSError:
        return None
    for line in lines[1:]:
        if not line.startswith(b"cpu"):
            break
        fields = line.split()
        if int(fields[0][3:]) not in cpus:
            continue
        ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        total += sum(ticks)
        busy += sum(ticks) - ticks[3] - ticks[4]
        n += 1
    return (busy, total, n) if n else None


class _Load:
    """The recent :func:`others_busy` figures of this process's CPUs, re-measured when a
    product asks and the last reading is at least ``SAMPLE_SECONDS`` old."""

    def __init__(self, cpus):
        self.cpus = cpus
        self.recent = []
        self._last = None  # (wall, own CPU seconds, ticks) at the last reading

    def _read(self):
        return (time.monotonic(), time.process_time(), read_cpu_ticks(self.cpus))

    def update(self):
        """Take a reading if one is due; True when the figures changed."""
        last = self._last
        if last is not None and time.monotonic() - last[0] < SAMPLE_SECONDS:
            return False
        reading = self._read()
        self._last = reading
        if last is None:
            return False
        wall, own = reading[0] - last[0], reading[1] - last[1]
        if reading[2] is not None and last[2] is not None:
            others = others_busy(last[2], reading[2], own, wall)
        elif hasattr(os, "getloadavg"):  # no /proc/stat: the load average (a minute's memory)
            others = max(0.0, os.getloadavg()[0] - own / wall)
        else:  # nothing to measure with: count the cores as busy
            others = float(len(self.cpus) or 1)
        self.recent = (self.recent + [others])[-WINDOW:]
        return True


class _Policy:
    """The applied policy: BLAS pool controllers, the load, the thread count last set."""

    def __init__(self, settings):
        self.settings = settings
        self.small = settings["small_macs"]
        self.cores = settings["cap"]
        self.free = 1  # until the load has been measured
        self.due = 0.0 if self.cores > 1 else float("inf")  # time of the next reading
        self.blas = []
        self.current = None
        self.load = _Load(_our_cpus())
        if settings["mode"] == "off":
            _log.debug("BLAS thread policy off (DISTNET_BLAS_THREADS=off)")
            self.small = None
            return
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _log.warning(
                "threadpoolctl is not installed: numpy's BLAS keeps one spinning "
                "thread per core, which collapses under contention; pip install "
                "threadpoolctl (or set OPENBLAS_NUM_THREADS=1)"
            )
            self.small = None
            return
        pools = ThreadpoolController()
        self.blas = [lib for lib in pools.lib_controllers if lib.user_api == "blas"]
        for lib in pools.lib_controllers:  # OpenMP pools: the cap once, no per-call switch
            if lib.user_api != "blas" and lib.num_threads > self.cores:
                lib.set_num_threads(self.cores)
        _log.debug(
            "BLAS thread policy: up to %d threads while the cores are free, 1 below %d "
            "multiply-adds while they are not (%s)",
            self.cores,
            self.small,
            ", ".join(f"{lib.internal_api} {lib.version}" for lib in self.blas) or "no BLAS found",
        )

    def refresh(self):
        """Re-measure the load (when a reading is due) and the free cores."""
        if self.load.update():
            self.free = free_cores(self.cores, self.load.recent)
        self.due = self.load._last[0] + SAMPLE_SECONDS

    def threads(self, macs):
        """Threads for a product of ``macs`` multiply-adds under the current load."""
        if time.monotonic() >= self.due:
            self.refresh()
        return threads_for(macs, self.cores, self.free, self.small)

    def set(self, n):
        """Set every BLAS pool to ``n`` threads."""
        for lib in self.blas:
            lib.set_num_threads(n)
        self.current = n


_POLICY = None


def policy():
    """The process's policy, applied on first use (reads the environment once)."""
    global _POLICY
    if _POLICY is None:
        # The process-wide tunings of heavy numeric work, both applied here, on the first
        # FullyConnected/convolution product and never at import: the BLAS pool (this
        # module) and glibc's malloc (ops/_memory.py: keep freed arrays for reuse; logged).
        from .ops._memory import keep_freed_memory

        keep_freed_memory()
        _POLICY = _Policy(read_settings())
    return _POLICY


def reset():
    """Forget the applied policy so that the next product re-reads the environment (for
    tests and for a process that changes its variables); pools return to the cap."""
    global _POLICY
    old, _POLICY = _POLICY, None
    if old is not None and old.blas and old.small is not None:
        old.set(old.cores)


def for_gemm(xp, macs):
    """Size the BLAS pool for the next product of ``macs`` multiply-adds on ``xp``.

    A clock read and a comparison when nothing is due; GPU (cupy) products are left alone.
    """
    if xp.__name__ != "numpy":
        return
    p = _POLICY or policy()
    if p.small is None:
        return
    if time.monotonic() >= p.due:  # inlined p.threads(): this runs before every product
        p.refresh()
    want = threads_for(macs, p.cores, p.free, p.small)
    if want != p.current:
        p.set(want)


def current_threads():
    """Threads the BLAS pools run with now (None before any product or with no BLAS)."""
    p = _POLICY
    if p is None or not p.blas:
        return None
    return p.blas[0].num_threads
