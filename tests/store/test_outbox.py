"""The outbox through a real SQLite store: badges, notifications, opt-outs and root posts, batch by batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.badges import Badge, BadgeRules, Ladders, Silence
from bot.db import Location
from bot.errors import StoreError
from bot.metrics import Metric
from bot.notifications import notification_permlink
from bot.operations import comments_by, parse_blocks
from bot.optouts import Opt, OptCommand
from bot.outbox import Manners, Notification, Outbox, Since, State
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import CountingRules, Tally, count_blocks
from tests.support.blocks import DAY, block, block_id, delete, post, reply, time_of

R, G, P, C = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS
BOT = "badge-bot"
STOP, START = OptCommand.STOP, OptCommand.START
LADDERS: Ladders = {R: (10, 50, 100), G: (10, 50), P: (1, 5, 10), C: (10,)}


@pytest.fixture
def store(store_location: Location) -> Iterator[Store]:
    with Store.open(store_location) as opened:
        yield opened


def announced(account: str, metric: Metric = P, threshold: int = 1) -> Badge:
    return Badge(account, metric, threshold)


def commit(
    store: Store,
    num: int,
    *badges: Badge,
    commands: Mapping[str, OptCommand | Opt] | None = None,
    delivered: Mapping[str, int] | None = None,
    tally: Tally | None = None,
    interval: float = 0.0,
    time: int | None = None,
    age: float = 0.0,
    ignore: frozenset[str] = frozenset(),
    find_badges: bool = False,
) -> None:
    """Commit block ``num`` (at ``time_of(num)`` unless ``time``, ``age`` seconds before the head) as the
    follower does: ``tally``, plus the counts that take each of ``badges``'s accounts to its threshold.
    With ``badges`` (or ``find_badges``) the commit finds the badges the counts earn, by :data:`LADDERS`."""
    tally = tally or Tally()
    increments = Counter(tally.increments)
    counts = store.load_counts_of(badge.account for badge in badges)
    for badge in badges:
        assert isinstance(badge.metric, Metric)
        key = (badge.account, badge.metric)
        increments[key] = max(
            increments[key], badge.threshold - counts.get(badge.account, {}).get(badge.metric, 0)
        )
    rules = BadgeRules(LADDERS, BOT, ignore, max_crossing_age=DAY, per_account_interval=interval)
    changes = OutboxChanges(
        rules=rules if badges or find_badges else None,
        age=age,
        opt_commands={
            account: [command if isinstance(command, Opt) else Opt(command)]
            for account, command in (commands or {}).items()
        },
        delivered=delivered or {},
    )
    checkpoint = Checkpoint(num, block_id(num), time_of(num) if time is None else time)
    store.commit_batch(replace(tally, increments=increments), {}, checkpoint, changes)


def tally_of(*raw_blocks: dict[str, Any]) -> Tally:
    return count_blocks(parse_blocks(raw_blocks), {}, set(), CountingRules())


def only(outbox: Outbox, state: State) -> Notification:
    [notification] = outbox.load_notifications(state)
    return notification


def open_notifications(outbox: Outbox, account: str) -> list[Notification]:
    return [
        n
        for state in (State.WAITING, State.NO_POST)
        for n in outbox.load_notifications(state)
        if n.account == account
    ]


def send(outbox: Outbox, now: int) -> Notification:
    """What the poster does first: take the next due notification and mark it sent."""
    due = outbox.load_next_due(now)
    assert due is not None
    assert outbox.mark_sent(due.id, (due.account, "a-post"), now)
    return due


# --- badges and notifications commit with the checkpoint --------------------------------------------------


def test_an_announced_badge_and_its_notification_are_written_with_the_checkpoint(store: Store) -> None:
    commit(store, 10, announced("alice", R, 10))

    assert store.load_checkpoint() == Checkpoint(10, block_id(10), time_of(10))
    waiting = only(store.outbox, State.WAITING)
    assert waiting == Notification(
        id=waiting.id,
        account="alice",
        permlink=notification_permlink(Badge("alice", R, 10)),
        state=State.WAITING,
        not_before=time_of(10),
        parent=None,
        attempts=0,
        last_error=None,
        sent_time=None,
        badges=(Badge("alice", R, 10),),
    )
    assert store.outbox.load_badges("alice") == [
        {
            "metric": "upvotes_received",
            "threshold": 10,
            "block": 10,
            "announced": "waiting",
            "permlink": waiting.permlink,
        },
    ]


@pytest.mark.parametrize("num", [10, 9])
def test_a_refused_commit_writes_neither_badges_nor_notifications(store: Store, num: int) -> None:
    commit(store, 10, announced("alice"))

    with pytest.raises(StoreError, match="already at block 10"):
        commit(store, num, announced("bob"), commands={"alice": STOP})

    assert store.outbox.load_badges("bob") == []
    assert [n.account for n in store.outbox.load_notifications(State.WAITING)] == ["alice"]
    assert store.outbox.load_optouts() == []
    assert store.load_checkpoint() == Checkpoint(10, block_id(10), time_of(10))


@pytest.mark.parametrize(
    ("silence", "how"),
    [
        (Silence.IGNORED, {"ignore": frozenset({"alice"})}),
        (Silence.OPTED_OUT, {"commands": {"alice": STOP}}),
        (Silence.STALE, {"age": DAY + 1}),
    ],
)
def test_a_silent_badge_is_recorded_without_a_notification(
    store: Store, silence: Silence, how: dict[str, Any]
) -> None:
    # A baseline's badges: tests/rules/test_history.py and tests/rules/test_plan.py.
    commit(store, 1, announced("alice"), **how)

    assert store.outbox.load_badges("alice") == [
        {"metric": "posts", "threshold": 1, "block": 1, "announced": silence.value, "permlink": None}
    ]
    assert store.outbox.load_summary()["notifications"] == dict.fromkeys([s.value for s in State], 0)


def test_a_count_jumping_past_several_thresholds_earns_all_and_announces_them_in_one_notification(
    store: Store,
) -> None:
    blocks = [block(1, *(post("alice", f"p{i}") for i in range(6)))]

    commit(store, 1, tally=tally_of(*blocks), find_badges=True)

    assert [(b["threshold"], b["announced"]) for b in store.outbox.load_badges("alice")] == [
        (1, "waiting"),
        (5, "waiting"),
    ]
    waiting = only(store.outbox, State.WAITING)
    assert waiting.badges == (Badge("alice", P, 1), Badge("alice", P, 5))
    assert waiting.permlink == notification_permlink(Badge("alice", P, 1))  # from the first badge


# --- one open notification per account --------------------------------------------------------------------


def test_badges_earned_while_a_notification_waits_join_it(store: Store) -> None:
    commit(store, 1, announced("alice", P, 1))
    commit(store, 2, announced("alice", R, 10), announced("alice", C, 10))

    waiting = only(store.outbox, State.WAITING)
    assert waiting.badges == (Badge("alice", C, 10), Badge("alice", P, 1), Badge("alice", R, 10))
    assert waiting.permlink == notification_permlink(Badge("alice", P, 1))
    assert waiting.not_before == time_of(1)
    assert {b["permlink"] for b in store.outbox.load_badges("alice")} == {waiting.permlink}


def test_badges_earned_while_a_notification_waits_for_a_post_join_it(store: Store) -> None:
    commit(store, 1, announced("alice", P, 1))
    store.outbox.mark_no_post(only(store.outbox, State.WAITING).id)
    commit(store, 2, announced("alice", P, 5))

    assert store.outbox.load_notifications(State.WAITING) == []
    assert only(store.outbox, State.NO_POST).badges == (Badge("alice", P, 1), Badge("alice", P, 5))


def test_each_account_gets_its_own_notification(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"), announced("alice", R, 10))

    waiting = store.outbox.load_notifications(State.WAITING)
    assert [(n.account, len(n.badges)) for n in waiting] == [("alice", 2), ("bob", 1)]
    assert len({n.permlink for n in waiting}) == 2


def finish_by(store: Store, how: str, now: int) -> None:
    """Take alice's notification out of the open states at chain time ``now``."""
    outbox = store.outbox
    due = outbox.load_next_due(now)
    assert due is not None
    if how == "dry_run":
        outbox.mark_dry_run(due.id, ("alice", "a-post"), now)
        return
    assert outbox.mark_sent(due.id, ("alice", "a-post"), now)
    if how == "delivered":
        commit(store, 3, delivered={due.permlink: 3})


