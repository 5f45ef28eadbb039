"""Wire format: zmq multipart = [msgpack header, raw array frame?].

The header is a msgpack map: v (protocol version), op, key, part, round, dtype, shape,
rid (request id), sender, token (the job token), meta (op-specific small values).  An
array travels as its raw bytes, described by dtype and shape; nothing is pickled.
`decode` validates everything and raises ProtocolError on anything malformed or
unauthenticated, so a receiver can log and drop it and serve on.

Several small messages ready for the same peer at once travel as one 'batch' message:
its header's meta 'lens' gives the frame lengths of each message, whose frames (each
message whole, with its own header) follow concatenated in one frame.

Before any of that, a connection to a server or the scheduler is authenticated by zmq
itself (ZAP, PLAIN mechanism, the job token as password; see gate.py), and every listening
socket caps a frame's size (ZMQ_MAXMSGSIZE): a peer without the token is dropped after
its handshake, and until then it can make a process hold at most one capped frame.
The token in each header is kept as a second check.
"""

import hmac
import logging
import math
import os

import msgpack
import numpy as np
import zmq

from ..base import KVStoreError

VERSION = 1
OPS = frozenset(
    [
        "register",
        "registered",
        "heartbeat",
        "heartbeat_ack",
        "barrier",
        "barrier_done",
        "close",
        "close_ack",
        "worker_left",
        "shutdown",
        "abort",
        "init",
        "push",
        "pull",
        "pushpull",
        "reply",
        "error",
        "set_optimizer",
        "set_compression",
        "get_states",
        "set_states",
        "shm_hello",
        "shm_free",
        "batch",
        "push_rows",
        "pull_rows",
        "init_rows",
    ]
)
DTYPES = frozenset(["float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool"])
MAX_HEADER = 1 << 20
MAX_DIMS = 32
MAX_BATCH = 4096  # messages in one batch
#: Bytes a frame may hold beyond its array: the header's limit.
HEADER_SLACK = MAX_HEADER
#: Frame cap of the scheduler's socket: it only ever receives registrations, heartbeats,
#: barriers and closes (a few hundred bytes each).
SCHEDULER_MAX_MESSAGE = 64 << 10
#: The PLAIN user name every peer of a job gives (the password is the job token).
ZAP_USER = b"distnet"
# pyzmq copies frames below this size anyway; above it arrays go out without a copy.
ZERO_COPY_MIN = zmq.COPY_THRESHOLD

log = logging.getLogger("kvstore")


class ProtocolError(KVStoreError):
    """A message failed validation (malformed, wrong version, or wrong job token)."""


def job_token():
    """The job's shared secret (DISTNET_JOB_TOKEN; empty outside launched jobs)."""
    return os.environ.get("DISTNET_JOB_TOKEN", "")


class Message:
    """A decoded message: the header's fields as attributes (copied once: a server reads
    them a dozen times per request), the header map `h`, the array (or None)."""

    __slots__ = ("h", "array", "frames", "op", "key", "part", "round", "rid", "sender", "meta")

    def __init__(self, h, array, frames):
        self.h = h
        self.array = array
        self.frames = frames  # keeps zero-copy buffers alive while `array` is in use
        self.op, self.key, self.part = h.get("op"), h.get("key"), h.get("part")
        self.round, self.rid = h.get("round"), h.get("rid")
        self.sender, self.meta = h.get("sender"), h.get("meta")

    def __getattr__(self, name):
        try:
            return self.h[name]
        except KeyError:
            raise AttributeError(name) from None


_NAMES = {}


def _dtype_name(dt):
    """numpy's dtype.name, cached (it is slow to compute and asked for every message)."""
    name = _NAMES.get(dt)
    if name is None:
        name = _NAMES[dt] = dt.name
    return name


def encode(op, token, sender, key=None, part=0, rnd=0, rid=0, array=None, meta=None):
    """Return the frames of one message; the array frame is the array itself (no copy)."""
    h = {
        "v": VERSION,
        "op": op,
        "key": key,
        "part": part,
        "round": rnd,
        "rid": rid,
        "sender": sender,
        "token": token,
        "dtype": None,
        "shape": None,
        "meta": meta or {},
    }
    frames = [None]
    if array is not None:
        array = np.ascontiguousarray(array)
        h["dtype"] = _dtype_name(array.dtype)
        h["shape"] = list(array.shape)
        frames.append(array.reshape(-1).view(np.uint8))
    frames[0] = msgpack.packb(h, use_bin_type=True)
    return frames


