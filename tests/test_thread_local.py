"""Per-thread state as MXNet keeps it: the current context (``Context.default_ctx``), the
attribute scope (``AttrScope.current``), the name manager (``NameManager.current``) and
the Gluon block scope. A thread that sets one never changes another thread's."""

import threading

import pytest

import distnet as mx
from distnet.attribute import AttrScope
from distnet.base import MXNetError
from distnet.context import Context
from distnet.gluon.block import _BlockScope
from distnet.name import NameManager


def _in_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(timeout=30)
    assert out, "the thread did not finish"
    return out[0]


def _while_other_thread_sets(inside, setter):
    """Run ``inside()`` in a thread, paused while this thread runs ``setter()``."""
    go, result = threading.Event(), []

    def body():
        result.append(inside(go.wait))

    thread = threading.Thread(target=body)
    thread.start()
    setter()
    go.set()
    thread.join(timeout=30)
    return result[0]


def test_default_ctx_is_per_thread_and_settable():
    assert Context.default_ctx == mx.cpu(0)
    assert _in_thread(
        lambda: (mx.test_utils.set_default_context(mx.gpu(11)), Context.default_ctx)[1]
    ) == mx.gpu(11)
    assert Context.default_ctx == mx.cpu(0)

    def inside(wait):
        with mx.cpu(10):
            wait()
            return Context.default_ctx

    old = Context.default_ctx
    try:
        seen = _while_other_thread_sets(inside, lambda: setattr(Context, "default_ctx", mx.cpu(11)))
        assert seen == mx.cpu(10)
        assert Context.default_ctx == mx.cpu(11) == mx.current_context()
        assert mx.nd.ones((1,)).context == mx.cpu(11)
    finally:
        Context.default_ctx = old
    with mx.cpu(3):  # set inside a with block: the block's end restores the outer one
        Context.default_ctx = mx.cpu(4)
        assert mx.current_context() == mx.cpu(4)
    assert mx.current_context() == old
    with pytest.raises(MXNetError, match="must be a Context"):
        Context.default_ctx = "cpu"


def test_attr_scope_current_is_per_thread():
    old = AttrScope.current
    try:
        AttrScope.current = AttrScope(y="hi", z="hey")
        assert _in_thread(lambda: AttrScope.current._attr) == {}

        def inside(wait):
            with AttrScope(x="hello"):
                wait()
                return dict(AttrScope.current._attr), mx.sym.var("v").list_attr()

        def setter():
            AttrScope.current = AttrScope(x="hi")

        assert _while_other_thread_sets(inside, setter) == ({"x": "hello"},) * 2
        assert mx.sym.var("w").list_attr() == {"x": "hi"}
    finally:
        AttrScope.current = old


def test_name_manager_current_is_per_thread():
    old = NameManager.current
    try:
        NameManager.current = NameManager()
        NameManager.current.get(None, "main_thread")
        assert "main_thread" not in _in_thread(lambda: NameManager.current._counter)

        def inside(wait):
            with NameManager():
                wait()
                return mx.sym.FullyConnected(mx.sym.var("d"), num_hidden=2).name

        def setter():
            NameManager.current = NameManager()
            mx.sym.FullyConnected(mx.sym.var("d"), num_hidden=2)

        assert _while_other_thread_sets(inside, setter) == "fullyconnected0"
    finally:
        NameManager.current = old


def test_block_scope_is_per_thread():
    class Named:
        prefix, _empty_prefix = "spawned_", False

    def inside(wait):
        with _BlockScope(Named()):
            name = NameManager.current.get(None, "hello")
            wait()
            return name, NameManager.current.get(None, "hello")

    seen = _while_other_thread_sets(inside, lambda: _BlockScope.create("main_thread", None, "hi"))
    assert seen == ("spawned_hello0", "spawned_hello1")
    layer = _in_thread(lambda: mx.gluon.nn.Dense(2, prefix="t_"))
    assert layer.weight.name == "t_weight"


def test_np_shape_thread_and_global_levels():
    from distnet.util import is_np_shape, set_np_shape

    try:
        assert set_np_shape(1) is False and is_np_shape()
        assert _in_thread(is_np_shape) is False  # 1: this thread only
        assert set_np_shape(2) is True
        assert _in_thread(is_np_shape) is True  # 2: every thread
        assert _in_thread(lambda: set_np_shape(1)) is True and is_np_shape()
        assert set_np_shape(0) is True  # 0: off here and globally
        assert not is_np_shape() and _in_thread(is_np_shape) is False
        with pytest.raises(MXNetError, match="expected 0 .off., 1 .this thread. or 2"):
            set_np_shape(3)
    finally:
        set_np_shape(0)
