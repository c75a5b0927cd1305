"""The birthday rule (bot.birthdays) and its planning (bot.plan): table-driven, pure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.badges import Badge, BadgeRules, Silence, select_announcements
from bot.birthdays import Birth, Birthday, birthday_key, days_begun, find_birthdays, years_on
from bot.metrics import FAMILIES, Family, Metric, Occasion
from bot.notifications import Templates, render_notification
from bot.optouts import Opt, OptCommand, OptState, parse_opt
from bot.plan import CountPlan, OutboxChanges, OutboxView, plan_batch
from bot.tallies import Tally

B = Occasion.BIRTHDAY
DAY = 86_400


def t(text: str) -> int:
    """An epoch time from ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_the_families_are_the_metrics_and_the_occasions_with_no_name_twice() -> None:
    assert [family.value for family in FAMILIES] == [*(m.value for m in Metric), "birthday"]
    assert len({family.value for family in FAMILIES}) == len(FAMILIES)


@pytest.mark.parametrize(
    ("since", "until", "days"),
    [
        ("2025-06-01 10:00:00", "2025-06-01 10:50:00", []),  # within a day
        ("2025-06-01 23:59:57", "2025-06-02 00:00:00", [date(2025, 6, 2)]),  # the day's start, included
        ("2025-06-02 00:00:00", "2025-06-02 00:03:00", []),  # reached by the batch before
        (
            "2025-06-01 23:30:00",
            "2025-06-04 00:30:00",
            [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)],
        ),
    ],
)
def test_the_days_a_batch_begins_are_those_whose_start_lies_after_its_previous_block(
    since: str, until: str, days: list[date]
) -> None:
    assert days_begun(t(since), t(until)) == days


@pytest.mark.parametrize(
    ("created", "day", "years"),
    [
        ("2020-06-02 15:00:00", date(2021, 6, 2), 1),
        ("2020-06-02 15:00:00", date(2025, 6, 2), 5),
        ("2020-06-02 15:00:00", date(2020, 6, 2), None),  # year 0: the day it was created
        ("2020-06-02 15:00:00", date(2025, 6, 3), None),
        ("2020-06-02 15:00:00", date(2019, 6, 2), None),  # before it existed
        ("2020-02-29 08:00:00", date(2021, 2, 28), 1),  # a leap day's account, in a year without one
        ("2020-02-29 08:00:00", date(2021, 3, 1), None),
        ("2020-02-29 08:00:00", date(2024, 2, 28), None),  # ... and in a leap year, on its own day
        ("2020-02-29 08:00:00", date(2024, 2, 29), 4),
        ("2019-02-28 08:00:00", date(2021, 2, 28), 2),
        ("2019-02-28 08:00:00", date(2020, 2, 29), None),  # February 28's accounts keep theirs
        ("2019-02-28 08:00:00", date(2020, 2, 28), 1),
        ("2016-03-24 16:05:00", date(2026, 3, 24), 10),  # steemit's creation (the conformance corpus)
    ],
)
def test_an_account_turns_a_year_older_on_the_utc_date_of_its_creation(
    created: str, day: date, years: int | None
) -> None:
    assert years_on(t(created), day) == years


def test_the_birthday_key_is_month_and_day_of_the_utc_date() -> None:
    assert birthday_key(t("2020-02-29 23:59:59")) == 229
    assert birthday_key(t("2020-12-01 00:00:00")) == 1201


ALICE = Birth("alice", t("2020-06-02 15:00:00"))
BOB = Birth("bob", t("2024-06-02 01:00:00"))
CAROL = Birth("carol", t("2021-06-03 12:00:00"))
LEAP = Birth("leap", t("2020-02-29 08:00:00"))


@pytest.mark.parametrize(
    ("since", "until", "held", "earned"),
    [
        ("2025-06-01 23:59:57", "2025-06-02 00:00:00", set(), [("alice", 5), ("bob", 1)]),
        ("2025-06-02 00:00:00", "2025-06-02 00:50:00", set(), []),  # the day was reached before
        ("2025-06-01 23:59:57", "2025-06-02 00:00:00", {("alice", 5)}, [("bob", 1)]),  # never twice
        ("2025-06-01 23:00:00", "2025-06-03 00:10:00", set(), [("alice", 5), ("bob", 1), ("carol", 4)]),
        ("2025-02-27 23:59:00", "2025-02-28 00:01:00", set(), [("leap", 5)]),
        ("2024-06-01 23:59:00", "2024-06-02 00:01:00", set(), [("alice", 4)]),  # bob's year 0: none
    ],
)
def test_a_batch_earns_the_birthdays_of_the_days_it_begins_once(
    since: str, until: str, held: set[tuple[str, int]], earned: list[tuple[str, int]]
) -> None:
    found = find_birthdays([ALICE, BOB, CAROL, LEAP], t(since), t(until), held)
    assert [(day.badge.account, day.badge.threshold) for day in found] == earned
    assert all(day.badge.metric is B for day in found)