def send(sock, frames, ident=None, track=False):
    """Send frames (prefixed by a ROUTER identity); big arrays go without a copy.

    Returns a zmq MessageTracker when `track` is set and a frame was sent without a
    copy (the caller must not modify that array until the tracker is done), else None.
    """
    if ident is not None:
        frames = [ident] + frames
    big = any(getattr(f, "nbytes", 0) >= ZERO_COPY_MIN for f in frames[1:])
    if not big:
        sock.send_multipart([bytes(f) if not isinstance(f, bytes) else f for f in frames])
        return None
    return (
        sock.send_multipart(frames, copy=False, track=track)
        if track
        else sock.send_multipart(frames, copy=False)
    )


def small(frames):
    """Whether a message is small enough to be copied into a batch."""
    return all(getattr(f, "nbytes", len(f)) < ZERO_COPY_MIN for f in frames)


def encode_batch(token, sender, messages):
    """One 'batch' message carrying small `messages` (lists of frames) in order: a header
    whose meta 'lens' gives each message's frame lengths, then all frames in one frame."""
    lens = [[getattr(f, "nbytes", len(f)) for f in m] for m in messages]
    return encode("batch", token, sender, meta={"lens": lens}) + [
        b"".join(f for m in messages for f in m)
    ]


def pack(token, sender, messages, most_bytes=4 << 20):
    """The zmq messages to send for small `messages`, in order: batches of at most
    MAX_BATCH messages and about `most_bytes`, a lone message as it is."""
    out, run, size = [], [], 0
    for m in messages:
        n = sum(getattr(f, "nbytes", len(f)) for f in m)
        if run and (len(run) == MAX_BATCH or size + n > most_bytes):
            out.append(run[0] if len(run) == 1 else encode_batch(token, sender, run))
            run, size = [], 0
        run.append(m)
        size += n
    if run:
        out.append(run[0] if len(run) == 1 else encode_batch(token, sender, run))
    return out


def unbatch(msg, token):
    """The messages of a decoded 'batch' message: a Message each (its array a view of the
    batch frame), or the ProtocolError of one that is malformed (the others are good)."""
    lens = msg.meta.get("lens")
    if (
        len(msg.frames) != 2
        or not isinstance(lens, list)
        or not 0 < len(lens) <= MAX_BATCH
        or not all(
            isinstance(m, list)
            and 0 < len(m) <= 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in m)
            for m in lens
        )
    ):
        _fail("malformed batch")
    blob = msg.frames[1]
    blob = blob.buffer if hasattr(blob, "buffer") else memoryview(blob)
    if sum(n for m in lens for n in m) != blob.nbytes:
        _fail("batch lengths do not match its frame")
    out, at = [], 0
    for m in lens:
        frames = []
        for n in m:
            frames.append(blob[at : at + n])
            at += n
        try:
            sub = decode(frames, token)
            if sub.op == "batch":
                _fail("batch inside a batch")
            out.append(sub)
        except ProtocolError as e:
            out.append(e)
    return out


def _fail(why):
    raise ProtocolError(why)


