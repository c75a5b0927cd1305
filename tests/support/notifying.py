"""A bot with its notifications on, run step by step against the devnet node: the head moves only when the
test says, so every broadcast, inclusion and STOP happens at a block the test chooses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.app import build_follower, build_poster
from bot.chain import PostingKey
from bot.config import Config, NotificationSettings
from bot.errors import ChainError
from bot.location import Location
from bot.metrics import Metric
from bot.poster import PostReport
from bot.store import Store
from devnet import keys
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode
from tests.support.chains import bot_config

BOT = "badge-bot"
SEED = 21
FIRST = 60_000_000
GENESIS = 1_750_000_000
START = FIRST + 10 * 28_800  # the bot starts here: ten days of generated history behind it
LADDERS: Mapping[Metric, tuple[int, ...]] = {
    Metric.UPVOTES_RECEIVED: (25, 50, 75, 100, 150, 200),
    Metric.UPVOTES_GIVEN: (40, 80),
    Metric.POSTS: (2, 4),
    Metric.COMMENTS: (4, 8),
}
SETTINGS = NotificationSettings(per_account_interval=300, expiration=60)


def generated_chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, GeneratorParams(extra_accounts=(BOT,)), blocks=11 * 28_800)


def posting_key(account: str = BOT, role: str = "posting") -> PostingKey:
    return PostingKey(keys.private_key(account, role, "devnet"))


@dataclass
class SteppedBot:
    """The follower and the poster of one bot, each with its own store connection, as the daemon has them."""

    node: DevNode
    store_path: Location
    settings: NotificationSettings = SETTINGS
    dry_run: bool = False
    ladders: Mapping[Metric, tuple[int, ...]] = field(default_factory=lambda: LADDERS)
    start: int = START
    birthday: bool = False
    reports: list[PostReport] = field(default_factory=list)
    errors: list[ChainError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.follower_store = Store.open(self.store_path)
        self.poster_store = Store.open(self.store_path)
        self.follower = build_follower(self.config, self.follower_store)
        self.poster = build_poster(self.config, self.poster_store, None if self.dry_run else posting_key())

    @property
    def config(self) -> Config:
        """The config the daemon would run this bot with."""
        return bot_config(
            [self.node.url],
            self.store_path,
            start_block=self.start,
            dry_run=self.dry_run,
            badges=self.ladders,
            birthday=self.birthday,
            notifications=self.settings,
        )

    def tick(self) -> None:
        """What the daemon's two jobs do at one poll: follow until caught up, then post what is due. As in
        the daemon, a job that meets a chain error gives up until the next poll."""
        try:
            while self.follower.step() is not None:
                pass
        except ChainError as exc:
            self.errors.append(exc)
        try:
            while (report := self.poster.step()) is not None:
                self.reports.append(report)
                if report.outcome.ends_the_tick:
                    break
        except ChainError as exc:
            self.errors.append(exc)

    def run(self, until: int) -> None:
        """Move the head one block at a time up to ``until``, ticking at each."""
        for head in range(self.node.clock.head() + 1, until + 1):
            self.node.clock.set_head(head)
            self.tick()

    def restarted(self) -> SteppedBot:
        """The same bot after a crash: new store connections and objects, nothing kept in memory."""
        self.close()
        return replace(self, reports=[], errors=[])

    def close(self) -> None:
        self.follower.close()
        self.follower_store.close()
        self.poster_store.close()


def bot_comments(node: DevNode, first: int, last: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every comment operation by the bot in blocks ``first`` … ``last``, with its block number."""
    for num in range(first, last + 1):
        block = node.ledger.block(num)
        for transaction in (block or {}).get("transactions", []):
            for operation in transaction["operations"]:
                if operation["type"] == "comment_operation" and operation["value"]["author"] == BOT:
                    yield num, operation["value"]
