"""Repetitions of the launcher-death, link-flap and silent-peer tests (races show up only
sometimes): `pytest -m slow tests/reliability/test_wire_soak.py`."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_launcher_death as death  # noqa: E402
import test_wire_flap as flap  # noqa: E402
import test_wire_messages as messages  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.parametrize("rep", range(10))
def test_launcher_sigkill_repeated(rep):
    death.test_sigkill_of_the_launcher_leaves_no_process_of_the_job(rep % 2, 5)


@pytest.mark.parametrize("rep", range(5))
def test_link_flap_repeated(rep):
    flap.test_flapping_link_to_the_scheduler_does_not_kill_the_job()


@pytest.mark.parametrize("rep", range(5))
def test_sigstopped_worker_repeated(rep, tmp_path):
    messages.test_sigstopped_worker_is_named_as_the_silent_peer_within_the_heartbeat_budget(
        tmp_path
    )
