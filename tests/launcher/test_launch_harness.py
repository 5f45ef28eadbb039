"""distnet.testing.run_distributed: real jobs, results back as JSON, hard timeout."""

import re
import time

import pytest

import launch_targets
from distnet.testing import DistributedTimeout
from launch_helpers import WORKER, alive_in_groups

pytestmark = pytest.mark.timeout(60)


def test_function_target_returns_every_workers_result(run_distributed):
    job = run_distributed(
        launch_targets.report_rank, num_workers=3, num_servers=0, timeout=30, args=(10,)
    )
    job.check()
    assert [w.result for w in job.workers] == [{"rank": 10 + r, "world": 3} for r in range(3)]
    assert [(w.role, w.rank, w.returncode) for w in job.workers] == [
        ("worker", 0, 0),
        ("worker", 1, 0),
        ("worker", 2, 0),
    ]


def test_string_target_and_a_failing_worker_do_not_raise(run_distributed):
    job = run_distributed(
        "launch_targets:fail_on_rank_one", num_workers=2, num_servers=0, timeout=30
    )
    assert job.returncode == 1
    assert re.search(
        r"worker 1 \(pid \d+ on \S+\) exited with code 1 \(first failure\)", job.output
    )
    assert "RuntimeError: rank one refuses" in job.output
    w0, w1 = job.workers
    assert (w1.returncode, w1.result) == (1, None)
    assert "RuntimeError: rank one refuses" in w1.output
    assert w0.result in ("ok", None)  # rank 0 may be stopped before it returns
    with pytest.raises(AssertionError, match="exited with code 1"):
        job.check()


def test_script_target_with_servers_keeps_each_process_output(run_distributed):
    from launch_helpers import standin_env

    job = run_distributed(
        WORKER,
        num_workers=2,
        num_servers=1,
        timeout=30,
        env=standin_env(),
        launcher_args=["--grace", "1"],
    )
    assert job.returncode == 0, job.output
    assert sorted(p.name for p in job) == ["scheduler", "server 0", "worker 0", "worker 1"]
    assert "READY" in job.workers[1].output and "[worker" not in job.workers[1].output
    services = [p for p in job if p.role != "worker"]
    assert all(p.returncode is not None and p.returncode != 0 for p in services)  # stopped


def test_timeout_kills_the_whole_job_and_says_so(run_distributed):
    start = time.monotonic()
    with pytest.raises(DistributedTimeout) as exc:
        run_distributed(launch_targets.sleep_long, num_workers=2, num_servers=0, timeout=3)
    assert time.monotonic() - start < 15
    text = str(exc.value)
    assert "timed out after 3 s" in text and "--- worker 1 ---" in text
    groups = {int(line.split()[2]) for line in text.splitlines() if line.startswith("PID ")}
    assert len(groups) == 2 and not alive_in_groups(groups)


def test_local_functions_are_refused(run_distributed):
    def inner():
        return 1

    with pytest.raises(ValueError, match="module-level function"):
        run_distributed(inner, num_workers=1, num_servers=0)
