"""Header validation: malformed and unauthenticated messages are refused, good ones round-trip."""

import msgpack
import numpy as np
import pytest

from kvstore.ps import protocol as P

pytestmark = pytest.mark.timeout(30)


def test_round_trip_without_pickle():
    a = np.arange(12, dtype=np.float16).reshape(3, 4)
    frames = P.encode(
        "push", "tok", "worker:1", key="fc1_weight", part=1, rnd=7, rid=9, array=a, meta={"rank": 1}
    )
    msg = P.decode([bytes(f) for f in frames], "tok")
    assert (msg.op, msg.key, msg.part, msg.round, msg.rid, msg.sender) == (
        "push",
        "fc1_weight",
        1,
        7,
        9,
        "worker:1",
    )
    np.testing.assert_array_equal(msg.array, a)
    assert msg.array.dtype == np.float16 and msg.meta == {"rank": 1}


@pytest.mark.parametrize(
    "change,why",
    [
        ({"token": "other"}, "job token"),
        ({"token": None}, "job token"),
        ({"v": 2}, "protocol version"),
        ({"op": "exec"}, "unknown op"),
        ({"op": [1]}, "unknown op"),
        ({"key": 1.5}, "key"),
        ({"round": -1}, "round"),
        ({"dtype": "object"}, "dtype"),
        ({"shape": [2, "x"]}, "shape"),
        ({"shape": [5]}, "does not hold"),
        ({"meta": 3}, "meta"),
    ],
)
def test_bad_headers_are_refused(change, why):
    frames = P.encode("push", "tok", "w", key=1, array=np.zeros(4, np.float32))
    h = msgpack.unpackb(frames[0])
    h.update(change)
    with pytest.raises(P.ProtocolError, match=why):
        P.decode([msgpack.packb(h), bytes(frames[1])], "tok")


def test_garbage_is_refused():
    for frames in (
        [],
        [b"\xc1garbage"],
        [msgpack.packb([1, 2])],
        [P.encode("pull", "tok", "w", key=1)[0], b"extra"],
    ):
        with pytest.raises(P.ProtocolError):
            P.decode(frames, "tok")


def test_batches_carry_whole_messages_and_isolate_a_bad_one():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    msgs = [
        P.encode("push", "tok", "w", key="k", rnd=2, rid=5, array=a, meta={"rank": 1}),
        [b"\xc1garbage"],
        P.encode("pull", "tok", "w", key=7, rid=6),
    ]
    assert all(P.small(m) for m in msgs)
    assert not P.small(P.encode("push", "tok", "w", key=1, array=np.zeros(1 << 16)))
    frames = P.encode_batch("tok", "w", msgs)
    assert len(frames) == 2  # one header, one frame holding everything
    batch = P.decode([bytes(f) for f in frames], "tok")
    push, bad, pull = P.unbatch(batch, "tok")
    assert (push.op, push.key, push.round, push.rid, push.meta) == ("push", "k", 2, 5, {"rank": 1})
    np.testing.assert_array_equal(push.array, a)
    assert isinstance(bad, P.ProtocolError) and "msgpack" in str(bad)
    assert (pull.op, pull.key, pull.rid, pull.array) == ("pull", 7, 6, None)
    with pytest.raises(P.ProtocolError, match="job token"):
        P.decode([bytes(f) for f in P.encode_batch("other", "w", msgs[:1])], "tok")
    inner = P.unbatch(P.decode(P.encode_batch("tok", "w", [frames]), "tok"), "tok")
    assert isinstance(inner[0], P.ProtocolError) and "inside a batch" in str(inner[0])
    for lens, blob in (
        ([[5]], b"1234"),
        ([[2, "x"]], b"12"),
        ("ab", b""),
        ([[]], b""),
        ([[1, 1, 1]], b"123"),
    ):
        head = P.encode("batch", "tok", "w", meta={"lens": lens})
        with pytest.raises(P.ProtocolError, match="batch"):
            P.unbatch(P.decode(head + [blob], "tok"), "tok")


def test_pack_splits_long_runs_into_batches_the_receiver_accepts():
    msgs = [P.encode("pull", "tok", "w", key=i, rid=i) for i in range(P.MAX_BATCH + 5)]
    packed = P.pack("tok", "w", msgs)
    assert len(packed) == 2
    got = [m.key for f in packed for m in P.unbatch(P.decode(f, "tok"), "tok")]
    assert got == list(range(P.MAX_BATCH + 5))
    assert P.pack("tok", "w", msgs[:1]) == [msgs[0]]  # a lone message goes as it is
    big = [
        P.encode("push", "tok", "w", key=i, array=np.zeros(15000, np.float32)) for i in range(3)
    ]  # 60 kB each, 4 MB at most
    assert len(P.pack("tok", "w", big, most_bytes=100000)) == 3
