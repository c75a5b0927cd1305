"""Digests through a real store (SQLite and PostgreSQL): the choice kept with the batch, the waiting
notification due a digest interval after the account's last, every badge of the period joining it, and STOP
and mutes dropping it as any other."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

import pytest

from bot.badges import Badge, BadgeRules, Ladders
from bot.db import Location
from bot.manners import Digest
from bot.metrics import Metric
from bot.optouts import Opt, OptCommand
from bot.outbox import Notification, State
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from tests.support.blocks import DAY, block_id, time_of

P, C = Metric.POSTS, Metric.COMMENTS
BOT = "badge-bot"
WEEK = 7 * DAY
LADDERS: Ladders = {P: (1, 2, 3), C: (1, 2)}
RULES = BadgeRules(LADDERS, BOT, max_crossing_age=DAY, per_account_interval=DAY, digest_interval=WEEK)


@pytest.fixture
def store(store_location: Location) -> Iterator[Store]:
    with Store.open(store_location) as opened:
        yield opened


def commit(
    store: Store,
    num: int,
    increments: Mapping[tuple[str, Metric], int] | None = None,
    *,
    digests: Mapping[str, Digest] | None = None,
    commands: Mapping[str, OptCommand] | None = None,
    mutes: Mapping[str, bool] | None = None,
) -> None:
    """Commit block ``num`` (at ``time_of(num)``) with ``increments`` and the batch's commands."""
    changes = OutboxChanges(
        rules=RULES,
        digests=digests or {},
        opt_commands={account: [Opt(command)] for account, command in (commands or {}).items()},
        mutes=mutes or {},
    )
    checkpoint = Checkpoint(num, block_id(num), time_of(num))
    store.commit_batch(Tally(increments=Counter(increments or {})), {}, checkpoint, changes)


def waiting(store: Store, account: str = "alice") -> Notification:
    [notification] = [n for n in store.outbox.load_notifications(State.WAITING) if n.account == account]
    return notification


def sent_at(store: Store, num: int) -> Notification:
    """alice earns a badge at block ``num`` and her notification is sent then."""
    commit(store, num, {("alice", C): 1})
    notification = waiting(store)
    assert store.outbox.mark_sent(notification.id, ("alice", "a-post"), time_of(num))
    return notification


def test_a_digest_chosen_is_kept_with_its_time_a_repeat_keeps_the_first_and_off_forgets_it(
    store: Store,
) -> None:
    commit(store, 10, digests={"alice": Digest.WEEKLY})
    assert store.outbox.load_view_of("alice").digests == {"alice": time_of(10)}
    commit(store, 11, digests={"alice": Digest.WEEKLY})
    assert store.outbox.load_view_of("alice").digests == {"alice": time_of(10)}
    commit(store, 12, digests={"alice": Digest.OFF})
    assert store.outbox.load_view_of("alice").digests == {}


def test_an_accounts_badges_on_a_digest_wait_in_one_notification_a_week_after_its_last(store: Store) -> None:
    last = sent_at(store, 10)
    commit(store, 11, digests={"alice": Digest.WEEKLY})
    commit(store, 20, {("alice", P): 1})
    commit(store, 30, {("alice", P): 2, ("alice", C): 1})
    digest = waiting(store)
    assert digest.not_before == time_of(11) + WEEK  # the choice came after the last one sent
    assert [(b.metric, b.threshold) for b in digest.badges] == [(C, 2), (P, 1), (P, 2), (P, 3)]
    assert store.outbox.load_next_due(digest.not_before - 1) is None
    assert store.outbox.load_next_due(digest.not_before) == digest
    assert last.id != digest.id


def test_without_a_digest_the_next_notification_waits_the_per_account_interval_only(store: Store) -> None:
    sent_at(store, 10)
    commit(store, 20, {("alice", P): 1})
    assert waiting(store).not_before == time_of(10) + DAY


def test_choosing_a_digest_pushes_the_waiting_notification_back_and_off_brings_it_forward(
    store: Store,
) -> None:
    sent_at(store, 10)
    commit(store, 20, {("alice", P): 1})
    commit(store, 21, digests={"alice": Digest.WEEKLY})
    assert waiting(store).not_before == time_of(21) + WEEK
    commit(store, 22, digests={"alice": Digest.OFF})
    assert waiting(store).not_before == time_of(10) + DAY


@pytest.mark.parametrize(
    "silencing",
    [{"commands": {"alice": OptCommand.STOP}}, {"mutes": {"alice": True}}],
    ids=["a STOP", "a mute"],
)
def test_a_stop_or_a_mute_drops_a_waiting_digest_and_the_digest_is_kept(
    store: Store, silencing: dict[str, object]
) -> None:
    commit(store, 10, digests={"alice": Digest.WEEKLY})
    commit(store, 11, {("alice", P): 1})
    digest = waiting(store)
    commit(store, 12, **silencing)  # type: ignore[arg-type]
    assert store.outbox.load_notification(digest.id).state is State.DROPPED  # type: ignore[union-attr]
    assert store.outbox.load_view_of("alice").digests == {"alice": time_of(10)}


def test_digests_apply_to_their_accounts_only(store: Store) -> None:
    commit(store, 10, digests={"alice": Digest.WEEKLY})
    commit(store, 11, {("alice", P): 1, ("bob", P): 1})
    assert waiting(store, "alice").not_before == time_of(10) + WEEK
    assert waiting(store, "bob").not_before == time_of(11)
    assert [badge.threshold for badge in waiting(store, "alice").badges] == [1]
    assert Badge("bob", P, 1) in waiting(store, "bob").badges
