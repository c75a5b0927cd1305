"""A short run of the failover test (tests/support/failover.py): three bots on one PostgreSQL store, the
active one killed, frozen or cut from the database six times; the long run is its own command."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.failover import check_broadcasts, check_tenures, run_failover
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


def entry(second: float, event: str, **fields: object) -> dict[str, Any]:
    return {"timestamp": f"2026-12-01T10:00:{second:06.3f}Z", "event": event, **fields}


def test_the_tenure_check_refuses_a_commit_made_after_the_next_token_was_acquired() -> None:
    a = [entry(1, "lease_acquired", token=1), entry(2, "batch_committed", seconds=0.5)]
    a.append(entry(9, "batch_committed", seconds=3))  # begun at 6: after token 2, at 5
    b = [entry(5, "lease_acquired", token=2), entry(6, "notification_sent", permlink="p")]
    with pytest.raises(AssertionError, match="bot-a acted under token 1 after token 2 was acquired"):
        check_tenures({"bot-a": a, "bot-b": b})
    late_line = entry(9, "batch_committed", seconds=4.5)  # begun at 4.5, logged after a freeze: accepted
    assert [t.token for t in check_tenures({"bot-a": [*a[:2], late_line], "bot-b": b})] == [1, 2]


def test_the_tenure_check_refuses_an_act_of_a_process_started_again_before_it_acquired_the_lease() -> None:
    a = [entry(1, "lease_acquired", token=1), entry(2, "harness_killed"), entry(3, "batch_committed")]
    with pytest.raises(AssertionError, match="bot-a acted while not holding the lease"):
        check_tenures({"bot-a": a})


def test_the_broadcast_check_refuses_a_comment_that_reached_the_node_in_another_bots_tenure() -> None:
    logs = {
        "bot-a": [entry(1, "lease_acquired", token=1), entry(7, "notification_sent", permlink="late")],
        "bot-b": [entry(5, "lease_acquired", token=2)],
    }
    arrival = datetime.fromisoformat(entry(6.5, "x")["timestamp"]).timestamp()
    tenures = check_tenures({"bot-a": logs["bot-a"][:1], "bot-b": logs["bot-b"]})
    with pytest.raises(AssertionError, match=r"late reached the node .* broadcast by \['bot-a'\]"):
        check_broadcasts([(arrival, "late")], tenures, logs)
    assert check_broadcasts([(arrival - 3, "late")], tenures, logs) == 1
