"""The ZAP handler of a server or scheduler process: zmq asks it about every connection.

A peer is admitted when it speaks PLAIN with the user `protocol.ZAP_USER` and the job
token as password; anything else is refused during the handshake, before it can send a
message, and its address is logged (rate-limited). The token in each message header stays
as a second check. zmq's PLAIN sends the password in clear, like the header does: this
keeps other jobs and strangers out, it does not hide the token from someone on the path.
"""

import hmac
import os
import threading

import zmq

from .protocol import ZAP_USER, DropLog

#: Where libzmq sends its authentication requests (fixed by the ZAP specification).
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


class Gate(threading.Thread):
    """The ZAP handler of one zmq context: admits a PLAIN peer whose password is the job
    token and logs (rate-limited) the address of every peer it turns away.

    One per context (libzmq has one ZAP endpoint per context); `Gate.open(ctx, token)`
    starts it once and returns it, `close()` stops it within 0.1 s.
    """

    _gates = {}
    _lock = threading.Lock()

    def __init__(self, ctx, token):
        super().__init__(name="kvstore-zap", daemon=True)
        self.token = token.encode()
        self.sock = ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(ZAP_ENDPOINT)
        self.refused = DropLog(os.environ.get("DMLC_ROLE", "kvstore"), "refused connection")
        self._closing = False

    @classmethod
    def open(cls, ctx, token):
        """The running gate of `ctx`, started on first use."""
        with cls._lock:
            gate = cls._gates.get(id(ctx))
            if gate is None or not gate.is_alive():
                gate = cls._gates[id(ctx)] = cls(ctx, token)
                gate.start()
            return gate

    def verdict(self, request):
        """The ZAP reply frames for one request (RFC 27: version, id, code, text, user, meta)."""
        version, rid = request[0], request[1] if len(request) > 1 else b""
        ok = (
            len(request) >= 8
            and version == b"1.0"
            and request[5] == b"PLAIN"
            and request[6] == ZAP_USER
            and hmac.compare_digest(request[7], self.token)
        )
        if not ok:
            addr = request[3].decode(errors="replace") if len(request) > 3 else "?"
            self.refused(f"from {addr}: wrong or missing job token")
        return [
            b"1.0",
            rid,
            b"200" if ok else b"400",
            b"OK" if ok else b"wrong job token",
            b"",
            b"",
        ]

    def run(self):
        try:
            while not self._closing:
                if self.sock.poll(100):
                    self.sock.send_multipart(self.verdict(self.sock.recv_multipart()))
        except zmq.ZMQError:
            pass  # the context is being destroyed
        finally:
            self.sock.close()

    def close(self):
        """Stop serving (the process is about to destroy its context)."""
        self._closing = True
        if self.is_alive() and threading.current_thread() is not self:
            self.join(1.0)
        with self._lock:
            Gate._gates = {k: g for k, g in Gate._gates.items() if g is not self}
