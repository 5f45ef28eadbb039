"""A server's sync rounds (rank-order sums folded as pushes arrive) and the shared-memory
segments between a worker and a server, in one process."""

import itertools
import os

import numpy as np
import pytest

from kvstore import KVStoreError
from kvstore.ps import shm
from kvstore.ps.rounds import Slot

pytestmark = pytest.mark.timeout(30)


def _order_sensitive(n, size=64, seed=7):
    """float32 values whose sum depends on the order of the additions."""
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal(size) * 10.0 ** rng.integers(-4, 5, size)).astype(np.float32)
        for _ in range(n)
    ]


def _rank_order_sum(arrays):
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    return total


class _Tracker:
    def __init__(self):
        self.done = False


def test_every_arrival_order_gives_the_rank_order_sum_bit_for_bit():
    vals = _order_sensitive(4)
    want = _rank_order_sum(vals)
    assert not np.array_equal(want, _rank_order_sum(vals[::-1]))  # the order matters
    for arrival in itertools.permutations(range(4)):
        slot = Slot(np.zeros(64, np.float32))
        for i, r in enumerate(arrival):
            slot.add(1, r, vals[r].copy(), owned=True)
            got = slot.advance({0, 1, 2, 3})
            assert (got is None) == (i < 3)
        np.testing.assert_array_equal(got, want)
        assert slot.round == 1


def test_borrowed_arrays_are_released_in_rank_order_and_never_written():
    vals = _order_sensitive(3)
    borrowed = [v.copy() for v in vals]
    for b in borrowed:
        b.flags.writeable = False  # like a worker's segment: read, never written
    released, slot = [], Slot(np.zeros(64, np.float32))
    slot.add(1, 2, borrowed[2], False, lambda: released.append(2))
    assert slot.advance({0, 1, 2}) is None and released == []
    slot.add(1, 0, borrowed[0], False, lambda: released.append(0))
    assert slot.advance({0, 1, 2}) is None and released == []  # rank 0 waits for rank 1
    slot.add(1, 1, borrowed[1], False, lambda: released.append(1))
    got = slot.advance({0, 1, 2})
    assert released == [0, 1, 2]
    np.testing.assert_array_equal(got, _rank_order_sum(vals))
    for b, v in zip(borrowed, vals):
        np.testing.assert_array_equal(b, v)


def test_a_departed_worker_no_longer_holds_up_the_round():
    vals = _order_sensitive(3)
    slot = Slot(np.zeros(64, np.float32))
    slot.add(1, 0, vals[0].copy(), True)
    slot.add(1, 2, vals[2].copy(), True)
    assert slot.advance({0, 1, 2}) is None
    np.testing.assert_array_equal(slot.advance({0, 2}), vals[0] + vals[2])
    slot.add(2, 1, vals[1].copy(), True)  # a push of the departed rank before it left
    slot.add(2, 0, vals[0].copy(), True)
    np.testing.assert_array_equal(slot.advance({0}), vals[0] + vals[1])
    assert slot.seen(2, 0) and not slot.seen(3, 0)


def test_later_rounds_wait_their_turn_and_a_lone_borrowed_push_is_copied():
    slot = Slot(np.zeros(4, np.float32))
    second = np.full(4, 2, np.float32)
    slot.add(2, 0, second, False)
    assert slot.advance({0}) is None and slot.round == 0  # round 1 has not arrived
    slot.add(1, 0, np.ones(4, np.float32), True)
    assert slot.advance({0}).tolist() == [1.0] * 4
    got = slot.advance({0})
    assert got.tolist() == [2.0] * 4 and got is not second and slot.round == 2


def test_values_being_sent_are_copied_before_they_change():
    slot = Slot(np.zeros(4, np.float32))
    sending = _Tracker()
    slot.trackers.append(sending)
    first = slot.value
    w = slot.writable_value()
    assert w is not first and first.tolist() == [0.0] * 4  # the send still reads `first`
    w += 1
    assert slot.buffer() is not first  # not recycled while sent
    sending.done = True
    assert slot.buffer() is first
    slot.trackers.append(_Tracker())
    new = np.full(4, 5, np.float32)
    slot.set_value(new)
    assert slot.value is new and slot.writable_value() is new


@pytest.mark.skipif(not shm.available(), reason="no /dev/shm")
def test_shared_memory_segments_between_a_worker_and_a_server():
    arena, maps = shm.Arena(), shm.Maps()
    try:
        assert not maps.hello(b"w", 0, arena.dir, "wrong-nonce")
        assert not maps.hello(b"w", 0, "/etc", arena.nonce)
        assert not maps.hello(b"w", 0, os.path.join(arena.dir, "..", "x"), arena.nonce)
        with pytest.raises(KVStoreError, match="not usable"):
            maps.view(b"w", "s0", 8)  # no hello yet
        assert maps.hello(b"w", 0, arena.dir, arena.nonce)
        assert arena.segment("k", 0, 100) is None  # small arrays go over zmq
        seg = arena.segment("k", 0, shm.MIN_BYTES)
        assert arena.segment("k", 0, shm.MIN_BYTES) is seg
        seg.view[:4] = [1, 2, 3, 4]
        server_view = maps.view(b"w", seg.name, shm.MIN_BYTES)
        assert server_view[:4].tolist() == [1, 2, 3, 4]
        assert not os.path.exists(os.path.join(arena.dir, seg.name))  # unlinked once mapped
        server_view[4] = 9
        assert seg.view[4] == 9
        for bad in ("../probe", "probe", "s0/../../x", 5):
            with pytest.raises(KVStoreError, match="not usable"):
                maps.view(b"w", bad, 8)
        with pytest.raises(KVStoreError, match="holds"):
            maps.view(b"w", seg.name, shm.MIN_BYTES + 1)
        assert seg.lend_push() and not seg.lend_push() and seg.lend_pull()
        assert not seg.lend_pull()
        arena.release(seg.name)
        seg.end_pull()
        assert seg.lend_push()
        maps.forget(0)
        with pytest.raises(KVStoreError, match="not usable"):
            maps.view(b"w", seg.name, 8)
    finally:
        arena.close()
    assert not os.path.exists(arena.dir)


@pytest.mark.skipif(not shm.available() or not hasattr(os, "fork"), reason="no /dev/shm")
def test_a_forked_child_leaves_the_segments_of_its_parent_alone():
    arena = shm.Arena()
    try:
        pid = os.fork()
        if pid == 0:  # e.g. a data loader worker exiting through the finalizers
            arena.close()
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.path.isdir(arena.dir)
    finally:
        arena.close()
    assert not os.path.exists(arena.dir)
