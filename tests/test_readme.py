"""The README's commands and code, read from the README itself so they cannot drift: the
test command is what CI runs, the main job's install is CI's, the main job trains, every
Python block runs, and the examples and benchmark sections match the repository."""

import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test,mpi]' && "
    ".venv/bin/python -m pytest -q tests"
)


def blocks():
    """[(language, code, marker)] of the README's fenced blocks; `marker` is the text of a
    `<!-- readme:... -->` comment on the line just before the fence, or None."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    found = []
    pattern = r"(?:<!-- readme:(.*?) -->\n)?```(\w*)\n(.*?)```"
    for marker, lang, code in re.findall(pattern, text, re.S):
        found.append((lang, code, marker or None))
    return found


def marked(name):
    """The one bash block marked `<!-- readme:name -->`, as its single command line."""
    code = [c for lang, c, m in blocks() if m == name]
    assert len(code) == 1, f"README needs exactly one block marked readme:{name}"
    lines = [line for line in code[0].splitlines() if line.strip()]
    assert len(lines) == 1, f"readme:{name} must be one command line, got {lines}"
    return lines[0]


def _venv_tool(word):
    """`.venv/bin/X` of a README command -> X beside the Python running the tests (the
    .venv's own in CI, where .ci/run created it with the README's install)."""
    if word.startswith(".venv/bin/"):
        return os.path.join(os.path.dirname(sys.executable), word[len(".venv/bin/") :])
    return word


def test_the_test_command_is_what_ci_runs():
    assert marked("test-command") == TEST_COMMAND
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    for part in TEST_COMMAND.split(" && "):
        quiet = part.replace("pip install ", "pip install -q ")  # CI installs quietly
        assert part in ci or quiet in ci, f".ci/run lacks the README's step {part!r}"


def test_main_job_sets_up_like_ci_and_trains(tmp_path):
    venv, install, job = marked("main-job").split(" && ")
    test_venv, test_install, _ = TEST_COMMAND.split(" && ")
    assert (venv, install) == (test_venv, test_install)  # CI's environment is the job's
    argv = shlex.split(job)
    assert argv[0] == ".venv/bin/distnet-launch" and "scripts/train_mnist.py" in argv
    argv = [_venv_tool(w) for w in argv]
    assert os.access(argv[0], os.X_OK), f"console script {argv[0]} is not installed"
    # the README's job, shortened to 3 epochs (a later flag wins in argparse)
    res = subprocess.run(
        argv + ["--num-epochs", "3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    workers = re.search(r"-n (\d+)", job).group(1)
    for rank in range(int(workers)):
        assert re.search(
            r"\[worker %d\] .* Node\[%d\] Epoch\[2\] Validation-accuracy=" % (rank, rank), out
        ), out[-3000:]
    acc = re.findall(r"Node\[0\] Test-accuracy=([\d.]+)", out)
    assert acc and float(acc[0]) > 0.8, out[-3000:]  # 3 epochs of the 20 already learn
    assert "(%s workers)" % workers in out


@pytest.mark.parametrize("index", range(sum(lang == "python" for lang, _, _ in blocks())))
def test_python_blocks_run(index, tmp_path):
    lang_code = [(c, m) for lang, c, m in blocks() if lang == "python"]
    code, marker = lang_code[index]
    cwd = str(tmp_path)
    if marker and marker.startswith("cwd "):
        cwd = os.path.join(REPO, marker[4:].strip())
    env = dict(os.environ, PYTHONPATH=REPO, MXNET_GLUON_REPO="http://127.0.0.1:9/")
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, f"README python block {index}:\n{code}\n{res.stderr}"
    # printed values shown in the block's comments are what it prints
    for shown in re.findall(r"print\(.*\)\s*# (\(.*\))$", code, re.M):
        assert shown in res.stdout, (shown, res.stdout)


def test_every_example_script_is_listed():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    scripts = sorted(
        n
        for n in os.listdir(os.path.join(REPO, "scripts", "examples"))
        if n.endswith(".py") and n != "data_iter.py" and not n.startswith("_")
    )
    assert len(scripts) >= 8
    for name in scripts:
        assert f"| `{name}` |" in text, f"README's example table lacks {name}"


def test_benchmark_section_is_run_alls_table():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("<!-- bench:begin -->") : text.index("<!-- bench:end -->")]
    assert "Machine: " in section and "median of" in section
    header = [line for line in section.splitlines() if line.startswith("| benchmark |")]
    assert header and "distnet" in header[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    assert len(rows) >= 10 and all(line.count("|") == header[0].count("|") for line in rows)


def test_run_all_writes_the_readme_section(tmp_path):
    """run_all.py (quick, two cheap families) rewrites exactly the bench section."""
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nbefore\n<!-- bench:begin -->\nold table\n<!-- bench:end -->\nafter\n")
    res = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "scripts", "bench", "run_all.py"),
            "--quick",
            "--runs",
            "2",
            "--only",
            "import,ops",
            "--readme",
            str(readme),
            "--out",
            str(tmp_path / "table.md"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ, PYTHONPATH=REPO),
    )
    assert res.returncode == 0, res.stderr
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n<!-- bench:begin -->\nMachine: ")
    assert text.endswith("<!-- bench:end -->\nafter\n") and "old table" not in text
    table = (tmp_path / "table.md").read_text()
    assert (
        table in text and "median of 2 run(s)" in table and "default BLAS/OpenMP threads" in table
    )
    rows = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| `")}
    assert set(rows) == {
        "| `import` the library",
        "| `a + b` on 8x8 float32, one call",
        "| `a + b` under `autograd.record()`",
    }
    for line in rows.values():  # every cell a number: the import in s, a call in µs
        value = float(line.split(" | ")[2].strip(" |").replace(",", ""))
        assert 0 < value < 100


def test_run_all_rejects_unknown_families():
    res = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "scripts", "bench", "run_all.py"),
            "--only",
            "import,warp_drive",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "unknown families ['warp_drive']" in res.stderr
