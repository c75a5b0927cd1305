"""The batch plan, pure: from what a batch counted and what the store knows, what the store writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from bot.badges import Badge, BadgeRules, EarnedBadge, Ladders, Silence
from bot.history import Side
from bot.metrics import Metric
from bot.notifications import notification_permlink
from bot.optouts import Opt, OptCommand, OptState
from bot.plan import (
    BatchPlan,
    CountsView,
    NewNotification,
    OutboxChanges,
    OutboxView,
    plan_baseline,
    plan_batch,
    plan_counts,
)
from bot.tallies import Tally

R, G, P, C, Y = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS, Metric.REPLIES
BOT = "badge-bot"
DAY = 86_400
LADDERS: Ladders = {R: (10, 50), G: (10,), P: (1, 5), C: (10,), Y: ()}
RULES = BadgeRules(LADDERS, BOT, frozenset({"spammer"}), max_crossing_age=DAY, per_account_interval=DAY)
NUM, TIME = 100, 1_750_000_000
ALICE_P1, ALICE_P5 = Badge("alice", P, 1), Badge("alice", P, 5)


@dataclass(frozen=True)
class Case:
    """One batch: the accounts' posts in it, the store's facts, what the batch read besides counts."""

    posts: dict[str, int]
    before: dict[str, dict[Metric, int]] = field(default_factory=dict)
    known: OutboxView = field(default_factory=OutboxView)
    commands: dict[str, OptCommand] = field(default_factory=dict)
    age: float = 0.0


def plan(case: Case) -> BatchPlan:
    tally = Tally(increments=Counter({(account, P): n for account, n in case.posts.items()}))
    counted = plan_counts(tally, CountsView(before=case.before), RULES, with_baselines=False)
    changes = OutboxChanges(
        rules=RULES,
        age=case.age,
        opt_commands={account: [Opt(command)] for account, command in case.commands.items()},
    )
    return plan_batch(counted, tally, changes, case.known, NUM, TIME)


@pytest.mark.parametrize(
    ("case", "badges", "notifications", "joined"),
    [
        pytest.param(
            Case({"alice": 1}),
            [EarnedBadge(ALICE_P1, None)],
            [NewNotification("alice", notification_permlink(ALICE_P1), TIME)],
            {},
            id="a crossing of an eligible account makes a badge and a notification",
        ),
        pytest.param(
            Case({"alice": 5}),
            [EarnedBadge(ALICE_P1, None), EarnedBadge(ALICE_P5, None)],
            [NewNotification("alice", notification_permlink(ALICE_P1), TIME)],
            {},
            id="a count past two thresholds earns both, in one notification named after the first",
        ),
        pytest.param(
            Case({"alice": 4}, before={"alice": {P: 1}}),
            [EarnedBadge(ALICE_P5, None)],
            [NewNotification("alice", notification_permlink(ALICE_P5), TIME)],
            {},
            id="a threshold reached before is not earned again",
        ),
        pytest.param(
            Case({"alice": 1}, known=OutboxView(opted_out={"alice"})),
            [EarnedBadge(ALICE_P1, Silence.OPTED_OUT)],
            [],
            {},
            id="an opted-out account's badge is silent",
        ),
        pytest.param(
            Case({"alice": 1}, commands={"alice": OptCommand.STOP}),
            [EarnedBadge(ALICE_P1, Silence.OPTED_OUT)],
            [],
            {},
            id="a STOP in the batch silences the batch's badges",
        ),
        pytest.param(
            Case({"alice": 1}, known=OutboxView(opted_out={"alice"}), commands={"alice": OptCommand.START}),
            [EarnedBadge(ALICE_P1, None)],
            [NewNotification("alice", notification_permlink(ALICE_P1), TIME)],
            {},
            id="a START in the batch announces the batch's badges",
        ),
        pytest.param(
            Case({"alice": 1}, age=DAY + 1),
            [EarnedBadge(ALICE_P1, Silence.STALE)],
            [],
            {},
            id="a stale batch's badges are silent",
        ),
        pytest.param(
            Case({BOT: 1, "spammer": 1}),
            [
                EarnedBadge(Badge(BOT, P, 1), Silence.IGNORED),
                EarnedBadge(Badge("spammer", P, 1), Silence.IGNORED),
            ],
            [],
            {},
            id="the bot's own and ignored accounts' badges are silent",
        ),
        pytest.param(
            Case({"alice": 1}, known=OutboxView(open_notifications={"alice": 7})),
            [EarnedBadge(ALICE_P1, None)],
            [],
            {"alice": 7},
            id="a badge joins the account's open notification",
        ),
        pytest.param(
            Case(
                {"alice": 1},
                known=OutboxView(open_notifications={"alice": 7}),
                commands={"alice": OptCommand.STOP},
            ),
            [EarnedBadge(ALICE_P1, Silence.OPTED_OUT)],
            [],
            {},
            id="after a STOP a badge joins no notification (the open one is dropped)",
        ),
        pytest.param(
            Case({"alice": 1}, known=OutboxView(last_sent={"alice": TIME - 100})),
            [EarnedBadge(ALICE_P1, None)],
            [NewNotification("alice", notification_permlink(ALICE_P1), TIME - 100 + DAY)],
            {},
            id="a notification waits the per-account interval after the last one sent",
        ),
    ],
)
def test_the_plan_decides_badges_and_notifications(
    case: Case, badges: list[EarnedBadge], notifications: list[NewNotification], joined: dict[str, int]
) -> None:
    planned = plan(case)

    assert (list(planned.badges), list(planned.notifications), dict(planned.joined)) == (
        badges,
        notifications,
        joined,
    )


def test_stop_is_planned_for_the_outbox_which_drops_the_open_notification() -> None:
    planned = plan(
        Case({}, known=OutboxView(open_notifications={"alice": 7}), commands={"alice": OptCommand.STOP})
    )

    assert planned.opt_states == {"alice": (OptState(everything=True), "reply")}
    assert (planned.badges, planned.notifications, planned.joined) == ((), (), {})


def test_a_baselines_badges_are_every_threshold_reached_and_silent() -> None:
    assert plan_baseline("alice", {P: 2}, {P: 4, R: 10}, LADDERS) == (
        EarnedBadge(ALICE_P1, Silence.BASELINE),
        EarnedBadge(ALICE_P5, Silence.BASELINE),
        EarnedBadge(Badge("alice", R, 10), Silence.BASELINE),
    )


def test_a_seam_side_a_baseline_counted_is_not_counted_again_and_the_others_are_marked_live() -> None:
    pair = (("alice", "post"), "bob")
    tally = Tally(increments=Counter({("alice", R): 1, ("bob", G): 1}), seam_pairs={pair})
    known = CountsView(baseline_sides=frozenset({("alice", "post", "bob", Side.AUTHOR)}))

    counted = plan_counts(tally, known, RULES, with_baselines=True)

    assert counted.increments == {("bob", G): 1}
    assert counted.live_sides == (("alice", "post", "bob", Side.VOTER),)
    assert counted.queue == ("bob",)


def test_until_its_baseline_is_done_an_account_crosses_no_threshold() -> None:
    tally = Tally(increments=Counter({("alice", P): 1, ("bob", P): 1}))

    counted = plan_counts(tally, CountsView(done=frozenset({"bob"})), RULES, with_baselines=True)

    assert counted.crossings == (Badge("bob", P, 1),)
    assert counted.queue == ("alice", "bob")


def test_without_rules_nothing_is_earned() -> None:
    tally = Tally(increments=Counter({("alice", P): 1}))

    counted = plan_counts(tally, CountsView(), None, with_baselines=False)
    planned = plan_batch(counted, tally, OutboxChanges(), OutboxView(), NUM, TIME)

    assert (counted.crossings, planned.badges, planned.notifications) == ((), (), ())
