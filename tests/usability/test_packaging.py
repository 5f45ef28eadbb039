"""The published artefacts: the sdist and the wheel build, install into clean virtual
environments, and work there (the main job from the wheel, the sdist's own tests).

Slow (several minutes: fresh venvs and installs from the package index):
``pytest -m slow tests/usability/test_packaging.py``.
"""

import glob
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(argv, cwd, timeout=600):
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{argv}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _venv(path):
    _run([sys.executable, "-m", "venv", str(path)], cwd=str(path.parent))
    return str(path / "bin" / "python")


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """(sdist, wheel) built by `python -m build` in a clean environment."""
    tmp = tmp_path_factory.mktemp("dist")
    python = _venv(tmp / "buildenv")
    _run([python, "-m", "pip", "install", "-q", "build"], cwd=str(tmp))
    _run([python, "-m", "build", "--sdist", "--wheel", "-o", str(tmp / "out"), ROOT], cwd=str(tmp))
    (sdist,) = glob.glob(str(tmp / "out" / "distnet_mx-*.tar.gz"))
    (wheel,) = glob.glob(str(tmp / "out" / "distnet_mx-*-py3-none-any.whl"))
    return sdist, wheel


@pytest.mark.slow
def test_metadata_name_licence_and_contents(artefacts):
    sdist, wheel = artefacts
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        meta = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Name: distnet-mx" in meta and "License-Expression: Apache-2.0" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "distnet/examples/train_mnist.py" in names
    assert {"kvstore/__init__.py", "launcher/__init__.py"} <= set(names)
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    for needed in (
        "LICENSE",
        "tests/conftest.py",
        "scripts/train_mnist.py",
        "tests/fixtures/mxnet/logs.txt",
        "tests/usability/usability_targets.py",
    ):
        assert needed in members


@pytest.mark.slow
def test_wheel_runs_the_main_job_outside_a_clone(artefacts, tmp_path):
    python = _venv(tmp_path / "env")
    _run([python, "-m", "pip", "install", "-q", artefacts[1]], cwd=str(tmp_path))
    work = tmp_path / "elsewhere"
    work.mkdir()
    alone = _run([python, "-m", "distnet.examples.train_mnist", "--num-epochs", "2"], cwd=str(work))
    assert "Epoch[1] Validation-accuracy=" in alone.stderr
    launch = str(tmp_path / "env" / "bin" / "distnet-launch")
    job = _run(
        [
            launch,
            "-n",
            "2",
            "-s",
            "1",
            python,
            "-m",
            "distnet.examples.train_mnist",
            "--kv-store",
            "dist_sync",
            "--num-epochs",
            "2",
        ],
        cwd=str(work),
    )
    text = job.stdout + job.stderr
    assert "[worker 1]" in text and "Node[1] Test-accuracy=" in text


@pytest.mark.slow
def test_sdist_installs_and_its_tests_pass(artefacts, tmp_path):
    python = _venv(tmp_path / "env")
    _run([python, "-m", "pip", "install", "-q", artefacts[0] + "[test]"], cwd=str(tmp_path))
    with tarfile.open(artefacts[0]) as tar:
        tar.extractall(tmp_path / "src")
    (src,) = glob.glob(str(tmp_path / "src" / "distnet_mx-*"))
    pytest_bin = str(tmp_path / "env" / "bin" / "pytest")  # the installed distnet, not ./
    out = _run(
        [
            pytest_bin,
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_callback.py",
            "tests/module/test_checkpoint.py",
            "tests/usability/test_best_resume.py",
            "tests/usability/test_logging_namespace.py",
            "tests/usability/test_profiler.py",
        ],
        cwd=src,
    )
    assert " passed" in out.stdout and "failed" not in out.stdout
