"""Digests, pure: the custom_json that chooses or leaves one, when a notification is due, and what a batch's
digest commands change in its plan."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.badges import Badge, BadgeRules, EarnedBadge, Silence
from bot.manners import Digest, Refused, find_custom_opts, parse_custom_opt
from bot.metrics import Metric
from bot.notifications import notification_permlink
from bot.operations import CustomJson, parse_blocks
from bot.optouts import Opt, OptCommand
from bot.plan import (
    BatchPlan,
    CountsView,
    NewNotification,
    OutboxChanges,
    OutboxView,
    Pace,
    plan_batch,
    plan_counts,
)
from bot.tallies import Tally
from tests.support.blocks import block, custom_json

P = Metric.POSTS
BOT = "badge-bot"
HOUR, DAY, WEEK = 3_600, 86_400, 7 * 86_400
NUM, NOW = 100, 1_750_000_000
RULES = BadgeRules({P: (1, 5)}, BOT, per_account_interval=DAY, digest_interval=WEEK)
PACE = Pace(DAY, WEEK)
ALICE_P1 = Badge("alice", P, 1)


def opt_json(payload: object, *, posting: tuple[str, ...] = ("alice",)) -> CustomJson:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return CustomJson("hive-badge-bot", text, (), posting)


# --- the command ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "digest"),
    [({"digest": "weekly"}, Digest.WEEKLY), ({"digest": "off"}, Digest.OFF)],
)
def test_a_digest_command_signed_by_one_account_is_that_accounts(payload: object, digest: Digest) -> None:
    assert parse_custom_opt(opt_json(payload)) == ("alice", digest)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"digest": "Weekly"}, 'the digest is not "weekly" nor "off": "Weekly"'),
        ({"digest": "daily"}, 'the digest is not "weekly" nor "off": "daily"'),
        ({"digest": True}, 'the digest is not "weekly" nor "off": true'),
        ({"digest": ["weekly"]}, 'the digest is not "weekly" nor "off": ["weekly"]'),
        ({"digest": None}, 'the digest is not "weekly" nor "off": null'),
        ({"digest": "weekly", "stop": "all"}, 'not an object with one key, "stop", "start" or "digest"'),
        ({"digests": "weekly"}, 'the key is \'digests\', not "stop", "start" or "digest"'),
    ],
)
def test_a_digest_command_that_is_not_one_is_refused_with_its_reason(payload: object, reason: str) -> None:
    refused = parse_custom_opt(opt_json(payload))
    assert isinstance(refused, Refused)
    assert refused.reason == reason


def test_a_digest_signed_by_two_accounts_is_refused() -> None:
    refused = parse_custom_opt(opt_json({"digest": "weekly"}, posting=("alice", "bob")))
    assert isinstance(refused, Refused)
    assert "signed by 2 accounts" in refused.reason


def test_an_accounts_last_digest_command_of_a_batch_decides_and_its_opt_commands_stay_apart() -> None:
    ours = "hive-badge-bot"
    blocks = parse_blocks(
        [
            block(
                9,
                custom_json(ours, {"digest": "weekly"}, "alice"),
                custom_json(ours, {"stop": ["posts"]}, "alice"),
            ),
            block(
                10,
                custom_json(ours, {"digest": "off"}, "alice"),
                custom_json(ours, {"digest": "weekly"}, "bob"),
            ),
            block(
                11,
                custom_json(ours, {"digest": "monthly"}, "carol"),
                custom_json("other", {"digest": "weekly"}, "dave"),
            ),
        ]
    )
    found = find_custom_opts(blocks, "hive-badge-bot")
    assert found.digests == {"alice": Digest.OFF, "bob": Digest.WEEKLY}
    assert found.commands == {"alice": [Opt(OptCommand.STOP, frozenset({P}), "custom_json")]}
    assert [refused.signers for refused in found.refused] == [("carol",)]


# --- when a notification is due ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_sent", "digest_since", "due"),
    [
        pytest.param(None, None, NOW, id="no digest, never notified: now"),
        pytest.param(
            NOW - HOUR, None, NOW - HOUR + DAY, id="no digest: the per-account interval after the last"
        ),
        pytest.param(NOW - 2 * DAY, None, NOW, id="no digest, the interval over: now"),
        pytest.param(None, NOW, NOW + WEEK, id="a digest chosen now, never notified: a week from the choice"),
        pytest.param(None, NOW - 8 * DAY, NOW, id="a digest chosen over a week ago, never notified: now"),
        pytest.param(
            NOW - DAY, NOW - 3 * DAY, NOW - DAY + WEEK, id="a digest: a week after the last sent, if later"
        ),
        pytest.param(
            NOW - 3 * DAY, NOW - DAY, NOW - DAY + WEEK, id="a digest: a week after the choice, if later"
        ),
        pytest.param(NOW - 10 * DAY, NOW - 9 * DAY, NOW, id="a digest whose week is over: now"),
    ],
)
def test_a_notification_is_due_after_the_interval_and_on_a_digest_a_week_after_the_later_of_last_and_choice(
    last_sent: int | None, digest_since: int | None, due: int
) -> None:
    assert PACE.due(NOW, last_sent, digest_since) == due


def test_the_per_account_interval_stays_the_floor_of_a_digest() -> None:
    assert Pace(2 * WEEK, WEEK).due(NOW, NOW - DAY, NOW - 3 * DAY) == NOW - DAY + 2 * WEEK


# --- what a batch's digest commands change ------------------------------------------------------------------


def plan(
    posts: int = 0,
    known: OutboxView | None = None,
    digests: dict[str, Digest] | None = None,
    age: float = 0.0,
) -> BatchPlan:
    tally = Tally(increments=Counter({("alice", P): posts}) if posts else Counter())
    counted = plan_counts(tally, CountsView(), RULES, with_baselines=False)
    changes = OutboxChanges(rules=RULES, age=age, digests=digests or {})
    return plan_batch(counted, tally, changes, known or OutboxView(), NUM, NOW)


def test_a_badge_of_an_account_on_a_digest_opens_a_notification_due_a_week_after_its_last() -> None:
    planned = plan(1, OutboxView(last_sent={"alice": NOW - DAY}, digests={"alice": NOW - 3 * DAY}))
    assert planned.notifications == (
        NewNotification("alice", notification_permlink(ALICE_P1), NOW - DAY + WEEK),
    )


def test_a_digest_chosen_in_the_batch_applies_to_the_batchs_badges_and_is_written() -> None:
    planned = plan(1, OutboxView(last_sent={"alice": NOW - 2 * DAY}), {"alice": Digest.WEEKLY})
    assert planned.notifications == (NewNotification("alice", notification_permlink(ALICE_P1), NOW + WEEK),)
    assert planned.digests == {"alice": Digest.WEEKLY}


def test_a_digest_left_in_the_batch_gives_the_batchs_badges_todays_due_time() -> None:
    planned = plan(
        1, OutboxView(last_sent={"alice": NOW - 2 * DAY}, digests={"alice": NOW - DAY}), {"alice": Digest.OFF}
    )
    assert planned.notifications == (NewNotification("alice", notification_permlink(ALICE_P1), NOW),)
    assert planned.digests == {"alice": Digest.OFF}


@pytest.mark.parametrize(
    ("digests_before", "command"),
    [({"alice": NOW - DAY}, Digest.WEEKLY), ({}, Digest.OFF)],
    ids=["weekly again keeps the first choice's time", "off when not on one"],
)
def test_a_digest_command_that_changes_nothing_writes_nothing(
    digests_before: dict[str, int], command: Digest
) -> None:
    planned = plan(known=OutboxView(digests=digests_before), digests={"alice": command})
    assert (planned.digests, planned.rescheduled) == ({}, {})


@pytest.mark.parametrize(
    ("known", "command", "rescheduled"),
    [
        pytest.param(
            OutboxView(
                open_notifications={"alice": 7},
                open_due={"alice": NOW + HOUR},
                last_sent={"alice": NOW - 2 * DAY},
            ),
            Digest.WEEKLY,
            {7: NOW + WEEK},
            id="choosing a digest pushes the waiting notification to a week from the choice",
        ),
        pytest.param(
            OutboxView(
                open_notifications={"alice": 7},
                open_due={"alice": NOW + 6 * DAY},
                last_sent={"alice": NOW - 2 * DAY},
                digests={"alice": NOW - DAY},
            ),
            Digest.OFF,
            {7: NOW},
            id="leaving a digest brings the waiting notification to today's rule",
        ),
        pytest.param(
            OutboxView(
                open_notifications={"alice": 7},
                open_due={"alice": NOW + 6 * DAY},
                last_sent={"alice": NOW - HOUR},
                digests={"alice": NOW - DAY},
            ),
            Digest.OFF,
            {7: NOW - HOUR + DAY},
            id="leaving a digest keeps the per-account interval",
        ),
        pytest.param(
            OutboxView(
                open_notifications={"alice": 7},
                open_due={"alice": NOW + HOUR},
                last_sent={"alice": NOW - HOUR},
                digests={"alice": NOW - 8 * DAY},
            ),
            Digest.OFF,
            {},
            id="leaving a digest never delays the waiting notification (a retry's back-off stands)",
        ),
    ],
)
def test_a_digest_command_moves_the_waiting_notifications_due_time(
    known: OutboxView, command: Digest, rescheduled: dict[int, int]
) -> None:
    assert plan(known=known, digests={"alice": command}).rescheduled == rescheduled


def test_a_badge_joining_a_digest_is_announced_however_long_the_digest_waits() -> None:
    known = OutboxView(
        open_notifications={"alice": 7}, open_due={"alice": NOW + WEEK}, digests={"alice": NOW}
    )
    planned = plan(1, known, age=0.0)
    assert (planned.badges, planned.joined) == ((EarnedBadge(ALICE_P1, None),), {"alice": 7})
    stale = plan(1, known, age=RULES.max_crossing_age + 1)  # found late: silent, as for everyone
    assert stale.badges == (EarnedBadge(ALICE_P1, Silence.STALE),)
