"""mx.kv details MXNet 1.9.1 users rely on: ``type`` is the created name; one in-process
store takes int keys or str keys, not both."""

import pytest

import distnet as mx


@pytest.mark.parametrize(
    "name,kind",
    [
        ("local", "local"),
        ("local_allreduce_cpu", "local"),
        ("Local", "local"),
        ("device", "device"),
    ],
)
def test_type_is_the_lowercased_name(name, kind):
    kv = mx.kv.create(name)
    assert kv.type == name.lower() and kv._kind == kind


def test_mixed_key_types_raise_on_in_process_stores():
    kv = mx.kv.create("local")
    kv.init(3, mx.nd.ones((2,)))
    for call in (
        lambda: kv.init("a", mx.nd.ones((2,))),
        lambda: kv.push("a", mx.nd.ones((2,))),
        lambda: kv.pull(["a", "b"], out=[mx.nd.ones((2,))] * 2),
    ):
        with pytest.raises(mx.MXNetError, match="mixed key types are not allowed"):
            call()
    out = mx.nd.zeros((2,))
    kv.pull(3, out=out)
    assert out.asnumpy().tolist() == [1.0, 1.0]
    kv = mx.kv.create("local")
    kv.init(["a", "b"], [mx.nd.ones((2,))] * 2)
    with pytest.raises(mx.MXNetError, match="key 5: .*uses str keys"):
        kv.init(5, mx.nd.ones((2,)))
