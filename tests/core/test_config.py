"""distnet/config.py is the one home of distnet's settings, and the README's table of
environment variables is checked against it and against the settings the framework-free
packages (kvstore/, launcher/) read themselves."""

import os
import re

import pytest

from distnet import config
from distnet.base import MXNetError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VAR = re.compile(r"""["']((?:DISTNET|DMLC|MXNET)_[A-Z0-9_]+)["']""")
# Set by the launcher for the processes it starts, not by users.
PLUMBING = {
    "DISTNET_SCHEDULER_PORT_FILE": "the scheduler's port, launcher -> roles",
    "DISTNET_RESULT_DIR": "distnet.testing's result folder",
    "DISTNET_SCHEDULER_CMD": "the launcher's scheduler command",
    "DISTNET_SERVER_CMD": "the launcher's server command",
    "DMLC_SERVER_ID": "a server's index, set by the launcher",
}


def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def _sources(package):
    for folder, _, files in os.walk(os.path.join(ROOT, package)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    yield os.path.relpath(path, ROOT), f.read()


def test_readme_table_holds_every_distnet_setting_as_declared():
    readme = _readme().splitlines()
    for row in config.readme_rows():
        assert row in readme, f"README.md lacks (or differs from) the row\n{row}"
    table = [line for line in readme if re.match(r"\| `[A-Z]+_[A-Z0-9_]+` \|", line)]
    assert len(table) == len(set(table))


def test_every_variable_the_packages_read_is_documented():
    readme = _readme()
    for package in ("kvstore", "launcher", "distnet"):
        for path, text in _sources(package):
            for name in set(VAR.findall(text)) - set(PLUMBING) - {"MXNET_VERSION"}:
                assert f"`{name}`" in readme, f"{name} (read in {path}) is not in README.md"


def test_only_the_settings_module_reads_the_environment_in_distnet():
    readers = {
        path for path, text in _sources("distnet") if re.search(r"os\.(environ|getenv)\b", text)
    }
    # testing.py builds the environment of the jobs it starts; _memory.py looks for any
    # MALLOC_* variable (the user tuning malloc) before tuning it itself; util.getenv/setenv
    # and test_utils.environment are MXNet's API for reading and setting variables.
    assert readers == {
        "distnet/config.py",
        "distnet/testing.py",
        "distnet/ops/_memory.py",
        "distnet/util.py",
        "distnet/test_utils.py",
    }


def test_get_parses_by_declaration(monkeypatch):
    monkeypatch.delenv("DISTNET_GRAD_OVERLAP", raising=False)
    assert config.get("DISTNET_GRAD_OVERLAP") is None  # unset: each user's own default
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "0")
    assert config.get("DISTNET_GRAD_OVERLAP") is False
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "")
    assert config.get("MXNET_OPTIMIZER_AGGREGATION_SIZE") == 4  # empty: the default
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "7")
    assert config.get("MXNET_OPTIMIZER_AGGREGATION_SIZE") == 7
    monkeypatch.setenv("DISTNET_KEEP_FREED_MEMORY", "yes")
    with pytest.raises(MXNetError, match="DISTNET_KEEP_FREED_MEMORY='yes': expected an integer"):
        config.get("DISTNET_KEEP_FREED_MEMORY")
    with pytest.raises(MXNetError, match="unknown distnet setting 'DISTNET_NOPE'"):
        config.get("DISTNET_NOPE")
