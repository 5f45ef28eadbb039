"""A user's own kvstore.py / launcher.py in the working folder: a clear MXNetError naming
it, before any of it runs, instead of an AttributeError deep inside mx.kv."""

import os
import subprocess
import sys

import pytest

import distnet as mx
from distnet._sibling import check_sibling


def _run(cwd, code):
    env = dict(os.environ)
    # the installed/checked-out distnet must come from elsewhere than the user's folder
    root = os.path.dirname(os.path.dirname(os.path.abspath(mx.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize("shadow", ["kvstore.py", "kvstore/__init__.py"])
def test_user_kvstore_shadowing_names_the_file(tmp_path, shadow):
    path = tmp_path / shadow
    path.parent.mkdir(exist_ok=True)
    path.write_text("print('USER CODE RAN')\n")
    # '' (the working folder) is first on sys.path for `python -c`, as for a script
    out = _run(tmp_path, "import distnet as mx\nmx.kv.create('local')")
    assert out.returncode != 0
    assert "USER CODE RAN" not in out.stdout
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("distnet.base.MXNetError: 'import kvstore' resolves to ")
    assert str(tmp_path / "kvstore") in last and "shadows distnet's own 'kvstore'" in last


def test_kvstore_works_from_a_clean_folder(tmp_path):
    (tmp_path / "kvstore").mkdir()  # a bare folder (namespace package) loses to ours
    out = _run(tmp_path, "import distnet as mx\nprint(mx.kv.create('local').type)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "local"


def test_launcher_shadowing_is_refused_before_a_job_starts(tmp_path, monkeypatch):
    (tmp_path / "launcher.py").write_text("raise SystemExit('USER CODE RAN')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "launcher", raising=False)
    with pytest.raises(mx.MXNetError, match=r"'import launcher' resolves to .*launcher\.py"):
        check_sibling("launcher")
    with pytest.raises(mx.MXNetError, match="shadows distnet's own 'launcher'"):
        mx.testing.run_distributed("nowhere:fn", num_workers=1, timeout=5)
