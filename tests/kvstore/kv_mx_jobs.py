"""Worker functions of the multi-process tests that use distnet itself (mx.kv, the real
optimizers on the servers, gluon's Trainer); run by distnet.testing.run_distributed."""
import zlib

import numpy as np

# key -> (shape, dtype); 'big' is split over both servers (the tests set the bound to 20)
OPT_KEYS = {3: ((4, 5), 'float32'), 'big': ((30,), 'float32'), 'h': ((6,), 'float16')}
OPT_STEPS = 4
SAVE_AT, LOAD_AT = 2, 3   # states saved before step 2's push, loaded before step 3's


def initial(key):
    """The value rank 0 initialises `key` with."""
    shape, dtype = OPT_KEYS[key]
    rng = np.random.default_rng([zlib.crc32(str(key).encode())])
    return rng.uniform(-1, 1, shape).astype(dtype)


def gradient(rank, step, key):
    """Worker `rank`'s gradient of `key` at `step`."""
    shape, dtype = OPT_KEYS[key]
    rng = np.random.default_rng([rank, step, zlib.crc32(str(key).encode())])
    return rng.standard_normal(shape).astype(dtype)


def server_optimizer(name, params, states_file):
    """Servers run optimizer `name`; every step each worker pushes its gradients and
    pulls the weights; rank 0 saves the servers' states before step SAVE_AT and loads them
    back before step LOAD_AT.  Returns the weights after every step."""
    import distnet as mx
    kv = mx.kv.create('dist_sync')
    rank, keys = kv.rank, list(OPT_KEYS)
    kv.set_optimizer(mx.optimizer.create(name, **params))
    kv.init(keys, [mx.nd.array(initial(k), dtype=OPT_KEYS[k][1]) for k in keys])
    outs = [mx.nd.zeros(OPT_KEYS[k][0], dtype=OPT_KEYS[k][1]) for k in keys]
    hist = []
    for step in range(OPT_STEPS):
        if step in (SAVE_AT, LOAD_AT):
            kv.barrier()
            if rank == 0 and step == SAVE_AT:
                kv.save_optimizer_states(states_file)
            if rank == 0 and step == LOAD_AT:
                kv.load_optimizer_states(states_file)
            kv.barrier()
        kv.push(keys, [mx.nd.array(gradient(rank, step, k), dtype=OPT_KEYS[k][1])
                       for k in keys])
        kv.pull(keys, out=outs)
        hist.append({str(k): o.asnumpy().tolist() for k, o in zip(keys, outs)})
    kv.close()
    return {'rank': rank, 'hist': hist}