@pytest.mark.parametrize("how", ["sent", "delivered", "dry_run"])
def test_a_notification_after_one_was_sent_waits_the_per_account_interval(store: Store, how: str) -> None:
    commit(store, 1, announced("alice"))
    sent_at = time_of(2)
    finish_by(store, how, sent_at)

    commit(store, 4, announced("alice", P, 5), announced("bob"), interval=DAY)

    waiting = {n.account: n for n in store.outbox.load_notifications(State.WAITING)}
    assert waiting["alice"].not_before == sent_at + DAY
    assert waiting["alice"].badges == (Badge("alice", P, 5),)
    assert waiting["bob"].not_before == time_of(4)  # never notified: due at once
    assert store.outbox.load_next_due(sent_at + DAY - 1) == waiting["bob"]


def test_a_notification_long_after_the_last_one_is_due_at_once(store: Store) -> None:
    commit(store, 1, announced("alice"))
    send(store.outbox, time_of(2))

    commit(store, 10, announced("alice", P, 5), interval=60, time=time_of(2) + 3600)

    assert only(store.outbox, State.WAITING).not_before == time_of(2) + 3600


def test_a_fractional_per_account_interval_is_never_shortened(store: Store) -> None:
    commit(store, 1, announced("alice"))
    send(store.outbox, time_of(2))

    commit(store, 3, announced("alice", P, 5), interval=90.5)

    assert only(store.outbox, State.WAITING).not_before >= time_of(2) + 90.5


