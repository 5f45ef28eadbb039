"""Header validation: malformed and unauthenticated messages are refused, good ones round-trip."""
import msgpack
import numpy as np
import pytest

from kvstore.dist import protocol as P

pytestmark = pytest.mark.timeout(30)


def test_round_trip_without_pickle():
    a = np.arange(12, dtype=np.float16).reshape(3, 4)
    frames = P.encode('push', 'tok', 'worker:1', key='fc1_weight', part=1, rnd=7, rid=9,
                      array=a, meta={'rank': 1})
    msg = P.decode([bytes(f) for f in frames], 'tok')
    assert (msg.op, msg.key, msg.part, msg.round, msg.rid, msg.sender) == \
        ('push', 'fc1_weight', 1, 7, 9, 'worker:1')
    np.testing.assert_array_equal(msg.array, a)
    assert msg.array.dtype == np.float16 and msg.meta == {'rank': 1}


@pytest.mark.parametrize('change,why', [
    ({'token': 'other'}, 'job token'), ({'token': None}, 'job token'),
    ({'v': 2}, 'protocol version'), ({'op': 'exec'}, 'unknown op'), ({'op': [1]}, 'unknown op'),
    ({'key': 1.5}, 'key'), ({'round': -1}, 'round'), ({'dtype': 'object'}, 'dtype'),
    ({'shape': [2, 'x']}, 'shape'), ({'shape': [5]}, 'does not hold'), ({'meta': 3}, 'meta'),
])
def test_bad_headers_are_refused(change, why):
    frames = P.encode('push', 'tok', 'w', key=1, array=np.zeros(4, np.float32))
    h = msgpack.unpackb(frames[0])
    h.update(change)
    with pytest.raises(P.ProtocolError, match=why):
        P.decode([msgpack.packb(h), bytes(frames[1])], 'tok')


def test_garbage_is_refused():
    for frames in ([], [b'\xc1garbage'], [msgpack.packb([1, 2])],
                   [P.encode('pull', 'tok', 'w', key=1)[0], b'extra']):
        with pytest.raises(P.ProtocolError):
            P.decode(frames, 'tok')
