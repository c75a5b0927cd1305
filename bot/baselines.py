"""Baselines: each account's counts from before the bot's first block, read from its account history.

The bot counts live from its first block S (``live_start``). With ``bootstrap: history`` every account it
meets gets a baseline row, *waiting*; the baseline job (:mod:`bot.baseline_job`) reads the account's history
newest page first, each page committed with its progress (:meth:`Baselines.commit_page`), and when the
oldest page is in, adds the baseline to the account's counts and records the badges it reaches, silently.
Until then the account earns no badge (:func:`load_done` tells the follower's commit who may).

A pair that counts once ever may straddle S: voted before S (the baseline's) and changed after it (live
counting's). Only comments created before S and less than 7 days before the vote can do that, so only
votes in the 7 days around S matter. Live counting marks the pairs it counts on comments created before S
(``seam_votes`` with origin ``live``, side by side); a baseline skips a pair live counted for its side, and
marks those it counts in the 7 days before S (origin ``baseline``); live counting, in its commit
(:func:`bot.plan.plan_counts`), does not count again a side a baseline has. Both run in write transactions, so
whichever commits second sees the other's marks. Payouts need no seam: each is one virtual operation in one
block, the baseline's if the block is before S, live counting's otherwise.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot import counts
from bot.backlog import Waiting, calls_left
from bot.badges import BadgeRules
from bot.db import Database
from bot.history import (
    CommentDeleted,
    CommentSighting,
    PageReading,
    PairSighting,
    PayoutSighting,
    ReplySighting,
    Side,
    VoteKey,
)
from bot.metrics import Metric
from bot.outbox import record_badges
from bot.plan import SIDE_METRICS, SeamSide, plan_baseline
from bot.tallies import PAYOUT_WINDOW


class StalePage(ValueError):
    """A page that is not its baseline's next one any more (requeued, finished, or failed meanwhile)."""


class BaselineState(enum.StrEnum):
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Baseline:
    """An account's baseline, done or in progress."""

    account: str
    state: BaselineState
    next_start: int | None  # the history index to read from next (None: the newest page)
    carry: frozenset[VoteKey]
    effective_before_hf24: bool  # the pages read show an effective_comment_vote before HF24
    counts: Mapping[Metric, int]
    pages: int
    entries: int
    error: str | None


def record_live_start(db: Database, block_num: int, block_time: int) -> None:
    db.execute(
        "INSERT INTO live_start (id, block_num, block_time) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
        (block_num, block_time),
    )


def load_live_start(db: Database) -> tuple[int, int] | None:
    row = db.execute("SELECT block_num, block_time FROM live_start").fetchone()
    return None if row is None else (row[0], row[1])


def queue_baselines(db: Database, accounts: Iterable[str], block_num: int) -> None:
    """Give each of ``accounts`` without a baseline one, waiting."""
    db.executemany(
        "INSERT INTO baselines (account, state, queued_block) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(account, BaselineState.WAITING, block_num) for account in accounts],
    )


def load_done(db: Database, accounts: Iterable[str]) -> set[str]:
    rows = db.execute(
        "SELECT account FROM baselines WHERE state = ? AND account IN (SELECT value FROM json_each(?))",
        (BaselineState.DONE, json.dumps(sorted(set(accounts)))),
    )
    return {account for (account,) in rows}


def load_baseline_sides(db: Database, sides: Iterable[SeamSide]) -> set[SeamSide]:
    """Those of ``sides`` (of pairs counted live on comments created before S) a baseline counted."""
    return {side for side in sides if _seam_mark(db, *side) == "baseline"}


def mark_live(db: Database, sides: Iterable[SeamSide]) -> None:
    """Mark ``sides`` as counted live, so that a baseline committed later skips them."""
    db.executemany(
        "INSERT INTO seam_votes (author, permlink, voter, side, origin) VALUES (?, ?, ?, ?, 'live') "
        "ON CONFLICT DO NOTHING",
        list(sides),
    )


def _seam_mark(db: Database, author: str, permlink: str, voter: str, side: Side) -> str | None:
    row = db.execute(
        "SELECT origin FROM seam_votes WHERE author = ? AND permlink = ? AND voter = ? AND side = ?",
        (author, permlink, voter, side),
    ).fetchone()
    return None if row is None else str(row[0])


