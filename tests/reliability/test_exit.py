"""A job whose scripts return normally exits 0, even when a worker's script ends with
kvstore sends still queued (right after the last `trainer.step()`), with equal and
unequal batch counts, with and without `kv.close()`; a send that cannot be delivered
makes its worker exit 1 naming the key.  Races are tested by repetition: 20 short jobs
here, 200 with `-m slow`."""

import os
import shutil
import sys

import pytest

import exit_jobs as jobs

pytestmark = pytest.mark.timeout(120)

# (steps of rank 0, steps of rank 1), kv.close() at the end, DISTNET_KVSTORE_SHM
VARIANTS = [
    ((3, 3), False, "0"),
    ((2, 4), False, "0"),
    ((4, 2), False, "0"),
    ((2, 4), True, "0"),
    ((3, 3), True, "0"),
    ((3, 3), False, "1"),
]


def _case(i):
    steps, close, shm = VARIANTS[i % len(VARIANTS)]
    name = (
        f"{'equal' if steps[0] == steps[1] else 'unequal'}-"
        f"{'close' if close else 'noclose'}-{'shm' if shm == '1' else 'zmq'}-{i:03d}"
    )
    return pytest.param(steps, close, shm, id=name)


def _check_clean_exit(run_distributed, steps, close, shm):
    job = run_distributed(
        jobs.train,
        num_workers=2,
        num_servers=1,
        timeout=90,
        args=[list(steps), close],
        env={"DISTNET_KVSTORE_SHM": shm, "DISTNET_KVSTORE_TIMEOUT": "60"},
    )
    job.check()
    assert sorted(w.result["rank"] for w in job.workers) == [0, 1]
    for w in job.workers:
        assert w.returncode == 0, w.output
    for p in job:  # (servers and the scheduler may get the launcher's SIGTERM once done)
        for sign in ("gc socket requested during shutdown", "stopped responding", "aborted"):
            assert sign not in p.output, p.output


@pytest.mark.parametrize("steps, close, shm", [_case(i) for i in range(20)])
def test_job_ending_right_after_step_exits_0(run_distributed, steps, close, shm):
    _check_clean_exit(run_distributed, steps, close, shm)


@pytest.mark.slow
@pytest.mark.parametrize("steps, close, shm", [_case(i) for i in range(200)])
def test_job_ending_right_after_step_exits_0_soak(run_distributed, steps, close, shm):
    _check_clean_exit(run_distributed, steps, close, shm)


def test_undeliverable_send_at_exit_fails_the_worker_naming_the_key(run_distributed):
    job = run_distributed(
        jobs.failed_push_at_exit, num_workers=2, num_servers=1, timeout=90, args=["lost_key"]
    )
    assert job.returncode != 0, job.output
    w0, w1 = job.workers
    assert w0.result == {"rank": 0}  # (the launcher may stop it once worker 1 failed)
    assert w1.returncode == 1, w1.output
    assert (
        "distnet kvstore: 1 transfer(s) of this worker failed and no wait() reported "
        "them; exiting with code 1"
    ) in w1.output
    assert "push of key 'lost_key' to server 0" in w1.output
    assert "the key was not initialised" in w1.output


def test_failure_seen_by_waitall_is_reported_once(run_distributed):
    job = run_distributed(
        jobs.failed_push_at_waitall, num_workers=2, num_servers=1, timeout=90, args=["lost_key"]
    )
    job.check()  # the script saw the failure: its worker exits 0
    w1 = job.workers[1]
    assert w1.result["error"].startswith(
        "kvstore transfers failed:\n  push of key 'lost_key' to server 0"
    ), w1.result
    assert "the key was not initialised" in w1.result["error"]
    assert "no wait() reported them" not in w1.output


def test_crashed_script_leaves_the_job_at_once(run_distributed):
    """Waiting at exit for a round the peers never complete would hang the job (rank 1's
    pushpull waits for rank 0, rank 0's barrier for rank 1 to leave)."""
    job = run_distributed(
        jobs.crash_after_push,
        num_workers=2,
        num_servers=1,
        timeout=60,
        env={"DISTNET_KVSTORE_TIMEOUT": "300"},
    )
    assert job.returncode != 0
    w0, w1 = job.workers
    assert w1.returncode == 1 and "RuntimeError: the script of rank 1 failed" in w1.output
    assert w0.result == {"rank": 0}, w0.output


def test_the_tests_find_the_tools_the_install_provides():
    """CI runs `.venv/bin/python -m pytest` without activating the venv: the console
    script and the mpi extra's mpiexec must still be found (else their tests skip)."""
    bindir = os.path.dirname(sys.executable)
    assert shutil.which("distnet-launch"), "the console script of the install is not found"
    for tool in ("distnet-launch", "mpiexec"):
        if not os.path.exists(os.path.join(bindir, tool)):
            continue
        assert shutil.which(tool) == os.path.join(bindir, tool)
