"""Shared-memory data path between a worker and a server on the same host.

Over loopback TCP every byte is copied through the kernel twice per direction, which
costs far more CPU than the arithmetic.  When a server can read a worker's files (same
host, same user; checked once per server with a probe file), arrays of at least
`MIN_BYTES` travel through a shared-memory segment the worker owns, one per key part:

* push: the worker copies its gradient into the segment and sends only the header; the
  server sums straight from the segment and sends `shm_free` once it has.
* pull: the server copies the value into the segment and replies with the header only;
  the worker copies it into the outputs.
* pushpull: both through the same segment, freed by the reply (no `shm_free`).

The worker writes a segment only when no request on it is outstanding, and lends it to
at most one pull at a time (a pull may follow a push on it: the server consumes the
push before it answers the pull); otherwise the array goes over zmq as usual, so the
protocol never waits on a segment.  Segments are files in a private directory under
/dev/shm (mode 0700/0600, space reserved with posix_fallocate so a full /dev/shm gives
an error up front, never SIGBUS later).  The server maps a segment once and unlinks its
file, so nothing is left behind after the first use; the worker removes its directory
when it closes.  DISTNET_KVSTORE_SHM=0 turns the path off.
"""

import mmap
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading

import numpy as np

from ..base import KVStoreError

MIN_BYTES = 1 << 18
SHM_DIR = "/dev/shm"
PREFIX = "distnet-kv-"
PROBE = "probe"
_NAME = re.compile(r"^s[0-9]{1,9}$")
_HEADROOM = 64 << 20  # bytes of /dev/shm left to everyone else


def available():
    """Whether this host has a /dev/shm to put segments in."""
    return os.path.isdir(SHM_DIR)


class Segment:
    """A worker's shared buffer for one key part, with its outstanding users."""

    __slots__ = ("name", "view", "pushes", "pulls", "_lock")

    def __init__(self, name, view):
        self.name, self.view = name, view
        self.pushes = self.pulls = 0
        self._lock = threading.Lock()

    def lend_push(self, with_pull=False):
        """Reserve the segment for a push (only when nothing else uses it), and for the
        pull answering it when `with_pull` (pushpull)."""
        with self._lock:
            if self.pushes or self.pulls:
                return False
            self.pushes += 1
            self.pulls += with_pull
            return True

    def lend_pull(self):
        """Reserve the segment for a pull (our own pushes on it are consumed first)."""
        with self._lock:
            if self.pulls:
                return False
            self.pulls += 1
            return True

    def end_push(self):
        with self._lock:
            self.pushes = max(0, self.pushes - 1)

    def end_pull(self):
        with self._lock:
            self.pulls = max(0, self.pulls - 1)

    def end_both(self):
        with self._lock:
            self.pushes = max(0, self.pushes - 1)
            self.pulls = max(0, self.pulls - 1)


class Arena:
    """A worker's segments, in a private directory under /dev/shm."""

    def __init__(self):
        self._pid = os.getpid()
        self.dir = tempfile.mkdtemp(prefix=PREFIX, dir=SHM_DIR)
        self.nonce = secrets.token_hex(16)
        self._segments = {}  # (key, part) -> Segment, or None where creation failed
        self._by_name = {}
        self._lock = threading.Lock()
        path = os.path.join(self.dir, PROBE)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.nonce)

    def segment(self, key, part, nbytes):
        """The segment of (key, part), created on first use; None if it cannot be."""
        if nbytes < MIN_BYTES:
            return None
        with self._lock:
            if (key, part) not in self._segments:
                seg = self._create(f"s{len(self._by_name)}", nbytes)
                self._segments[(key, part)] = seg
                if seg is not None:
                    self._by_name[seg.name] = seg
            return self._segments[(key, part)]

    def _create(self, name, nbytes):
        try:
            if os.statvfs(self.dir).f_bavail * os.statvfs(self.dir).f_frsize < nbytes + _HEADROOM:
                return None
            fd = os.open(os.path.join(self.dir, name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            try:
                os.posix_fallocate(fd, 0, nbytes)
                buf = mmap.mmap(fd, nbytes)
            finally:
                os.close(fd)
        except OSError:
            return None
        return Segment(name, np.frombuffer(buf, dtype=np.uint8))

    def probed(self):
        """Every server has read the probe: remove it (less to leave behind on a crash)."""
        try:
            os.unlink(os.path.join(self.dir, PROBE))
        except OSError:
            pass

    def release(self, name):
        """The server has summed the push that used segment `name`."""
        seg = self._by_name.get(name)
        if seg is not None:
            seg.end_push()

    def close(self):
        """Remove the directory (the mappings stay valid while anyone uses them); never
        from a forked child (a data loader worker), whose parent still uses it."""
        if os.getpid() == self._pid:
            shutil.rmtree(self.dir, ignore_errors=True)


def _open_checked(path, flags):
    fd = os.open(path, flags | os.O_NOFOLLOW)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise KVStoreError(f"{path} is not a regular file of this user")
    return fd, st


class Maps:
    """A server's view of its workers' segments, by sender (the zmq identity)."""

    def __init__(self):
        self._dirs = {}  # sender -> the worker's directory, once its probe matched
        self._ranks = {}  # sender -> worker rank
        self._views = {}  # (sender, name) -> uint8 array over the mapping

    def hello(self, sender, rank, directory, nonce):
        """Accept `directory` for `sender` if we can read its probe with `nonce`."""
        if not (
            isinstance(directory, str)
            and isinstance(nonce, str)
            and os.path.dirname(directory) == SHM_DIR
            and os.path.basename(directory).startswith(PREFIX)
        ):
            return False
        try:
            st = os.lstat(directory)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                return False
            fd, _ = _open_checked(os.path.join(directory, PROBE), os.O_RDONLY)
            with os.fdopen(fd) as f:
                ok = f.read(64) == nonce
        except (OSError, KVStoreError, UnicodeDecodeError):
            return False
        if ok:
            self._dirs[sender] = directory
            self._ranks[sender] = rank
        return ok

    def view(self, sender, name, nbytes):
        """The uint8 view of `sender`'s segment `name`, mapped (and unlinked) on first use."""
        v = self._views.get((sender, name))
        if v is None:
            directory = self._dirs.get(sender)
            if directory is None or not isinstance(name, str) or not _NAME.match(name):
                raise KVStoreError(f"shared-memory segment {str(name)[:40]!r} is not usable")
            path = os.path.join(directory, name)
            try:
                fd, st = _open_checked(path, os.O_RDWR)
                try:
                    if st.st_size < nbytes:
                        raise KVStoreError(
                            f"shared-memory segment {name} holds "
                            f"{st.st_size} bytes, {nbytes} needed"
                        )
                    v = np.frombuffer(mmap.mmap(fd, st.st_size), dtype=np.uint8)
                finally:
                    os.close(fd)
                os.unlink(path)
            except OSError as e:
                raise KVStoreError(f"cannot map shared-memory segment {name}: {e}") from None
            self._views[(sender, name)] = v
        if v.size < nbytes:
            raise KVStoreError(
                f"shared-memory segment {name} holds {v.size} bytes, {nbytes} needed"
            )
        return v[:nbytes]

    def forget(self, rank):
        """Drop a departed worker's mappings (arrays still summing keep theirs alive)."""
        for sender in [s for s, r in self._ranks.items() if r == rank]:
            self._dirs.pop(sender, None)
            self._ranks.pop(sender, None)
            for k in [k for k in self._views if k[0] == sender]:
                del self._views[k]