class Baselines:
    """Baselines as the baseline job and the commands see them. Writes run in ``transaction()``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._transaction = db.transaction

    def load_next(self) -> Baseline | None:
        """The waiting baseline to work on: the one begun first, else the one queued first."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM baselines WHERE state = ? ORDER BY pages = 0, queued_block, account LIMIT 1",
            (BaselineState.WAITING,),
        ).fetchone()
        return None if row is None else _baseline(row)

    def load_waiting(self) -> list[Waiting]:
        """The backlog, as its order needs it (:mod:`bot.backlog`), in one query: each waiting baseline
        with the estimate of its entries left and the sum of the account's live counts (its counts, until
        the baseline is in)."""
        live = " + ".join(f"c.{metric.value}" for metric in Metric)
        rows = self._db.execute(
            f"SELECT b.account, b.queued_block, b.pages, b.entries_left, coalesce({live}, 0) "
            "FROM baselines b LEFT JOIN counts c ON c.account = b.account WHERE b.state = ?",
            (BaselineState.WAITING,),
        )
        return [Waiting(account, queued, pages, left, live) for account, queued, pages, left, live in rows]

    def load_backlog(self, page_size: int, calls_per_second: float) -> dict[str, object]:
        """The backlog for ``status`` and the metrics: accounts waiting (and not begun), the entries left
        of those begun (estimated), the calls left, and the seconds they take at ``calls_per_second``
        (every node's budget together)."""
        waiting = self.load_waiting()
        calls = calls_left(waiting, page_size)
        return {
            "backlog": {
                "accounts": len(waiting),
                "not_begun": sum(item.entries_left is None for item in waiting),
                "entries_left": sum(item.entries_left or 0 for item in waiting),
                "calls_left": calls,
                "seconds_left": round(calls / calls_per_second, 1),
            }
        }

    def load_estimate(self, account: str) -> int | None:
        """The estimate of the entries ``account``'s baseline has left (None: none made yet)."""
        row = self._db.execute("SELECT entries_left FROM baselines WHERE account = ?", (account,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def load(self, account: str) -> Baseline | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM baselines WHERE account = ?", (account,)).fetchone()
        return None if row is None else _baseline(row)

    def load_live_start(self) -> tuple[int, int] | None:
        return load_live_start(self._db)

    def load_summary(self) -> dict[str, object]:
        states = dict(self._db.execute("SELECT state, count(*) FROM baselines GROUP BY state").fetchall())
        failed = self._db.execute(
            "SELECT account, error FROM baselines WHERE state = ? ORDER BY account", (BaselineState.FAILED,)
        ).fetchall()
        return {
            "baselines": {state.value: states.get(state.value, 0) for state in BaselineState},
            "baselines_failed": [{"account": account, "error": error} for account, error in failed],
        }

    def commit_page(
        self,
        account: str,
        reading: PageReading,
        *,
        entries: int,
        rules: BadgeRules,
        entries_left: int | None = None,
        read_from: Baseline | None = None,
    ) -> Baseline:
        """Add one page's reading to ``account``'s baseline, with the estimate of the entries it has left
        (:func:`bot.backlog.estimate_entries_left`; None: keep the last); with the oldest page in, finish
        it: add it to the counts and record the badges it reaches, silently. One transaction.

        ``read_from``: the baseline as it was when the page was asked for. A page read in a worker while the
        baseline moved (``bootstrap NAME`` requeued it) is not this baseline's next page: :class:`StalePage`,
        nothing written."""
        with self._transaction():
            current = self.load(account)
            if current is None or current.state is not BaselineState.WAITING:
                raise StalePage(f"@{account} has no baseline in progress")
            if read_from is not None and (current.pages, current.next_start) != (
                read_from.pages,
                read_from.next_start,
            ):
                raise StalePage(f"@{account}'s baseline moved since the page was asked for")
            live_start = load_live_start(self._db)
            seam_from = None if live_start is None else live_start[1] - PAYOUT_WINDOW
            finished = reading.oldest
            shown = current.effective_before_hf24 or reading.effective_before_hf24
            sightings = reading.sightings + self._settle_unconfirmed(account, reading, shown, finished)
            added = Counter[Metric]()
            for sighting in sightings:
                if isinstance(sighting, PayoutSighting):  # each payout operation is one payment: no dedup
                    added[Metric.PAYOUT] += sighting.worth
                elif (metric := self._apply(account, sighting, seam_from)) is not None:
                    added[metric] += 1
            counts = {metric: current.counts[metric] + added[metric] for metric in Metric}
            self._db.execute(
                f"UPDATE baselines SET next_start = ?, carry = ?, effective_before_hf24 = ?, pages = pages + 1, "
                "entries = entries + ?, entries_left = coalesce(?, entries_left), "
                f"{', '.join(f'{metric.value} = ?' for metric in Metric)} "
                "WHERE account = ?",
                (
                    None if reading.lowest is None else reading.lowest - 1,
                    json.dumps(sorted(reading.carry)),
                    shown,
                    entries,
                    entries_left,
                    *counts.values(),
                    account,
                ),
            )
            if finished:
                self._finish(account, counts, rules)
        found = self.load(account)
        assert found is not None
        return found

    def mark_failed(self, account: str, error: str) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE baselines SET state = ?, error = ? WHERE account = ? AND state = ?",
                (BaselineState.FAILED, error, account, BaselineState.WAITING),
            )

    def requeue(self, accounts: Iterable[str], block_num: int) -> None:
        """Compute the baselines of ``accounts`` again, from scratch: a finished one's counts are taken
        back out of the account's counts (its badges stay)."""
        with self._transaction():
            for account in accounts:
                current = self.load(account)
                if current is not None and current.state is BaselineState.DONE:
                    counts.add_counts(self._db, {(account, m): -current.counts[m] for m in Metric})
                self._forget(account)
                self._db.execute("DELETE FROM baselines WHERE account = ?", (account,))
                queue_baselines(self._db, [account], block_num)

    # -- helpers --------------------------------------------------------------------------------
    def _settle_unconfirmed(
        self, account: str, reading: PageReading, shown: bool, finished: bool
    ) -> tuple[PairSighting, ...]:
        """Keep the page's upvotes before HF24 that lack their effective operation until the history
        shows whether the node emits those before HF24 (:mod:`bot.history`); what counts of them now: all
        of them when the oldest page is in without one (an old node), none once one is seen."""
        if shown:
            self._db.execute("DELETE FROM baseline_unconfirmed WHERE account = ?", (account,))
            return ()
        self._db.executemany(
            "INSERT INTO baseline_unconfirmed (account, side, author, permlink, voter, time) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(account, s.side, s.author, s.permlink, s.voter, s.time) for s in reading.unconfirmed],
        )
        if not finished:
            return ()
        rows = self._db.execute(
            "SELECT side, author, permlink, voter, time FROM baseline_unconfirmed WHERE account = ? "
            "ORDER BY time DESC, side, author, permlink, voter",
            (account,),
        ).fetchall()
        return tuple(PairSighting(Side(side), a, p, v, int(t)) for side, a, p, v, t in rows)

    def _apply(self, account: str, sighting: object, seam_from: int | None) -> Metric | None:
        """Apply one sighting; the metric it adds one to, if any."""
        if isinstance(sighting, CommentDeleted):
            self._db.execute(
                "DELETE FROM baseline_seen WHERE account = ? AND kind = 'comment' AND k1 = ?",
                (account, sighting.permlink),
            )
            return None
        if isinstance(sighting, CommentSighting):
            if not self._first_sight(account, "comment", sighting.permlink, ""):
                return None
            return Metric.POSTS if sighting.is_root else Metric.COMMENTS
        if isinstance(sighting, ReplySighting):  # the newest operation on the reply counts, its edits not
            return (
                Metric.REPLIES
                if self._first_sight(account, "reply", sighting.author, sighting.permlink)
                else None
            )
        assert isinstance(sighting, PairSighting)
        other = sighting.voter if sighting.side is Side.AUTHOR else sighting.author
        if not self._first_sight(account, sighting.side, other, sighting.permlink):
            return None
        if seam_from is not None and sighting.time >= seam_from:
            key = (sighting.author, sighting.permlink, sighting.voter, sighting.side)
            if _seam_mark(self._db, *key) == "live":
                return None  # live counting has it
            self._db.execute(
                "INSERT INTO seam_votes (author, permlink, voter, side, origin) "
                "VALUES (?, ?, ?, ?, 'baseline') ON CONFLICT DO NOTHING",
                key,
            )
        return SIDE_METRICS[sighting.side]

    def _first_sight(self, account: str, kind: str, k1: str, k2: str) -> bool:
        return (
            self._db.execute(
                "INSERT INTO baseline_seen (account, kind, k1, k2) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (account, kind, k1, k2),
            ).rowcount
            == 1
        )

    def _finish(self, account: str, baseline: Mapping[Metric, int], rules: BadgeRules) -> None:
        live = counts.load_counts_of(self._db, [account]).get(account, {})
        counts.add_counts(self._db, {(account, metric): baseline[metric] for metric in Metric})
        checkpoint = self._db.execute("SELECT block_num, block_time FROM checkpoint").fetchone() or (0, 0)
        badges = plan_baseline(account, live, baseline, rules.ladders)
        record_badges(self._db, badges, {}, checkpoint[0], checkpoint[1])
        self._forget_seen(account)
        self._db.execute(
            "UPDATE baselines SET state = ?, error = NULL WHERE account = ?", (BaselineState.DONE, account)
        )

    def _forget_seen(self, account: str) -> None:
        self._db.execute("DELETE FROM baseline_seen WHERE account = ?", (account,))
        self._db.execute("DELETE FROM baseline_unconfirmed WHERE account = ?", (account,))

    def _forget(self, account: str) -> None:
        self._forget_seen(account)
        self._db.execute(
            "DELETE FROM seam_votes WHERE origin = 'baseline' AND "
            "((side = 'author' AND author = ?) OR (side = 'voter' AND voter = ?))",
            (account, account),
        )


_COLUMNS = "account, state, next_start, carry, effective_before_hf24, pages, entries, error, " + ", ".join(
    metric.value for metric in Metric
)


def _baseline(row: tuple[Any, ...]) -> Baseline:
    account, state, next_start, carry, effective_before_hf24, pages, entries, error, *counts = row
    return Baseline(
        account=str(account),
        state=BaselineState(state),
        next_start=None if next_start is None else int(next_start),
        carry=frozenset(tuple(key) for key in json.loads(carry or "[]")),
        effective_before_hf24=bool(effective_before_hf24),
        counts=dict(zip(Metric, (int(c) for c in counts), strict=True)),
        pages=int(pages),
        entries=int(entries),
        error=None if error is None else str(error),
    )
