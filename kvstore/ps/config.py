"""The job's settings, read from DMLC_* and DISTNET_* environment variables."""

import os
import socket

from ..base import KVStoreError
from .protocol import HEADER_SLACK


def _num(name, default, cast=float):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return cast(raw)
    except ValueError:
        raise KVStoreError(f"{name}={raw!r} is not a number") from None


#: Array bytes a server frame may hold by default (64 MiB: 16M float32 elements per key
#: part; big keys are split over the servers, so with S servers a key of 16*S million).
DEFAULT_ARRAY_BYTES = 64 << 20
#: The smallest cap accepted: batches of small messages are up to 4 MiB.
MIN_MESSAGE = 8 << 20


def max_message(bigarray_bound):
    """Largest frame (bytes) a server accepts: DISTNET_KVSTORE_MAX_MESSAGE, else the
    header's slack plus the larger of 64 MiB and `bigarray_bound` float64 elements.

    A worker checks its frames against its servers' caps and fails with a message naming
    the key and the value to set, rather than being dropped by the server mid-job.
    """
    default = HEADER_SLACK + max(DEFAULT_ARRAY_BYTES, 8 * bigarray_bound)
    value = _num("DISTNET_KVSTORE_MAX_MESSAGE", default, int)
    if value < MIN_MESSAGE:
        raise KVStoreError(
            f"DISTNET_KVSTORE_MAX_MESSAGE={value} is below the minimum of "
            f"{MIN_MESSAGE} bytes (8 MiB)"
        )
    return value


def route_address(remote):
    """This host's address on the route to `remote` (a UDP connect sends nothing).

    A server on another host than the scheduler must not bind the scheduler's address
    (it is not one of its own); ps-lite made users set DMLC_NODE_HOST/DMLC_INTERFACE per
    host, this finds it. Falls back to `remote` where it cannot resolve or route.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((remote, 9))
            return s.getsockname()[0]
    except OSError:
        return remote


class Config:
    """Snapshot of the environment a scheduler, server or worker runs with."""

    def __init__(self):
        env = os.environ
        self.root_uri = env.get("DMLC_PS_ROOT_URI", "127.0.0.1")
        self.root_port = _num("DMLC_PS_ROOT_PORT", 0, int)
        self.num_workers = _num("DMLC_NUM_WORKER", 1, int)
        self.num_servers = _num("DMLC_NUM_SERVER", 1, int)
        self.port_file = env.get("DISTNET_SCHEDULER_PORT_FILE")
        self.start_timeout = _num("DISTNET_START_TIMEOUT", 300.0)
        # Every blocking wait of a worker is bounded by this (seconds).
        self.timeout = _num("DISTNET_KVSTORE_TIMEOUT", 600.0)
        self.heartbeat = _num("DISTNET_KVSTORE_HEARTBEAT_INTERVAL", 1.0)
        # A peer silent this long is declared dead (MXNet's ps-lite: PS_HEARTBEAT_TIMEOUT).
        self.heartbeat_timeout = _num("DISTNET_KVSTORE_HEARTBEAT_TIMEOUT", 6.0)
        self.bigarray_bound = _num("DISTNET_KVSTORE_BIGARRAY_BOUND", 1000000, int)
        self.max_message = max_message(self.bigarray_bound)
        # Big arrays between a worker and a server on the same host go through shared
        # memory (kvstore/ps/shm.py) unless this is 0.
        self.shm = env.get("DISTNET_KVSTORE_SHM", "1") != "0"
        # Interface servers bind to (MXNet's DMLC_NODE_HOST); by default the address this
        # host uses to reach the scheduler, which is right on every host of a cluster.
        self.node_host = env.get("DMLC_NODE_HOST") or route_address(self.root_uri)
        self.worker_id = _num("DMLC_WORKER_ID", -1, int)
        self.server_id = _num("DMLC_SERVER_ID", -1, int)
        if self.num_workers < 1 or self.num_servers < 1:
            raise KVStoreError(
                f"DMLC_NUM_WORKER={self.num_workers} and DMLC_NUM_SERVER="
                f"{self.num_servers} must both be at least 1"
            )

    @property
    def scheduler_addr(self):
        """The scheduler's zmq endpoint."""
        if not self.root_port:
            raise KVStoreError("DMLC_PS_ROOT_PORT is not set: cannot reach the scheduler")
        return f"tcp://{self.root_uri}:{self.root_port}"
