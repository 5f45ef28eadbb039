"""The library logs through named loggers only and never configures the root logger; the
``mx`` namespace answers attribute probes as Python modules do."""

import subprocess
import sys
import textwrap

import pytest

import distnet as mx

SCRIPT = textwrap.dedent("""
    import logging, os, sys
    import numpy as np
    import distnet as mx

    # library calls that log, BEFORE the user configures logging (MXNet's examples do
    # this: build, save, then logging.basicConfig in main)
    x = np.random.RandomState(0).rand(32, 4).astype('float32')
    y = (x[:, 0] > 0.5).astype('float32')
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable('data'),
                               num_hidden=2, name='fc'), name='softmax')
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(x, y, 8), num_epoch=1)
    mx.model.save_checkpoint(os.path.join(sys.argv[1], 'early'), 1, net,
                             *mod.get_params())
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5)
    sched.base_lr = 1.0
    sched(5)
    assert logging.getLogger().handlers == [], logging.getLogger().handlers
    print('ROOT-UNTOUCHED', flush=True)

    logging.basicConfig(level=logging.INFO, format='%(name)s|%(message)s')
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(x, y, 8), num_epoch=2,
            batch_end_callback=mx.callback.Speedometer(8, 2),
            epoch_end_callback=mx.callback.do_checkpoint(os.path.join(sys.argv[1], 'late')))
""")


def test_user_basic_config_after_library_calls_shows_mxnet_lines(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "ROOT-UNTOUCHED" in out.stdout
    lines = out.stderr.splitlines()
    # nothing was printed for the early calls (INFO is below Python's last-resort level)
    assert not any("early" in line for line in lines), lines
    for epoch in (0, 1):
        assert f"distnet.module|Epoch[{epoch}] Train-accuracy=" in out.stderr
        assert any(line.startswith(f"distnet.module|Epoch[{epoch}] Time cost=") for line in lines)
    assert "distnet.callback|Epoch[0] Batch [0-2]\tSpeed: " in out.stderr
    assert 'distnet.model|Saved checkpoint to "%s"' % (tmp_path / "late-0002.params") in out.stderr


def test_module_logger_argument_is_kept():
    import logging

    custom = logging.getLogger("my.training")
    net = mx.sym.Variable("data")
    assert mx.mod.Module(net, label_names=None, logger=custom).logger is custom
    assert mx.mod.Module(net, label_names=None).logger.name == "distnet.module"


@pytest.mark.parametrize("name", ["not_yet_a_module", "no_such_thing"])
def test_probes_of_missing_namespaces_answer_like_python(name, monkeypatch):
    # a namespace distnet names (as MXNet has it) but has no module for yet, and a name
    # that was never one: both answer as any Python module does
    monkeypatch.setitem(mx._SUBMODULES, "not_yet_a_module", "not_yet_a_module")
    assert not hasattr(mx, name)
    assert getattr(mx, name, None) is None
    assert name not in dir(mx)
    with pytest.raises(AttributeError, match=name):
        getattr(mx, name)


def test_dir_lists_only_names_that_resolve():
    names = dir(mx)
    for expected in ("nd", "sym", "gluon", "kv", "mod", "profiler"):
        assert expected in names
    assert all(hasattr(mx, n) for n in names)


def test_import_is_cheap_and_loads_no_submodule():
    code = (
        "import sys, time; t = time.perf_counter(); import distnet; "
        "print(time.perf_counter() - t); "
        "print(sorted(m for m in sys.modules if m.startswith('distnet.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert float(out[0]) < 1.0  # ~0.05 s unloaded; generous for a shared machine
    assert "distnet.ndarray" not in out[1] and "distnet.profiler" not in out[1]
