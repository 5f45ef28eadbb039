"""Atomic, durable file writes: the one helper every checkpoint writer uses.

``write_atomic(fname, data)`` writes ``data`` to a temporary file beside ``fname`` named
``.<name>.tmp-<host>-<pid>-<random>``, flushes and fsyncs it, renames it over ``fname``
and fsyncs the folder, so that after a crash ``fname`` is either the old file or the new
one, never a partial one, and a completed save survives a power loss. On any exception
(KeyboardInterrupt included) the temporary file is removed. A writer killed outright
(SIGKILL, OOM) cannot clean up, so before each write the temporary files *of the same
target* left by dead processes of this host are removed; a live writer's (another
process, or another thread of this one) and other hosts' (a shared folder) are kept.

It lives in the framework-free ``kvstore`` package so that the kvstore (which must not
import distnet) and distnet (nd.save, Symbol.save, checkpoints, optimizer states) share it.
"""

import errno
import os
import secrets
import socket

__all__ = ["write_atomic", "temp_files", "remove_stale_temps"]

_TAG = ".tmp-"


def _host():
    # '-' separates the name's fields; a host name may contain one
    return socket.gethostname().replace("-", "_") or "localhost"


def _temp_prefix(fname):
    folder, base = os.path.split(os.path.abspath(fname))
    return folder, f".{base}{_TAG}"


def temp_files(fname):
    """Paths of the temporary files of ``fname`` now in its folder (any writer's)."""
    folder, prefix = _temp_prefix(fname)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if n.startswith(prefix))


def _pid_alive(pid):
    """Whether process ``pid`` runs on this host (a zombie counts as dead: it has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2 :][:1] != b"Z"
    except (OSError, ValueError):
        return True


def remove_stale_temps(fname):
    """Remove the temporary files of ``fname`` whose writer (same host) has died; returns
    their paths. Files of live writers, of this process and of other hosts are kept."""
    removed = []
    me, host = os.getpid(), _host()
    for path in temp_files(fname):
        fields = os.path.basename(path).rsplit(_TAG, 1)[-1].split("-")
        if len(fields) != 3 or fields[0] != host or not fields[1].isdigit():
            continue
        pid = int(fields[1])
        if pid == me or _pid_alive(pid):
            continue
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass  # another writer cleaned it first
    return removed


def _open_temp(fname):
    """(fd, path) of a new temporary file beside ``fname``; mode 0o666 less the umask, as
    a plain open() would give (mkstemp's 0600 would hide checkpoints from other users)."""
    folder, prefix = _temp_prefix(fname)
    while True:
        path = os.path.join(folder, f"{prefix}{_host()}-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path
        except FileExistsError:
            continue


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # a platform without directory handles (Windows)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def write_atomic(fname, data):
    """Write ``data`` (bytes, or str as UTF-8) to ``fname`` atomically and durably.

    A temporary file in the same folder is written, fsynced and renamed over ``fname``;
    then the folder is fsynced. On failure the temporary file is removed and ``fname`` is
    untouched. Stale temporary files of ``fname`` from dead writers are removed first.
    """
    fname = os.fspath(fname)
    if isinstance(data, str):
        data = data.encode("utf-8")
    remove_stale_temps(fname)
    fd, tmp = _open_temp(fname)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fname)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(os.path.dirname(os.path.abspath(fname)))
