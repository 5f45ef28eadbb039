"""distnet.mxnet_alias: code that does `import mxnet` runs on distnet, unedited."""

import os
import subprocess
import sys
import textwrap
import warnings

import pytest

import distnet
from distnet import mxnet_alias

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A script written for MXNet: every import form a user's code has, a small computation,
# its argv and __name__ printed so the test can see how it was run.
MX_SCRIPT = """\
import sys
import mxnet as mx
import mxnet.gluon.nn
import mxnet.ndarray as mnd
from mxnet import nd, autograd
from mxnet.gluon import nn
import distnet

assert mx is distnet, mx
assert mxnet.gluon.nn is distnet.gluon.nn and nn is mxnet.gluon.nn
assert nd is mnd is distnet.ndarray and mx.nd is nd
net = mxnet.gluon.nn.Dense(3, in_units=2)
net.initialize(mx.init.One())
x = nd.array([[1, 2]])
x.attach_grad()
with autograd.record():
    y = net(x).sum()
y.backward()
print("RESULT", __name__, y.asscalar(), x.grad.asnumpy().tolist(), sys.argv[1:])
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[-1]))
"""


def _run(args, cwd, env_extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([REPO] + [p for p in [env.get("PYTHONPATH")] if p])
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "mx_script.py"
    path.write_text(MX_SCRIPT)
    return path


def test_script_runs_as_main_with_its_argv(script, tmp_path):
    res = _run(["-m", "distnet.mxnet_alias", str(script), "--lr", "0.1", "--force"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # Dense(3) with weights One() (biases are zero by MXNet's name rule) on [1, 2]: 3 * 3 = 9
    assert "RESULT __main__ 9.0 [[3.0, 3.0]] ['--lr', '0.1', '--force']" in res.stdout


def test_script_exit_code_and_errors_pass_through(script, tmp_path):
    res = _run(["-m", "distnet.mxnet_alias", str(script), "--exit", "3"], cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("import mxnet as mx\nmx.nd.ones((2, 3)).reshape((4,))\n")
    res = _run(["-m", "distnet.mxnet_alias", str(bad)], cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "MXNetError" in res.stderr and 'bad.py", line 2' in res.stderr


def test_run_module_with_dash_m(script, tmp_path):
    pkg = tmp_path / "thirdparty"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text(MX_SCRIPT)
    res = _run(
        ["-m", "distnet.mxnet_alias", "-m", "thirdparty.train", "--epochs", "2"], cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "RESULT __main__ 9.0 [[3.0, 3.0]] ['--epochs', '2']" in res.stdout


def test_usage_errors(tmp_path):
    res = _run(["-m", "distnet.mxnet_alias"], cwd=tmp_path)
    assert res.returncode == 2 and "no script given" in res.stderr
    res = _run(["-m", "distnet.mxnet_alias", "missing.py"], cwd=tmp_path)
    assert res.returncode == 2 and "can't open file 'missing.py'" in res.stderr
    res = _run(["-m", "distnet.mxnet_alias", "--verbose", "x.py"], cwd=tmp_path)
    assert res.returncode == 2 and "unknown option '--verbose'" in res.stderr


def test_a_real_mxnet_is_not_shadowed_unless_forced(script, tmp_path):
    fake = tmp_path / "site" / "mxnet"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("print('REAL MXNET'); __version__ = '1.9.1'\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), REPO])}
    res = _run(["-m", "distnet.mxnet_alias", str(script)], cwd=tmp_path, env_extra=env)
    assert res.returncode == 2 and "a real mxnet is installed" in res.stderr
    assert str(fake / "__init__.py") in res.stderr and "RESULT" not in res.stdout
    res = _run(["-m", "distnet.mxnet_alias", "--force", str(script)], cwd=tmp_path, env_extra=env)
    assert res.returncode == 0, res.stderr
    assert "REAL MXNET" not in res.stdout and "RESULT __main__ 9.0" in res.stdout
    # In code: install() warns, returns False and the real one is what imports.
    code = (
        "import warnings, distnet.mxnet_alias as a\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    print('INSTALLED', a.install())\n"
        "print('WARNED', 'real mxnet is installed' in str(w[0].message))\n"
        "import mxnet; print('VERSION', mxnet.__version__)\n"
    )
    res = _run(["-c", code], cwd=tmp_path, env_extra=env)
    assert res.stdout.split("\n")[:3] == ["INSTALLED False", "WARNED True", "REAL MXNET"]
    assert "VERSION 1.9.1" in res.stdout


def test_install_after_a_real_mxnet_was_imported_fails(tmp_path):
    fake = tmp_path / "mxnet"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    code = (
        "import mxnet, distnet.mxnet_alias as a\n"
        "try:\n    a.install(force=True)\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    res = _run(["-c", code], cwd=tmp_path)
    assert "MXNetError" in res.stdout and "already imported" in res.stdout, res.stderr


@pytest.fixture
def alias():
    """The alias installed in this process for one test, then removed again."""
    assert "mxnet" not in sys.modules
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no real mxnet in the test environment
        assert mxnet_alias.install() is True
    yield
    mxnet_alias.uninstall()
    assert not mxnet_alias.installed() and "mxnet" not in sys.modules


def test_one_liner_in_code_serves_a_third_party_package(alias, tmp_path, monkeypatch):
    pkg = tmp_path / "uses_mxnet"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent("""\
        import mxnet as mx
        from mxnet.gluon import nn
        from mxnet import sym, mod, kv
        def model():
            net = nn.HybridSequential()
            net.add(nn.Dense(4, activation='relu'), nn.Dense(2))
            return net
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import uses_mxnet

        assert uses_mxnet.mx is distnet
        assert uses_mxnet.sym is distnet.symbol and uses_mxnet.mod is distnet.module
        assert uses_mxnet.kv is distnet.kvstore
        net = uses_mxnet.model()
        assert isinstance(net, distnet.gluon.nn.HybridSequential)
        net.initialize()
        assert net(distnet.nd.ones((3, 5))).shape == (3, 2)
    finally:
        sys.modules.pop("uses_mxnet", None)


def test_short_names_map_to_distnet_modules(alias):
    import importlib
    import importlib.util

    assert importlib.import_module("mxnet.nd.random") is distnet.ndarray.random
    assert importlib.import_module("mxnet.gluon.data.vision") is distnet.gluon.data.vision
    assert importlib.import_module("mxnet.init") is distnet.initializer
    # distnet's own module specs are left truthful (the import system rewrites them)
    assert importlib.util.find_spec("distnet.gluon").name == "distnet.gluon"
    with pytest.raises(ModuleNotFoundError, match="'mxnet.not_a_module'.*'distnet.not_a_"):
        importlib.import_module("mxnet.not_a_module")


def test_target_names():
    assert mxnet_alias.target_name("mxnet") == "distnet"
    assert mxnet_alias.target_name("mxnet.sym") == "distnet.symbol"
    assert mxnet_alias.target_name("mxnet.mod.module") == "distnet.module.module"
    assert mxnet_alias.target_name("mxnet.visualization") == "distnet.viz"
    assert mxnet_alias.target_name("mxnetwork") is None
    assert mxnet_alias.target_name("numpy") is None
