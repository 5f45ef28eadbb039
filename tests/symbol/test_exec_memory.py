"""``Executor.debug_str`` reports the memory a pass allocates (``Total N MB allocated``,
as MXNet): gradients only where backward computes one."""

import re

import distnet as mx


def _mb(exe):
    return int(re.search(r"Total (\d+) MB allocated\n$", exe.debug_str()).group(1))


def test_memory_shrinks_without_gradients():
    data = mx.sym.var("data")
    for _ in range(4):
        data = data * data  # 4 products of 10*3*128*128 float32 = 1.875 MiB each
    shape = {"data": (10, 3, 128, 128)}
    full = _mb(data.simple_bind(mx.cpu(), **shape))
    no_grad = _mb(data.simple_bind(mx.cpu(), grad_req="null", **shape))
    stopped = _mb(mx.sym.stop_gradient(data).simple_bind(mx.cpu(), **shape))
    assert (full, no_grad, stopped) == (13, 7, 7)  # 7 = 4 outputs, 13 = + 3 gradients
    text = mx.sym.stop_gradient(data).simple_bind(mx.cpu(), **shape).debug_str()
    assert text.startswith("Variable:data\n") and "Op:elemwise_mul" in text