def _check_header(h, token):
    if not isinstance(h, dict):
        _fail("header is not a map")
    if not hmac.compare_digest(str(h.get("token", "")).encode(), token.encode()) or not isinstance(
        h.get("token"), str
    ):
        _fail(f"wrong or missing job token from {str(h.get('sender'))[:64]!r}")
    if h.get("v") != VERSION:
        _fail(f"protocol version {h.get('v')!r}, expected {VERSION}")
    if not isinstance(h.get("op"), str) or h["op"] not in OPS:
        _fail(f"unknown op {str(h.get('op'))[:32]!r}")
    key = h.get("key")
    if key is not None and (isinstance(key, bool) or not isinstance(key, (int, str))):
        _fail("key is not an int or str")
    for name in ("part", "round", "rid"):
        v = h.get(name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            _fail(f"{name} is not a non-negative int")
    if not isinstance(h.get("sender"), str):
        _fail("sender is not a str")
    if not isinstance(h.get("meta"), dict):
        _fail("meta is not a map")


def _check_array(h, frames):
    dtype, shape = h.get("dtype"), h.get("shape")
    if dtype is None and shape is None:
        if frames:
            _fail("array frame without dtype/shape")
        return None
    if not isinstance(dtype, str) or dtype not in DTYPES:
        _fail(f"dtype {str(dtype)[:32]!r} not allowed")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        _fail("shape is not a list of non-negative ints")
    if len(frames) != 1:
        _fail(f"{len(frames)} array frames, expected 1")
    buf = frames[0].buffer if hasattr(frames[0], "buffer") else memoryview(frames[0])
    dt = np.dtype(dtype)
    count = math.prod(shape)
    if count * dt.itemsize != buf.nbytes:
        _fail(f"array frame of {buf.nbytes} bytes does not hold {dtype} {tuple(shape)}")
    return np.frombuffer(buf, dtype=dt).reshape(shape)


def decode(frames, token):
    """Validate frames (without a ROUTER identity) and return a Message."""
    if not frames:
        _fail("empty message")
    head = frames[0].bytes if hasattr(frames[0], "bytes") else bytes(frames[0])
    if len(head) > MAX_HEADER:
        _fail("header too large")
    try:
        h = msgpack.unpackb(head, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises many types on garbage
        _fail(f"header is not msgpack ({type(e).__name__})")
    _check_header(h, token)
    if h["op"] == "batch":  # its frames are whole messages: see unbatch
        return Message(h, None, frames)
    return Message(h, _check_array(h, frames[1:]), frames)


def listen(sock, max_message):
    """Make `sock` (a ROUTER, before its bind) authenticate peers through the process's
    `gate.Gate`, refuse frames over `max_message` bytes (zmq drops such a peer at the frame's
    length prefix, before allocating anything) and hand a peer's identity over to its new
    connection when it reconnects (a link flap keeps its place)."""
    sock.setsockopt(zmq.MAXMSGSIZE, int(max_message))
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    sock.setsockopt(zmq.ZAP_DOMAIN, b"distnet")
    sock.setsockopt(zmq.PLAIN_SERVER, 1)


def dial(sock, token, ident=None):
    """Give a connecting socket the job token as its PLAIN credentials and, if given, a
    routing identity it keeps across reconnections (before connect)."""
    sock.setsockopt(zmq.PLAIN_USERNAME, ZAP_USER)
    sock.setsockopt(zmq.PLAIN_PASSWORD, token.encode())
    if ident is not None:
        sock.setsockopt(zmq.ROUTING_ID, ident)


def new_ident(role):
    """A routing identity unique to this process and role ('worker:1234:9f2c...')."""
    return f"{role}:{os.getpid()}:{os.urandom(6).hex()}".encode()


def again(frames):
    """`frames` re-sent after a reconnection: meta 'again' tells the receiver it may have
    had it already (it answers a duplicate instead of refusing it)."""
    h = msgpack.unpackb(bytes(frames[0]), raw=False, strict_map_key=False)
    h["meta"]["again"] = True
    return [msgpack.packb(h, use_bin_type=True)] + list(frames[1:])


def frame_limit_error(frames, limit, what, peer):
    """The error text if a frame of `frames` is over `limit` bytes (the peer would drop
    the connection without a word), else None."""
    size = max(getattr(f, "nbytes", None) or len(f) for f in frames)
    if size <= limit:
        return None
    return (
        f"{what}: a frame of {size} bytes is over the message limit of {limit} bytes of "
        f"{peer}; set DISTNET_KVSTORE_MAX_MESSAGE={size + HEADER_SLACK} (or more) for the "
        f"servers, e.g. distnet-launch --env DISTNET_KVSTORE_MAX_MESSAGE=..., or use more "
        f"servers (arrays over DISTNET_KVSTORE_BIGARRAY_BOUND elements are split across them)"
    )


class DropLog:
    """Logs dropped messages (or refused connections) without flooding: the first few,
    then every 100th."""

    def __init__(self, who, what="dropped message"):
        self.who, self.what = who, what
        self.count = 0

    def __call__(self, err):
        self.count += 1
        if self.count <= 5 or self.count % 100 == 0:
            log.warning("%s: %s #%d: %s", self.who, self.what, self.count, err)
