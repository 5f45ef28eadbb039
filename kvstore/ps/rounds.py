"""A server's per-key state: the stored value, sync rounds summed in rank order as pushes
arrive, and the buffers the value lives in.

Pushes of the next round are folded eagerly: rank r's array is added as soon as every
rank below r that can still push has been added, so the sum is always
((a0 + a1) + a2) + ... in rank order (bitwise reproducible) while most of the adding
happens before the last worker's push arrives.  A received zmq frame the server owns
becomes the accumulator itself (no copy); an array the server only borrows (a worker's
shared-memory segment) is released as soon as it has been added into a recycled buffer.
"""

import numpy as np


class _Round:
    __slots__ = ("arrays", "folded", "first", "acc")

    def __init__(self):
        self.arrays = {}  # rank -> (array, owned, release) not yet added
        self.folded = set()
        self.first = None  # the lowest rank's push, added to the next one in one pass
        self.acc = None

    def fold(self, item, slot):
        """Add one push (in rank order) into the accumulator."""
        array, owned, release = item
        if self.acc is None and self.first is None:
            self.first = item
            return
        if self.acc is None:
            a0, owned0, release0 = self.first
            self.first = None
            self.acc = a0 if owned0 else array if owned else slot.buffer()
            np.add(a0, array, out=self.acc)  # a0 + a1 == a1 + a0 exactly
            if release0 is not None:
                release0()
        else:
            np.add(self.acc, array, out=self.acc)
        if release is not None:
            release()

    def total(self, slot):
        """The finished sum (a lone push is copied unless the server owns it)."""
        if self.acc is None:
            array, owned, release = self.first
            self.acc = slot.own(array, owned)
            if release is not None:
                release()
        return self.acc


def _done(trackers):
    return all(t.done for t in trackers)


class Slot:
    """One key (or one part of a split key) held by a server."""

    __slots__ = (
        "value",
        "master",
        "round",
        "rounds",
        "waiting",
        "trackers",
        "retired",
        "pool",
        "error",
    )

    def __init__(self, value):
        self.value = value
        self.master = None  # fp32 master copy of an fp16 value (updaters asking for it)
        self.round = 0  # sync rounds applied so far
        self.rounds = {}  # round number -> _Round received but not yet applied
        self.waiting = []  # (round, ident, rid, segment) of pulls waiting for a round
        self.trackers = []  # zmq trackers of zero-copy sends of `value`
        self.retired = None  # (array, trackers): an old value still being sent
        self.pool = None  # a free buffer shaped like value
        self.error = None

    # ---- buffers ----------------------------------------------------------------------
    def buffer(self):
        """A buffer shaped like the value that nothing reads (recycled when possible)."""
        if self.pool is not None:
            buf, self.pool = self.pool, None
            return buf
        if self.retired is not None and _done(self.retired[1]):
            buf, self.retired = self.retired[0], None
            return buf
        return np.empty_like(self.value)

    def give_back(self, buf):
        """Return a buffer no one reads any more (kept for the next round)."""
        if buf.shape == self.value.shape and buf.dtype == self.value.dtype:
            self.pool = buf

    def set_value(self, buf):
        """Make `buf` the stored value; the old one is recycled once its sends are done."""
        old, trackers = self.value, self.trackers
        self.value, self.trackers = buf, []
        if _done(trackers):
            self.give_back(old)
        else:
            self.retired = (old, trackers)

    def writable_value(self):
        """The value, copied first if a zero-copy send still reads it (copy-on-write)."""
        if _done(self.trackers):
            self.trackers = []
            return self.value
        buf = self.buffer()
        np.copyto(buf, self.value)
        self.set_value(buf)
        return buf

    # ---- rounds -----------------------------------------------------------------------
    def seen(self, rnd, rank):
        """Whether `rank`'s push for sync round `rnd` was already applied or received."""
        if rnd <= self.round:
            return True
        r = self.rounds.get(rnd)
        return r is not None and (rank in r.arrays or rank in r.folded)

    def add(self, rnd, rank, array, owned, release=None):
        """Hold rank's push for round `rnd`; `release()` is called once it is summed."""
        self.rounds.setdefault(rnd, _Round()).arrays[rank] = (array, owned, release)

    def own(self, array, owned):
        """`array` itself when the server owns it, else a copy in a recycled buffer."""
        if owned:
            return array
        buf = self.buffer()
        np.copyto(buf, array)
        return buf

    def advance(self, active):
        """Fold the next round's pushes in rank order as far as `active` (the ranks that
        may still push) allows; return the round's sum once it is complete, else None."""
        rnd = self.rounds.get(self.round + 1)
        if rnd is None:
            return None
        while rnd.arrays:
            rank = min(rnd.arrays)
            if any(q < rank and q not in rnd.folded for q in active):
                break  # a lower rank has yet to push: adding now would change the order
            rnd.fold(rnd.arrays.pop(rank), self)
            rnd.folded.add(rank)
        if rnd.arrays or not rnd.folded or not active.issubset(rnd.folded):
            return None
        del self.rounds[self.round + 1]
        self.round += 1
        return rnd.total(self)