RULES = BadgeRules({}, "badge-bot", frozenset({"ignored"}), max_crossing_age=DAY, birthday=True)
NOON = t("2025-06-02 12:00:00")
MIDNIGHT = t("2025-06-02 00:00:00")
NOTHING_KNOWN = OutboxView()


def plan(
    birthdays: list[Birthday],
    known: OutboxView = NOTHING_KNOWN,
    age: float = 0,
    opts: dict[str, list[Opt]] | None = None,
) -> dict[str, Silence | None]:
    changes = OutboxChanges(rules=RULES, age=age, opt_commands=opts or {})
    planned = plan_batch(CountPlan({}), Tally(), changes, known, 10, NOON, birthdays)
    return {earned.badge.account: earned.silence for earned in planned.badges}


def day_of(account: str, years: int = 5, reached: int = MIDNIGHT) -> Birthday:
    return Birthday(Badge(account, B, years), reached)


@pytest.mark.parametrize(
    ("birthday", "known", "age", "opts", "silence"),
    [
        (day_of("alice"), OutboxView(), 0, None, None),  # announced
        (day_of("alice"), OutboxView(), 12 * 3600 + 1, None, Silence.STALE),  # its day began 24 h 1 s ago
        (day_of("alice", reached=NOON - 3600), OutboxView(), 0, None, None),
        (day_of("alice"), OutboxView(stopped={"alice": frozenset({B})}), 0, None, Silence.OPTED_OUT),
        (day_of("alice"), OutboxView(stopped={"alice": frozenset({Metric.POSTS})}), 0, None, None),
        (day_of("alice"), OutboxView(opted_out=frozenset({"alice"})), 0, None, Silence.OPTED_OUT),
        (day_of("alice"), OutboxView(muted=frozenset({"alice"})), 0, None, Silence.MUTED),
        (
            day_of("alice"),
            OutboxView(),
            0,
            {"alice": [Opt(OptCommand.STOP, frozenset({B}))]},
            Silence.OPTED_OUT,
        ),
        (day_of("ignored"), OutboxView(), 0, None, Silence.IGNORED),
        (day_of("badge-bot"), OutboxView(), 0, None, Silence.IGNORED),
    ],
)
def test_a_birthday_is_announced_unless_opted_out_muted_ignored_or_older_than_the_crossing_age(
    birthday: Birthday,
    known: OutboxView,
    age: float,
    opts: dict[str, list[Opt]] | None,
    silence: Silence | None,
) -> None:
    assert plan([birthday], known, age, opts) == {birthday.badge.account: silence}


def test_a_birthday_missed_in_downtime_is_recorded_silently() -> None:
    """The batch reaching the day three days late: its age is its day's, ``max_crossing_age`` exceeded."""
    assert plan([day_of("alice")], age=3 * DAY) == {"alice": Silence.STALE}


def test_an_announced_birthday_opens_a_notification_named_after_it() -> None:
    changes = OutboxChanges(rules=RULES)
    planned = plan_batch(CountPlan({}), Tally(), changes, OutboxView(), 10, NOON, [day_of("alice")])
    (opened,) = planned.notifications
    assert opened.account == "alice"
    assert opened.permlink.startswith("badge-birthday-5-alice-")


@pytest.mark.parametrize(
    ("text", "families"),
    [("STOP birthday", frozenset({B})), ("stop posts and birthday", frozenset({Metric.POSTS, B}))],
)
def test_a_stop_reply_may_name_the_birthday_family(text: str, families: frozenset[Family]) -> None:
    assert parse_opt(text) == Opt(OptCommand.STOP, families)


def test_a_start_of_some_families_after_a_stop_of_all_keeps_birthday_stopped() -> None:
    after = OptState(everything=True).apply(Opt(OptCommand.START, frozenset({Metric.POSTS})))
    assert not after.wants(B)
    assert after.wants(Metric.POSTS)


@pytest.mark.parametrize(("years", "line"), [(1, "for 1 year!"), (5, "for 5 years!")])
def test_the_birthday_line_says_the_years(years: int, line: str) -> None:
    announcements = select_announcements([Badge("alice", B, years)], {})
    body = render_notification("alice", "badge-bot", announcements, Templates())
    assert f"Happy Hive Birthday! You are on the Hive blockchain {line}" in body.splitlines()
    assert "next target" not in body
