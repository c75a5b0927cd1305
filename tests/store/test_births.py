"""Births and birthday badges through a real store, on both backends: the creation times remembered once,
the days a batch begins earning the birthdays of the accounts known, in the commit that moves the
checkpoint, never twice, silent when found late."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest

from bot.badges import BadgeRules, Silence
from bot.db import Location
from bot.errors import StoreError
from bot.metrics import Metric, Occasion
from bot.optouts import Opt, OptCommand
from bot.outbox import State
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import Tally

B = Occasion.BIRTHDAY
DAY = 86_400
RULES = BadgeRules({}, "badge-bot", max_crossing_age=DAY, birthday=True)


def t(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


ALICE = t("2020-06-02 15:00:00")  # five on 2025-06-02
BOB = t("2024-06-02 01:00:00")  # one on 2025-06-02
CAROL = t("2021-06-03 12:00:00")  # four on 2025-06-03


@pytest.fixture
def store(store_location: Location) -> Iterator[Store]:
    with Store.open(store_location) as opened:
        yield opened


def commit(
    store: Store,
    num: int,
    time: str,
    *,
    births: Mapping[str, int] | None = None,
    age: float = 0,
    rules: BadgeRules = RULES,
    stop: Mapping[str, frozenset[Metric | Occasion]] | None = None,
) -> None:
    """Commit block ``num`` at ``time``, counting a post of each account in ``births`` (as the follower
    does: a counted account's creation learned in the same commit)."""
    tally = Tally(increments=Counter({(account, Metric.POSTS): 1 for account in births or {}}))
    changes = OutboxChanges(
        rules=rules,
        age=age,
        opt_commands={
            account: [Opt(OptCommand.STOP, families)] for account, families in (stop or {}).items()
        },
    )
    store.commit_batch(tally, {}, Checkpoint(num, f"{num:08x}", t(time)), changes, births=births or {})


def birthdays(store: Store, account: str) -> list[tuple[int, str | None]]:
    return [(b.threshold, b.announced) for b in store.outbox.load_badge_records(account) if b.metric is B]


def test_the_creation_times_the_store_lacks_are_those_to_ask_once(store: Store) -> None:
    assert store.load_missing_births(["alice", "bob"]) == {"alice", "bob"}
    commit(store, 1, "2025-06-01 12:00:00", births={"alice": ALICE})
    assert store.load_missing_births(["alice", "bob"]) == {"bob"}
    commit(store, 2, "2025-06-01 12:00:03", births={"alice": ALICE + 1})  # a second answer changes nothing
    commit(store, 3, "2025-06-01 23:59:57", births={"bob": BOB})
    commit(store, 4, "2025-06-02 00:00:00")
    assert birthdays(store, "alice") == [(5, State.WAITING)]  # from the first creation time kept


def test_the_batch_reaching_a_day_earns_its_birthdays_once_and_announces_them(store: Store) -> None:
    commit(store, 1, "2025-06-01 23:00:00", births={"alice": ALICE, "bob": BOB, "carol": CAROL})
    commit(store, 2, "2025-06-01 23:59:57")
    assert birthdays(store, "alice") == []
    commit(store, 3, "2025-06-02 00:00:00")
    assert (birthdays(store, "alice"), birthdays(store, "bob")) == (
        [(5, State.WAITING)],
        [(1, State.WAITING)],
    )
    assert birthdays(store, "carol") == []
    commit(store, 4, "2025-06-02 12:00:00")
    commit(store, 5, "2025-06-03 00:00:03")
    assert birthdays(store, "carol") == [(4, State.WAITING)]
    assert len(store.outbox.load_notifications(State.WAITING)) == 3  # one each, none twice
    (record,) = store.outbox.load_badge_records("alice")
    assert (record.block_num, record.block_time) == (3, t("2025-06-02 00:00:00"))


def test_a_birthday_found_after_downtime_is_recorded_silently(store: Store) -> None:
    commit(store, 1, "2025-05-30 12:00:00", births={"alice": ALICE, "carol": CAROL})
    commit(store, 2, "2025-06-03 06:00:00", age=3 * DAY)  # caught up, three days behind the head
    assert birthdays(store, "alice") == [(5, Silence.STALE)]
    assert birthdays(store, "carol") == [(4, Silence.STALE)]
    assert store.outbox.load_notifications(State.WAITING) == []


def test_an_account_opted_out_of_birthdays_gets_its_badge_silently(store: Store) -> None:
    commit(
        store, 1, "2025-06-01 23:00:00", births={"alice": ALICE, "bob": BOB}, stop={"alice": frozenset({B})}
    )
    commit(store, 2, "2025-06-02 00:00:01")
    assert birthdays(store, "alice") == [(5, Silence.OPTED_OUT)]
    assert birthdays(store, "bob") == [(1, State.WAITING)]


def test_with_the_family_off_no_birthday_is_earned(store: Store) -> None:
    off = BadgeRules({}, "badge-bot", max_crossing_age=DAY)
    commit(store, 1, "2025-06-01 23:00:00", births={"alice": ALICE}, rules=off)
    commit(store, 2, "2025-06-02 00:00:01", rules=off)
    assert birthdays(store, "alice") == []


def test_a_failed_commit_earns_no_birthday_and_the_next_earns_it(store: Store) -> None:
    commit(store, 2, "2025-06-01 23:00:00", births={"alice": ALICE})
    with pytest.raises(StoreError, match="refusing"):
        commit(store, 2, "2025-06-02 00:00:01")  # a batch applied twice is refused, whole
    assert birthdays(store, "alice") == []
    commit(store, 3, "2025-06-02 00:00:01")
    assert birthdays(store, "alice") == [(5, State.WAITING)]
