"""A short run of the crash stress (tests/support/stress.py): the suite's guard; the long run is its own command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stress import run_stress


@pytest.mark.slow
def test_the_bot_killed_at_random_moments_loses_nothing_and_posts_nothing_twice(tmp_path: Path) -> None:
    report = run_stress(seed=4, kills=8, directory=tmp_path)
    assert sum(report.kills.values()) == 8
    assert len(report.kills) >= 3, report  # fetch, history, broadcast or anytime: most kinds were hit
    assert report.notifications >= 10 and report.stops >= 1 and report.accounts >= 100, report
