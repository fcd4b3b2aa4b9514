"""The suite writes only under its tmp dirs, even inside a GitHub job (tests/conftest.py)."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.unit


def test_the_jobs_own_files_are_out_of_reach() -> None:
    """Run in CI, `report` and `leaderboard` would append fixture reports to the job's summary."""
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH"):
        assert name not in os.environ, name
