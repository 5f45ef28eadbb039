"""Parameter-server and collective gradient aggregation on plain numpy/cupy arrays.

`kvstore.create(name)` returns a store ('local', 'device', 'dist_sync', 'dist_async',
'dist_device_sync', 'mpi', or any name MXNet accepts; a class registered with
`kvstore.register` is created by its lower-cased class name).  Importing this package is cheap: zmq, msgpack and mpi4py
are imported only by the backends that need them.
"""

from .base import KVStore, KVStoreBase, KVStoreError, create, register  # noqa: F401
from .updaters import register_updater_factory  # noqa: F401
