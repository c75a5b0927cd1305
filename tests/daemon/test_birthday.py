"""Hive birthdays end to end: the bot follows the generated chain across a midnight (UTC) with real beem,
asks the devnet for the creation times of the accounts it meets (``database_api.find_accounts``, shaped
as hived's pattern test ``find_accounts/find``), and congratulates once an account whose birthday that
midnight is; an account that opted out of the family by custom_json hears nothing; a restart posts none
twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.birthdays import years_on
from bot.location import Location
from bot.metrics import Occasion
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.users import DevUser
from tests.support.notifying import FIRST, GENESIS, SteppedBot, bot_comments, generated_chain

MIDNIGHT = 1_750_032_000
"""2025-06-16 00:00:00 UTC, the first midnight of the generated chain (its genesis: 2025-06-15 15:06:40)."""
DAY = date(2025, 6, 16)
MIDNIGHT_BLOCK = FIRST + -(-(MIDNIGHT - GENESIS) // 3)  # the first block at or after it
BEGIN = MIDNIGHT_BLOCK - 60
END = MIDNIGHT_BLOCK + 150  # past the per-account interval (100 blocks) of a notification before midnight


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return generated_chain()


@pytest.fixture
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    with DevNode(chain, head=BEGIN, irreversible_lag=1) as served:
        yield served


def born_on_this_day(chain: ChainGenerator) -> list[tuple[str, int]]:
    """The accounts whose birthday :data:`DAY` is, with the years they turn (the devnet's ``created``)."""
    found = []
    for name in chain.accounts:
        state = chain.account(name, BEGIN)
        years = None if state is None else years_on(state.created, DAY)
        if years is not None:
            found.append((name, years))
    return found


def birthday_comments(node: DevNode, account: str, first: int, last: int) -> list[str]:
    return [
        value["body"]
        for _, value in bot_comments(node, first, last)
        if value["parent_author"] == account and "Happy Hive Birthday!" in value["body"]
    ]


@pytest.mark.slow
def test_a_birthday_passing_while_the_bot_follows_is_posted_once_and_not_to_an_account_opted_out(
    chain: ChainGenerator, node: DevNode, store_location: Location, tmp_path: Path
) -> None:
    (celebrated, years), (quiet, _) = born_on_this_day(chain)[:2]
    users = {name: DevUser(node, name, data_dir=tmp_path / name) for name in (celebrated, quiet)}
    for name, user in users.items():  # met by the bot before midnight, each with a root post to reply to
        assert user.post(f"my-day-{name}", "A day", "Tomorrow is a day.") is not None
    assert users[quiet].opt({"stop": [Occasion.BIRTHDAY.value]}) is not None
    bot = SteppedBot(node, store_location, start=BEGIN, birthday=True)
    bot.run(MIDNIGHT_BLOCK + 60)
    bot = bot.restarted()  # a crash and a restart after the birthday was found
    bot.run(END)

    line = f"Happy Hive Birthday! You are on the Hive blockchain for {years} year{'s' if years > 1 else ''}!"
    (body,) = birthday_comments(node, celebrated, BEGIN, END)
    assert line in body.splitlines()
    assert birthday_comments(node, quiet, BEGIN, END) == []
    records = {
        name: [(b.threshold, b.announced) for b in bot.poster_store.outbox.load_badge_records(name)
               if b.metric is Occasion.BIRTHDAY]
        for name in (celebrated, quiet)
    }  # fmt: skip
    assert records[celebrated] == [(years, "delivered")]
    assert [announced for _, announced in records[quiet]] == ["opted_out"]
    bot.close()
