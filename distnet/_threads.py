"""distnet's BLAS/OpenMP thread policy: never oversubscribe the cores.

numpy's OpenBLAS starts one thread per core and lets idle threads spin. With other busy
processes on the same cores (a shared machine, DataLoader workers, a kvstore server on the
host) those threads wait on each other and throughput collapses: the Module MLP at batch
64 measured 2.5k-6.5k samples/s with the default pool against 85k-108k single-threaded
under the same load (issue 15). The policy:

* products below ``DISTNET_BLAS_SMALL_MACS`` multiply-adds (most of an MLP, every
  per-sample convolution product) run on one thread: threads buy nothing there and cost
  most under contention;
* larger products may use up to ``cap`` threads: the cores this process may run on,
  lowered by ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` when they
  are set (by the user, or by ``distnet-launch``, which splits a host's cores among its
  local workers) and by ``DISTNET_BLAS_THREADS``; and only as many as there are cores
  that other processes leave idle (the load average less this process's own CPU use,
  looked at once a second), since a thread that has to share a core with a busy process
  stalls the whole product (ResNet-20 measured 13x slower at 2 threads than at 1 with
  other engineers' test runs on the 2 cores);
* ``DISTNET_BLAS_THREADS=off`` leaves every library exactly as it loaded.

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
#: Products with fewer multiply-adds run single-threaded: every MLP layer up to batch 512
#: (512 x 784 x 128 = 51M) and every per-sample convolution product, whose threads would
#: synchronise every few hundred microseconds; ResNet's batched 'cl' products (151M) and
#: larger may use more.
DEFAULT_SMALL_MACS = 1 << 26


def read_settings(environ=None):
    """The environment variables of the policy, parsed: ``{'mode': 'auto'|'off',
    'cap': int, 'small_macs': int}``. Invalid values raise ``MXNetError`` naming the
    variable."""
    from .base import MXNetError

    if environ is None:
        from .config import raw

        environ = raw(CAP_VARS + ("DISTNET_BLAS_THREADS", "DISTNET_BLAS_SMALL_MACS"))
    env = environ
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cap = cores or os.cpu_count() or 1
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


class _Policy:
    """The applied policy: BLAS pool controllers and the thread count last set."""

    def __init__(self, settings):
        self.settings = settings
        self.small = settings["small_macs"]
        self.big = 1  # until the first look at the load, a second after the first use
        self.blas = []
        self.current = None
        self.cores = settings["cap"]
        self._seen = None  # (wall time, own CPU seconds) at the last look at the load
        if settings["mode"] == "off":
            _log.debug("BLAS thread policy off (DISTNET_BLAS_THREADS=off)")
            self.small = self.big = None
            return
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _log.warning(
                "threadpoolctl is not installed: numpy's BLAS keeps one spinning "
                "thread per core, which collapses under contention; pip install "
                "threadpoolctl (or set OPENBLAS_NUM_THREADS=1)"
            )
            self.small = self.big = None
            return
        pools = ThreadpoolController()
        self.blas = [lib for lib in pools.lib_controllers if lib.user_api == "blas"]
        for lib in pools.lib_controllers:  # OpenMP pools: the cap once, no per-call switch
            if lib.user_api != "blas" and lib.num_threads > self.cores:
                lib.set_num_threads(self.cores)
        _log.debug(
            "BLAS thread policy: 1 thread below %d multiply-adds, up to %d above (%s)",
            self.small,
            self.cores,
            ", ".join(f"{lib.internal_api} {lib.version}" for lib in self.blas) or "no BLAS found",
        )

    def big_threads(self):
        """Threads for a large product: the cap, less the cores other processes keep busy
        (re-estimated at most once a second)."""
        now = time.monotonic()
        seen = self._seen
        if seen is not None and now - seen[0] < 1.0:
            return self.big
        cpu = time.process_time()
        if seen is not None and self.cores > 1:
            own = (cpu - seen[1]) / (now - seen[0])  # cores this process kept busy
            others = max(0.0, os.getloadavg()[0] - own)
            self.big = max(1, min(self.cores, int(self.cores - others + 0.5)))
        self._seen = (now, cpu)
        return self.big

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
    if old is not None and old.blas and old.big:
        old.set(old.big)


def for_gemm(xp, macs):
    """Size the BLAS pool for the next product of ``macs`` multiply-adds on ``xp``.

    One comparison when the count is already right; GPU (cupy) products are left alone.
    """
    if xp.__name__ != "numpy":
        return
    p = _POLICY or policy()
    if p.small is None:
        return
    want = p.big_threads() if macs >= p.small else 1
    if want != p.current:
        p.set(want)


def current_threads():
    """Threads the BLAS pools run with now (None before any product or with no BLAS)."""
    p = _POLICY
    if p is None or not p.blas:
        return None
    return p.blas[0].num_threads
