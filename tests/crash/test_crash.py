"""The crash suite: SIGKILL at every stage boundary and at random moments, then run again.

Marked slow; it runs in CI with a bounded number of trials. A longer soak:
``python -m tests.crash.harness --trials 50``.
"""

from __future__ import annotations

import random

import pytest

from tasks.faults import HANDOFF_POINTS, POINTS
from tests.crash.harness import (damaged_target_trial, handoff_trial, trial,
                                 two_writers_trial)
from tests.crash.workers import two_workers_trial

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_url(prefect_harness):
    from prefect.settings import PREFECT_API_URL
    return PREFECT_API_URL.value()


# every boundary in the first chunk, and the two around the writer and the batch in the second
@pytest.mark.parametrize("point", [f"{p}:1" for p in POINTS]
                         + ["after-writer:2", "before-batch:2", "after-batch:2"])
def test_killed_at_a_crash_point_then_rerun(point, api_url, tmp_path):
    result = trial(point, tmp_path, api_url, crash=point)
    assert result.runs[0] == -9, f"the run was not killed at {point}: {result.runs}"
    assert result.problems == []


@pytest.mark.parametrize("n", range(2))
def test_killed_at_a_random_moment_then_rerun(n, api_url, tmp_path):
    delay = random.Random(n).uniform(2.0, 9.0)
    result = trial(f"random kill after {delay:.1f}s", tmp_path, api_url, kill_after=delay,
                   seed=100 + n)
    assert result.problems == []


def test_a_second_home_against_the_same_target_is_refused_and_the_first_finishes(api_url,
                                                                                tmp_path):
    result = two_writers_trial(tmp_path, api_url)
    assert result.problems == [], result.runs


def test_a_target_damaged_after_a_kill_is_refused_then_restored_and_finished(api_url, tmp_path):
    result = damaged_target_trial(tmp_path, api_url)
    assert result.runs[0] == -9
    assert result.problems == [], result.runs


# across the two-phase handoff: while handing off, while reading the importer's answers, after
# reading them and before their batch
@pytest.mark.parametrize("point", ["after-writer:1", *(f"{p}:1" for p in HANDOFF_POINTS),
                                   "before-batch:1"])
def test_killed_across_the_handoff_then_rerun(point, api_url, tmp_path):
    result = handoff_trial(point, tmp_path, api_url)
    assert result.runs[0 if point == "after-writer:1" else 1] == -9, \
        f"the run was not killed at {point}: {result.runs}"
    assert result.problems == [], result.runs


# two workers of one company, their journal and run lock shared in PostgreSQL: worker A killed
# at the intents around the writer and the batch (and once at random), worker B settles
@pytest.mark.parametrize("point", ["after-writer:1", "before-batch:2", "after-batch:1"])
def test_two_workers_sharing_state_settle_a_kill(point, api_url, postgres, tmp_path):
    result = two_workers_trial(tmp_path, api_url, postgres, crash=point)
    assert result.runs[0] == -9, f"worker A was not killed at {point}: {result.runs}"
    assert result.problems == [], result.runs


def test_two_workers_sharing_state_settle_a_random_kill(api_url, postgres, tmp_path):
    delay = random.Random(7).uniform(3.0, 8.0)
    result = two_workers_trial(tmp_path, api_url, postgres, kill_after=delay, seed=107)
    assert result.problems == [], result.runs
