"""A short run of the failover test (tests/support/failover.py): three bots on one PostgreSQL store, the
active one killed, frozen or cut from the database six times; the long run is its own command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.failover import run_failover
from tests.support.postgres import database


@pytest.mark.slow
def test_bots_sharing_a_store_take_over_from_a_killed_frozen_or_cut_one_and_never_act_two_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with database(postgres_url) as url:
        report = run_failover(seed=5, disruptions=6, directory=tmp_path, store_url=url)
    print(f"\n{report}")
    assert sum(report.disruptions.values()) == 6 and len(report.disruptions) == 3, report
    assert all(t.seconds < 3 * 2 for t in report.takeovers), report  # within two ha.takeover's
    assert report.exits == [], report  # a bot that lost its lease stands by: it never exits by itself
    assert report.outcome.notifications >= 10 and report.outcome.stops >= 1, report
