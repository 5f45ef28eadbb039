"""Checkpoint files are written atomically and durably, and crashed writers leave no litter.

A writer killed (SIGKILL) at random moments while saving must never leave a partial file
under the final name; the temp files it leaves are removed by the next save of the same
target, while a live writer's temp files are kept.
"""

import os
import random
import signal
import socket
import time

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from kvstore import atomic


def _temps(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def test_write_is_durable_and_leaves_nothing(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "w.params"
    mx.nd.save(str(target), {"w": mx.nd.ones((3,))})
    assert synced == [False, True]  # the file before the rename, the folder after
    assert os.listdir(tmp_path) == ["w.params"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask  # as open() would make it


def test_failed_write_removes_its_temp_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "net-0001.params"
    mx.nd.save(str(target), {"w": mx.nd.ones((3,))})

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        mx.nd.save(str(target), {"w": mx.nd.zeros((3,))})
    monkeypatch.undo()
    assert _temps(tmp_path) == []
    np.testing.assert_array_equal(mx.nd.load(str(target))["w"].asnumpy(), np.ones(3))


def test_stale_temps_of_dead_writers_only_are_removed(tmp_path):
    target = str(tmp_path / "m-0002.params")
    host = socket.gethostname().replace("-", "_")
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # a pid that has exited
    dead = tmp_path / f".m-0002.params.tmp-{host}-{pid}-0badcafe"
    live = tmp_path / f".m-0002.params.tmp-{host}-{os.getppid()}-00c0ffee"
    other_host = tmp_path / f".m-0002.params.tmp-elsewhere-{pid}-12345678"
    other_target = tmp_path / f".m-0003.params.tmp-{host}-{pid}-87654321"
    for path in (dead, live, other_host, other_target):
        path.write_bytes(b"partial")
    mx.nd.save(target, [mx.nd.ones((2,))])
    assert not dead.exists()
    assert live.exists() and other_host.exists() and other_target.exists()


def _writer(target, prefix):
    """Child: save checkpoints of alternating content forever (until killed)."""
    sym = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=4, name="fc")
    k = 0
    while True:
        k += 1
        value = mx.nd.full((512, 1024), k % 7)  # 2 MiB: a save takes a while
        mx.nd.save(target, {"w": value})
        mx.model.save_checkpoint(prefix, 1, sym, {"fc_weight": value}, {})


def _kill_writers(tmp_path, kills, seed):
    target, prefix = str(tmp_path / "w.params"), str(tmp_path / "ck")
    rng = random.Random(seed)
    litter = 0
    for _ in range(kills):
        pid = os.fork()
        if pid == 0:
            try:
                _writer(target, prefix)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        litter += len(_temps(tmp_path))
        for path in (target, prefix + "-0001.params"):
            if os.path.exists(path):  # whole, or absent: never a partial file
                loaded = mx.nd.load(path)
                arr = next(iter(loaded.values())).asnumpy()
                assert arr.shape == (512, 1024) and (arr == arr.flat[0]).all()
        if os.path.exists(prefix + "-symbol.json"):
            mx.sym.load(prefix + "-symbol.json")
    return target, prefix, litter


def test_kill_during_save_never_leaves_a_partial_file_or_litter(tmp_path):
    target, prefix, litter = _kill_writers(tmp_path, kills=12, seed=13)
    assert litter > 0, "no kill landed during a write; the test would prove nothing"
    mx.nd.save(target, {"w": mx.nd.ones((2,))})
    mx.model.save_checkpoint(prefix, 1, None, {"fc_weight": mx.nd.ones((2,))}, {})
    mx.sym.Variable("x").save(prefix + "-symbol.json")
    assert _temps(tmp_path) == []


@pytest.mark.slow
def test_kill_during_save_soak(tmp_path):
    target, prefix, litter = _kill_writers(tmp_path, kills=200, seed=7)
    print(f"200 kills, {litter} temp files seen after kills")
    mx.nd.save(target, {"w": mx.nd.ones((2,))})
    mx.model.save_checkpoint(prefix, 1, None, {"fc_weight": mx.nd.ones((2,))}, {})
    mx.sym.Variable("x").save(prefix + "-symbol.json")
    assert _temps(tmp_path) == []


def test_unreadable_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "x-0001.params"
    path.write_bytes(b"\x12\x01" + b"\0" * 6)
    (tmp_path / "x-symbol.json").write_text(mx.sym.Variable("data").tojson())
    with pytest.raises(MXNetError, match="x-0001.params.*too short"):
        mx.model.load_checkpoint(str(tmp_path / "x"), 1)


def test_write_atomic_accepts_text_and_replaces(tmp_path):
    target = tmp_path / "a.json"
    atomic.write_atomic(target, "{}")
    atomic.write_atomic(target, "[1]")
    assert target.read_text() == "[1]" and atomic.temp_files(target) == []
