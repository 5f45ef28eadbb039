"""mx.profiler: MXNet's API, the Chrome trace-event JSON MXNet writes, the aggregate
table, per-worker files under the launcher."""

import json

import numpy as np
import pytest

import distnet as mx
from distnet import profiler

import usability_targets


@pytest.fixture(autouse=True)
def _fresh_profiler():
    yield
    profiler.set_state("stop")
    profiler._EVENTS.clear()
    profiler._AGG_FROM[0] = 0
    profiler._CONFIG.clear()
    profiler._CONFIG.update(filename="profile.json", aggregate_stats=False)
    profiler._STATE["cats"] = None


def _workload():
    x = mx.nd.ones((4, 4))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.FullyConnected(x, mx.nd.ones((3, 4)), mx.nd.zeros(3), num_hidden=3)
        z = (y * 2).sum()
    z.backward()
    kv = mx.kv.create("local")
    kv.init(3, mx.nd.ones((2,)))
    kv.push(3, mx.nd.ones((2,)))
    out = mx.nd.zeros((2,))
    kv.pull(3, out=out)
    net = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"), name="softmax"
    )
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(np.ones((8, 3), "f"), np.zeros(8, "f"), 4), num_epoch=1)


def _pairs(events):
    """(cat, name) of every B event, checking each has its E on the same thread."""
    open_, names = {}, []
    for e in events:
        if e["ph"] == "B":
            open_.setdefault((e["tid"], e["name"]), []).append(e["ts"])
            names.append((e["cat"], e["name"]))
        elif e["ph"] == "E":
            start = open_[(e["tid"], e["name"])].pop()
            assert e["ts"] >= start
    assert not any(open_.values())
    return names


def test_trace_has_operator_autograd_executor_and_kvstore_events(tmp_path):
    fname = str(tmp_path / "profile.json")
    mx.profiler.set_config(profile_all=True, filename=fname, aggregate_stats=True)
    mx.profiler.set_state("run")
    assert mx.profiler.get_state() == "run"
    _workload()
    mx.profiler.set_state("stop")
    mx.nd.ones((2,)) * 3  # not recorded
    assert mx.profiler.dump() == fname
    trace = json.load(open(fname))
    assert trace["displayTimeUnit"] == "ms"
    events = trace["traceEvents"]
    assert {"ph": "M", "args": {"name": "distnet"}, "pid": 0, "name": "process_name"} in events
    names = _pairs(events)
    for expected in [
        ("operator", "FullyConnected"),
        ("operator", "_mul_scalar"),
        ("operator", "sum"),
        ("operator", "_backward_FullyConnected"),
        ("operator", "_backward_mul_scalar"),
        ("operator", "_backward_sum"),
        ("autograd", "MXAutogradBackwardEx"),
        ("executor", "MXExecutorForward"),
        ("executor", "MXExecutorBackwardEx"),
        ("kvstore", "MXKVStoreInit"),
        ("kvstore", "MXKVStorePush"),
        ("kvstore", "MXKVStorePull"),
    ]:
        assert expected in names
    assert names.count(("executor", "MXExecutorForward")) == 2  # two batches
    assert ("operator", "_mul_scalar") in names and names.count(("operator", "_mul_scalar")) == 1
    assert all(isinstance(e["ts"], int) and e["ts"] > 1.7e15 for e in events if "ts" in e)


def test_category_flags_select_what_is_recorded(tmp_path):
    mx.profiler.set_config(profile_symbolic=True, filename=str(tmp_path / "p.json"))
    mx.profiler.set_state("run")
    _workload()
    mx.profiler.set_state("stop")
    cats = {e.get("cat") for e in json.load(open(mx.profiler.dump()))["traceEvents"]}
    assert cats == {None, "executor"}


def test_pause_resume_and_user_objects(tmp_path):
    mx.profiler.set_config(profile_all=True, filename=str(tmp_path / "p.json"))
    mx.profiler.set_state("run")
    mx.profiler.pause()
    mx.nd.ones((2,)) + 1
    mx.profiler.resume()
    mx.nd.ones((2,)) - 1
    domain = mx.profiler.Domain("mydomain")
    with domain.new_task("mytask"):
        pass
    counter = mx.profiler.Counter(domain, "mycounter", 5)
    counter += 2
    mx.profiler.Marker(domain, "mymarker").mark()
    event = mx.profiler.Event("myevent")
    event.start()
    event.stop()
    mx.profiler.set_state("stop")
    events = json.load(open(mx.profiler.dump()))["traceEvents"]
    ops = [e["name"] for e in events if e.get("cat") == "operator" and e["ph"] == "B"]
    assert ops == ["_minus_scalar"]
    by_name = {(e["name"], e["ph"]): e for e in events}
    assert by_name[("mytask", "b")]["cat"] == "mydomain"
    assert by_name[("mytask", "b")]["id"] == by_name[("mytask", "e")]["id"]
    assert [e["args"] for e in events if e["name"] == "mycounter"] == [
        {"mycounter": 5},
        {"mycounter": 7},
    ]
    assert by_name[("mymarker", "i")]["cat"] == "mydomain,instant_marker"
    assert by_name[("myevent", "B")]["cat"] == "event"


def test_dumps_table_json_reset_and_bad_arguments(tmp_path):
    mx.profiler.set_config(profile_imperative=True, filename=str(tmp_path / "p.json"))
    mx.profiler.set_state("run")
    for _ in range(3):
        mx.nd.ones((2,)) * 2
    mx.profiler.set_state("stop")
    table = mx.profiler.dumps()
    lines = table.splitlines()
    assert lines[1:3] == [
        "Profile Statistics:",
        "\tNote the difference in units for different entries.",
    ]
    at = lines.index("operator")
    assert lines[at + 1] == "================="
    assert lines[at + 2] == (
        "Name                          Total Count        Time (ms)"
        "    Min Time (ms)    Max Time (ms)    Avg Time (ms)"
    )
    row = lines[at + 4]
    assert row.startswith("_mul_scalar") and row.split()[1] == "3" and len(row) == 109
    stats = json.loads(mx.profiler.dumps(format="json", reset=True))
    assert stats["Time"]["operator"]["_mul_scalar"]["Count"] == 3
    assert "operator" not in mx.profiler.dumps()  # reset
    with pytest.raises(mx.MXNetError, match="format"):
        mx.profiler.dumps(format="csv")
    with pytest.raises(mx.MXNetError, match="profile_everything"):
        mx.profiler.set_config(profile_everything=True)
    with pytest.raises(mx.MXNetError, match="'go'"):
        mx.profiler.set_state("go")


def test_each_worker_writes_its_own_trace_with_kvstore_waits(tmp_path, run_distributed):
    job = run_distributed(
        usability_targets.profile_worker,
        num_workers=2,
        num_servers=1,
        timeout=60,
        args=(str(tmp_path),),
    )
    job.check()
    files = sorted(w.result for w in job.workers)
    assert files == [str(tmp_path / "prof-rank0.json"), str(tmp_path / "prof-rank1.json")]
    for rank, fname in enumerate(files):
        events = json.load(open(fname))["traceEvents"]
        assert {
            "ph": "M",
            "args": {"name": f"worker {rank}"},
            "pid": rank,
            "name": "process_name",
        } in events
        names = _pairs(events)
        assert names.count(("kvstore", "MXKVStorePush")) == 3
        assert names.count(("kvstore", "MXKVStorePull")) == 3
        assert ("kvstore", "KVStoreWait") in names