# --- STOP and START ---------------------------------------------------------------------------------------


def test_stop_drops_open_notifications_and_records_the_opt_out(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"), announced("carol"))
    bob = next(n for n in store.outbox.load_notifications(State.WAITING) if n.account == "bob")
    store.outbox.mark_no_post(bob.id)

    commit(store, 2, commands={"alice": STOP, "bob": STOP})

    assert sorted(n.account for n in store.outbox.load_notifications(State.DROPPED)) == ["alice", "bob"]
    assert [n.account for n in store.outbox.load_notifications(State.WAITING)] == ["carol"]
    assert store.outbox.load_optouts() == [("alice", 2, "reply"), ("bob", 2, "reply")]
    assert store.outbox.load_opted_out(["alice", "bob", "carol"]) == {"alice", "bob"}


def test_an_opted_out_account_keeps_earning_badges_silently(store: Store) -> None:
    commit(store, 1, commands={"alice": STOP})

    commit(store, 2, announced("alice"), announced("bob"))

    assert store.outbox.load_badges("alice") == [
        {"metric": "posts", "threshold": 1, "block": 2, "announced": "opted_out", "permlink": None}
    ]
    assert [n.account for n in store.outbox.load_notifications(State.WAITING)] == ["bob"]


def test_a_second_stop_keeps_the_first_one(store: Store) -> None:
    commit(store, 1, commands={"alice": STOP})
    commit(store, 2, commands={"alice": STOP})

    assert store.outbox.load_optouts() == [("alice", 1, "reply")]


def test_start_removes_the_opt_out_and_later_badges_are_announced(store: Store) -> None:
    commit(store, 1, commands={"alice": STOP})
    commit(store, 2, commands={"alice": START, "bob": START})  # bob never stopped: nothing to undo

    assert store.outbox.load_optouts() == []
    assert store.outbox.load_opted_out(["alice"]) == set()
    commit(store, 3, announced("alice"))
    assert only(store.outbox, State.WAITING).account == "alice"


def test_stop_leaves_a_sent_notification_to_be_delivered(store: Store) -> None:
    commit(store, 1, announced("alice"))
    sent = send(store.outbox, time_of(2))

    commit(store, 3, commands={"alice": STOP})
    assert only(store.outbox, State.SENT).id == sent.id
    commit(store, 4, delivered={sent.permlink: 4})

    assert only(store.outbox, State.DELIVERED).id == sent.id


def test_operator_opt_out_drops_open_notifications_and_can_be_removed(store: Store) -> None:
    commit(store, 1, announced("alice"))
    outbox = store.outbox

    outbox.add_optout("alice")
    outbox.add_optout("alice")

    assert outbox.load_optouts() == [("alice", None, "operator")]
    assert only(outbox, State.DROPPED).account == "alice"
    assert outbox.remove_optout("alice") is True
    assert outbox.remove_optout("alice") is False
    assert outbox.load_optouts() == []


def stop(*families: Metric, source: str = "reply") -> Opt:
    return Opt(STOP, frozenset(families), source)


def test_a_stopped_familys_badges_leave_a_waiting_notification_which_is_dropped_once_empty(
    store: Store,
) -> None:
    commit(store, 1, announced("alice", P), announced("alice", C, 10))
    waiting = only(store.outbox, State.WAITING)

    commit(store, 2, commands={"alice": stop(P)})
    assert only(store.outbox, State.WAITING).badges == (Badge("alice", C, 10),)
    assert [(b["metric"], b["announced"]) for b in store.outbox.load_badges("alice")] == [
        (C, "waiting"),
        (P, "opted_out"),
    ]
    commit(store, 3, commands={"alice": stop(C)})

    assert only(store.outbox, State.DROPPED).id == waiting.id
    assert {b["announced"] for b in store.outbox.load_badges("alice")} == {"opted_out"}


def test_each_stopped_family_keeps_the_block_and_source_that_stopped_it(store: Store) -> None:
    commit(store, 1, commands={"alice": stop(P)})
    commit(store, 2, commands={"alice": stop(P, C, source="custom_json")})

    manners = store.outbox.load_manners("alice")
    assert manners.families == {P: Since(1, "reply"), C: Since(2, "custom_json")}
    assert manners.everything is None and manners.mute is None
    assert store.outbox.load_family_optouts() == [("alice", C, 2, "custom_json"), ("alice", P, 1, "reply")]
    commit(store, 3, commands={"alice": Opt(START, frozenset({P}))})
    assert store.outbox.load_manners("alice").families == {C: Since(2, "custom_json")}


def test_the_operator_opts_an_account_out_of_families_and_back_in(store: Store) -> None:
    commit(store, 1, announced("alice", P), announced("alice", C, 10))
    outbox = store.outbox

    assert outbox.add_optout("alice", frozenset({P})) is True
    assert outbox.add_optout("alice", frozenset({P})) is False
    assert only(outbox, State.WAITING).badges == (Badge("alice", C, 10),)
    assert outbox.load_manners("alice").families == {P: Since(None, "operator")}
    assert outbox.remove_optout("alice", frozenset({C})) is False
    assert outbox.remove_optout("alice") is True
    assert outbox.load_manners("alice") == Manners()


def test_an_accounts_manners_say_what_it_stopped_and_since_when_it_mutes(store: Store) -> None:
    commit(store, 4, commands={"alice": STOP})
    store.commit_batch(
        Tally(), {}, Checkpoint(5, block_id(5), time_of(5)), OutboxChanges(mutes={"alice": True})
    )
    store.outbox.remember_asked_mute("bob", True)
    store.outbox.remember_asked_mute("carol", False)

    alice = store.outbox.load_manners("alice")
    assert alice == Manners(everything=Since(4, "reply"), mute=Since(5, "chain"))
    assert not any(alice.notified(metric) for metric in Metric) and alice.opt_out(P) == Since(4, "reply")
    assert store.outbox.load_manners("bob").mute == Since(None, "node")
    assert store.outbox.load_manners("carol") == Manners()
    assert store.outbox.load_mutes() == [("alice", 5, "chain"), ("bob", None, "node")]


def test_opted_out_accounts_are_found_among_many(store: Store) -> None:
    stops = {f"user{i:04}": STOP for i in range(0, 1200, 3)}
    commit(store, 1, commands=stops)

    found = store.outbox.load_opted_out(f"user{i:04}" for i in range(1200))

    assert found == set(stops)
    assert store.outbox.load_summary()["opted_out"] == 400


# --- the poster's writes ----------------------------------------------------------------------------------


def test_mark_sent_records_the_parent_the_time_and_the_attempt(store: Store) -> None:
    commit(store, 1, announced("alice"))
    due = store.outbox.load_next_due(time_of(1))
    assert due is not None

    assert store.outbox.mark_sent(due.id, ("alice", "my-post"), time_of(5))

    sent = store.outbox.load_notification(due.id)
    assert sent is not None
    assert (sent.state, sent.parent, sent.sent_time, sent.attempts) == (
        State.SENT,
        ("alice", "my-post"),
        time_of(5),
        1,
    )
    assert store.outbox.load_last_sent_time() == time_of(5)


def test_a_sent_mark_survives_a_restart(store: Store, tmp_path: Path) -> None:
    commit(store, 1, announced("alice"))
    due = send(store.outbox, time_of(2))

    with Store.open(store.location, create=False) as reopened:
        found = reopened.outbox.load_notification(due.id)

    assert found is not None
    assert found.state is State.SENT


@pytest.mark.parametrize("state", [State.SENT, State.NO_POST, State.DROPPED, State.DRY_RUN])
def test_mark_sent_refuses_a_notification_that_is_not_waiting(store: Store, state: State) -> None:
    commit(store, 1, announced("alice"))
    outbox = store.outbox
    notification = only(outbox, State.WAITING)
    if state is State.SENT:
        outbox.mark_sent(notification.id, ("alice", "p"), time_of(2))
    elif state is State.NO_POST:
        outbox.mark_no_post(notification.id)
    elif state is State.DROPPED:
        outbox.add_optout("alice")
        outbox.remove_optout("alice")
    else:
        outbox.mark_dry_run(notification.id, ("alice", "p"), time_of(2))
    before = outbox.load_notification(notification.id)

    assert outbox.mark_sent(notification.id, ("alice", "other"), time_of(3)) is False
    assert outbox.load_notification(notification.id) == before
    assert before is not None
    assert before.state is state


def test_mark_sent_refuses_a_waiting_notification_of_an_opted_out_account(store: Store) -> None:
    # The only way back to waiting after STOP: it was sent, then expired unseen.
    commit(store, 1, announced("alice"))
    sent = send(store.outbox, time_of(2))
    commit(store, 3, commands={"alice": STOP})
    assert store.outbox.requeue_expired(time_of(2) + 700, 600) == 1
    before = store.outbox.load_notification(sent.id)

    assert store.outbox.mark_sent(sent.id, ("alice", "a-post"), time_of(400)) is False
    assert store.outbox.load_notification(sent.id) == before


def test_a_failed_broadcast_waits_until_retry_and_is_parked_after_max_attempts(store: Store) -> None:
    commit(store, 1, announced("alice"))
    outbox = store.outbox
    first = send(outbox, time_of(2))

    assert outbox.mark_failed(first.id, "timeout", time_of(2) + 30, max_attempts=2) is State.WAITING
    failed = outbox.load_notification(first.id)
    assert failed is not None
    assert (failed.attempts, failed.last_error, failed.not_before) == (1, "timeout", time_of(2) + 30)
    assert outbox.load_next_due(time_of(2) + 29) is None

    send(outbox, time_of(2) + 30)
    assert outbox.mark_failed(first.id, "refused", time_of(2) + 90, max_attempts=2) is State.PARKED

    assert outbox.load_next_due(time_of(2) + 10_000) is None
    assert outbox.load_summary()["parked"] == [
        {"account": "alice", "permlink": first.permlink, "attempts": 2, "error": "refused"}
    ]


def test_mark_failed_changes_nothing_unless_the_notification_was_sent(store: Store) -> None:
    commit(store, 1, announced("alice"))
    waiting = only(store.outbox, State.WAITING)

    assert store.outbox.mark_failed(waiting.id, "x", time_of(50), max_attempts=1) is State.WAITING
    assert store.outbox.load_notification(waiting.id) == waiting


def test_a_broadcast_not_sent_for_lack_of_rc_does_not_count_as_an_attempt(store: Store) -> None:
    commit(store, 1, announced("alice"))
    outbox = store.outbox
    notification = send(outbox, time_of(2))

    outbox.mark_not_sent(notification.id, "not enough RC", time_of(2) + 3)

    after = outbox.load_notification(notification.id)
    assert after is not None
    assert (after.state, after.attempts, after.last_error, after.not_before) == (
        State.WAITING,
        0,
        "not enough RC",
        time_of(2) + 3,
    )
    send(outbox, time_of(2) + 3)
    # one real failure with max_attempts 2: it would be parked if the RC refusal had counted
    assert outbox.mark_failed(notification.id, "boom", time_of(9), max_attempts=2) is State.WAITING


def test_a_sent_notification_returns_to_waiting_only_after_its_expiration(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"), announced("carol"))
    outbox = store.outbox
    sent_at = time_of(2)
    alice = send(outbox, sent_at)
    bob = send(outbox, sent_at)
    outbox.mark_dry_run(only(outbox, State.WAITING).id, ("carol", "p"), sent_at)
    commit(store, 3, delivered={bob.permlink: 3})

    assert outbox.requeue_expired(sent_at + 600, 600) == 0  # expires at sent_at + 600: not yet passed
    assert outbox.load_notification(alice.id).state is State.SENT  # type: ignore[union-attr]

    assert outbox.requeue_expired(sent_at + 601, 600) == 1

    requeued = outbox.load_notification(alice.id)
    assert requeued is not None
    assert (requeued.state, requeued.last_error, requeued.parent, requeued.attempts) == (
        State.WAITING,
        "not included before it expired",
        ("alice", "a-post"),  # the same parent next time: a re-post is an edit, never a second comment
        1,
    )
    assert [n.account for n in outbox.load_notifications(State.DELIVERED)] == ["bob"]
    assert [n.account for n in outbox.load_notifications(State.DRY_RUN)] == ["carol"]


@pytest.mark.parametrize("how", ["requeue_expired", "mark_failed", "mark_not_sent"])
def test_a_sent_notification_returning_to_waiting_merges_with_a_newer_open_one(
    store: Store, how: str
) -> None:
    commit(store, 1, announced("alice", P, 1))
    outbox = store.outbox
    sent = send(outbox, time_of(2))
    commit(store, 3, announced("alice", P, 5), interval=60)

    if how == "requeue_expired":
        outbox.requeue_expired(time_of(2) + 700, 600)
    elif how == "mark_failed":
        outbox.mark_failed(sent.id, "timeout", time_of(4), max_attempts=10)
    else:
        outbox.mark_not_sent(sent.id, "not enough RC", time_of(4))

    [waiting] = open_notifications(outbox, "alice")
    assert set(waiting.badges) == {Badge("alice", P, 1), Badge("alice", P, 5)}


def test_an_opted_out_accounts_expired_notification_does_not_block_the_others(store: Store) -> None:
    commit(store, 1, announced("alice"))
    commit(store, 2, announced("bob"))
    outbox = store.outbox
    send(outbox, time_of(3))
    commit(store, 4, commands={"alice": STOP})
    now = time_of(3) + 700
    outbox.requeue_expired(now, 600)

    sent_to = []
    for _ in range(3):  # the poster's loop: next due, mark sent (or skip it)
        due = outbox.load_next_due(now)
        if due is None:
            break
        if outbox.mark_sent(due.id, (due.account, "p"), now):
            sent_to.append(due.account)

    assert sent_to == ["bob"]


# --- root posts -------------------------------------------------------------------------------------------


def test_each_accounts_newest_root_post_is_remembered(store: Store) -> None:
    tally = tally_of(
        block(1, post("alice", "first"), post("bob", "b1")),
        block(2, post("alice", "second"), reply("carol", "r", "alice", "first")),
    )

    commit(store, 2, tally=tally)

    assert store.outbox.load_root_post("alice") == ("second", time_of(2))
    assert store.outbox.load_root_post("bob") == ("b1", time_of(1))
    assert store.outbox.load_root_post("carol") is None  # a reply is not a root post


def test_a_newer_root_post_replaces_the_remembered_one_and_an_older_one_does_not(store: Store) -> None:
    commit(store, 1, tally=tally_of(block(1, post("alice", "p1"))))
    commit(store, 5, tally=tally_of(block(5, post("alice", "p5"))))

    store.outbox.remember_root_post("alice", "p3", time_of(3))  # the poster asked a node: older than p5

    assert store.outbox.load_root_post("alice") == ("p5", time_of(5))
    store.outbox.remember_root_post("alice", "p9", time_of(9))
    assert store.outbox.load_root_post("alice") == ("p9", time_of(9))


@pytest.mark.parametrize(
    ("later_blocks", "remembered"),
    [
        ([block(2, delete("alice", "p1"))], None),
        ([block(2, delete("alice", "other"))], ("p1", time_of(1))),
        ([block(2, delete("bob", "p1"))], ("p1", time_of(1))),
        ([block(2, delete("alice", "p1"), post("alice", "p2"))], ("p2", time_of(2))),
    ],
)
def test_a_deleted_root_post_is_forgotten(
    store: Store, later_blocks: list[dict[str, Any]], remembered: tuple[str, int] | None
) -> None:
    commit(store, 1, tally=tally_of(block(1, post("alice", "p1"))))

    commit(store, 2, tally=tally_of(*later_blocks))

    assert store.outbox.load_root_post("alice") == remembered


def test_a_root_post_created_and_deleted_in_one_batch_is_not_remembered(store: Store) -> None:
    commit(store, 2, tally=tally_of(block(1, post("alice", "p1")), block(2, delete("alice", "p1"))))

    assert store.outbox.load_root_post("alice") is None


def test_when_the_newest_root_post_is_deleted_an_older_one_of_the_batch_is_remembered(store: Store) -> None:
    commit(store, 1, announced("alice"))
    store.outbox.mark_no_post(only(store.outbox, State.WAITING).id)

    commit(
        store,
        4,
        tally=tally_of(
            block(2, post("alice", "older")),
            block(3, post("alice", "newer")),
            block(4, delete("alice", "newer")),
        ),
    )

    assert store.outbox.load_root_post("alice") == ("older", time_of(2))
    assert only(store.outbox, State.WAITING).account == "alice"


def test_a_new_root_post_puts_a_notification_waiting_for_a_post_back_in_line(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"))
    for notification in store.outbox.load_notifications(State.WAITING):
        store.outbox.mark_no_post(notification.id)

    commit(store, 2, tally=tally_of(block(2, post("alice", "fresh"))))

    assert only(store.outbox, State.WAITING).account == "alice"
    assert only(store.outbox, State.NO_POST).account == "bob"


# --- delivered --------------------------------------------------------------------------------------------


def test_the_bots_comment_seen_in_a_batch_marks_its_notification_delivered(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"))
    outbox = store.outbox
    alice = send(outbox, time_of(2))
    blocks = parse_blocks(
        [
            block(3, reply(BOT, alice.permlink, "alice", "a-post", "Congratulations")),
            block(
                4, reply(BOT, alice.permlink, "alice", "a-post", "edited"), reply(BOT, "elsewhere", "x", "y")
            ),
        ]
    )
    delivered = comments_by(blocks, BOT)
    assert delivered == {alice.permlink: 3, "elsewhere": 4}

    commit(store, 4, delivered=delivered)

    assert only(outbox, State.DELIVERED).id == alice.id
    assert store._db.execute(
        "SELECT delivered_block FROM notifications WHERE id = ?", (alice.id,)
    ).fetchone() == (3,)
    assert only(outbox, State.WAITING).account == "bob"
    assert outbox.load_badges("alice")[0]["announced"] == "delivered"
    assert outbox.requeue_expired(time_of(2) + 10_000, 600) == 0


def test_a_delivered_notification_stays_at_its_first_block(store: Store) -> None:
    commit(store, 1, announced("alice"))
    sent = send(store.outbox, time_of(2))
    commit(store, 3, delivered={sent.permlink: 3})
    commit(store, 9, delivered={sent.permlink: 9})  # an edit of it, seen later

    row = store._db.execute("SELECT delivered_block FROM notifications WHERE id = ?", (sent.id,)).fetchone()
    assert row == (3,)


# --- reads ------------------------------------------------------------------------------------------------


def test_next_due_respects_not_before_then_creation_order(store: Store) -> None:
    commit(store, 1, announced("alice"))
    send(store.outbox, time_of(1))
    commit(store, 2, announced("alice", P, 5), interval=100)  # due at time_of(1) + 100
    commit(store, 3, announced("bob"))
    commit(store, 4, announced("carol"), time=time_of(3))  # due together with bob, created after him
    outbox = store.outbox

    assert outbox.load_next_due(time_of(3) - 1) is None
    order = []
    while (due := outbox.load_next_due(time_of(1) + 100)) is not None:
        order.append(due.account)
        assert outbox.mark_sent(due.id, (due.account, "p"), time_of(1) + 100)
    assert order == ["bob", "carol", "alice"]


def test_next_due_skips_notifications_that_are_not_waiting(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"))
    outbox = store.outbox
    first = outbox.load_next_due(time_of(1))
    assert first is not None
    assert first.account == "alice"
    outbox.mark_no_post(first.id)

    due = outbox.load_next_due(time_of(1))

    assert due is not None
    assert due.account == "bob"


def test_summary_counts_every_state_opt_outs_and_badges(store: Store) -> None:
    commit(store, 1, *map(announced, ["alice", "bob", "carol", "dave"]), ignore=frozenset({"carol"}))
    outbox = store.outbox
    send(outbox, time_of(2))
    outbox.mark_no_post(outbox.load_next_due(time_of(2)).id)  # type: ignore[union-attr]
    commit(store, 3, commands={"erin": STOP})

    summary = outbox.load_summary()

    assert summary == {
        "notifications": {
            "waiting": 1,
            "no_post": 1,
            "sent": 1,
            "delivered": 0,
            "parked": 0,
            "dropped": 0,
            "dry_run": 0,
        },
        "opted_out": 1,
        "badges": 4,
        "parked": [],
    }


def test_badges_of_an_account_are_listed_by_block_metric_and_threshold(store: Store) -> None:
    commit(store, 1, announced("alice", R, 10), announced("alice", P, 1), announced("alice", P, 5))
    sent = send(store.outbox, time_of(2))
    commit(store, 3, announced("alice", C, 10), age=DAY + 1)

    assert store.outbox.load_badges("alice") == [
        {"metric": "posts", "threshold": 1, "block": 1, "announced": "sent", "permlink": sent.permlink},
        {"metric": "posts", "threshold": 5, "block": 1, "announced": "sent", "permlink": sent.permlink},
        {
            "metric": "upvotes_received",
            "threshold": 10,
            "block": 1,
            "announced": "sent",
            "permlink": sent.permlink,
        },
        {"metric": "comments", "threshold": 10, "block": 3, "announced": "stale", "permlink": None},
    ]
    assert store.outbox.load_badges("nobody") == []


def test_the_last_sent_time_is_the_latest_broadcast_or_dry_run(store: Store) -> None:
    commit(store, 1, announced("alice"), announced("bob"))
    outbox = store.outbox
    assert outbox.load_last_sent_time() is None

    send(outbox, time_of(5))
    outbox.mark_dry_run(only(outbox, State.WAITING).id, ("bob", "p"), time_of(9))

    assert outbox.load_last_sent_time() == time_of(9)
