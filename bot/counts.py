"""The ``counts`` table: each account's count per metric. Live counting (:mod:`bot.store`) and the
baselines (:mod:`bot.baselines`) both add to it, through :func:`add_counts` only. (Column names come
from :class:`~bot.metrics.Metric`, never from data.)"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec

from bot.db import Database
from bot.metrics import Metric

_METRICS = tuple(Metric)  # iterating the enum itself makes a generator each time: ~240,000 a day's catch-up
_COLUMNS = ", ".join(metric.value for metric in _METRICS)
_ROWS = msgspec.json.Decoder(
    list[tuple[str, int, int, int, int, int, int]]
)  # an account and its counts, by Metric
_POSITION = {metric: position for position, metric in enumerate(_METRICS)}
_ADD = (
    f"INSERT INTO counts (account, {_COLUMNS}) SELECT value ->> 0, "
    + ", ".join(f"CAST(value ->> {position + 1} AS BIGINT)" for position in range(len(_METRICS)))
    + " FROM json_each(?) WHERE true ON CONFLICT (account) DO UPDATE SET "
    + ", ".join(f"{m.value} = counts.{m.value} + excluded.{m.value}" for m in _METRICS)
)


def load_counts_of(db: Database, accounts: Iterable[str]) -> dict[str, dict[Metric, int]]:
    """The counts of those of ``accounts`` the store has, read back as one JSON text (a row at a time
    handed Python's GIL over at each, and the follower's read-ahead made each hand-over wait)."""
    (text,) = db.execute(
        f"SELECT coalesce(json_group_array(json_array(account, {_COLUMNS})), '[]') FROM counts "
        "WHERE account IN (SELECT value FROM json_each(?))",
        (msgspec.json.encode(sorted(set(accounts))).decode(),),
    ).fetchone()
    return {account: dict(zip(_METRICS, values, strict=True)) for account, *values in _ROWS.decode(text)}


def add_counts(db: Database, increments: Mapping[tuple[str, Metric], int]) -> None:
    """Add ``increments`` (negative ones take a count back); an account gets its row at its first.
    One statement, each account's row of increments in one JSON parameter (see
    :meth:`bot.store.Store._remember_votes` for why not one per row): each account's row is written once
    whatever the metrics it moved, where a statement per metric wrote it (and its indexes) once per metric."""
    rows: dict[str, list[int]] = {}
    for (account, metric), n in increments.items():
        rows.setdefault(account, [0] * len(_METRICS))[_POSITION[metric]] += n
    if rows:
        db.execute(_ADD, (msgspec.json.encode([[account, *ns] for account, ns in rows.items()]).decode(),))


def load_ranking(db: Database, metric: Metric, limit: int | None) -> list[tuple[str, int]]:
    """Accounts by ``metric``, highest first (ties by name); ``limit=None`` for all."""
    column = metric.value
    query = f"SELECT account, {column} FROM counts WHERE {column} > 0 ORDER BY {column} DESC, account"
    rows = db.execute(query) if limit is None else db.execute(f"{query} LIMIT ?", (limit,))
    return [(account, value) for account, value in rows]


@dataclass(frozen=True, slots=True)
class RankedRow:
    """One place in a ranking: equal counts share a rank, 1 + the number of accounts counting more."""

    rank: int
    account: str
    count: int


def load_ranking_page(
    db: Database, ladders: Ladders, metric: Metric, limit: int, offset: int
) -> list[RankedRow]:
    """``limit`` places of the ranking by ``metric`` from position ``offset`` (0: the top), accounts with a
    count only, highest first, ties by name.

    The page never walks the places above it (``OFFSET`` did: ~30 ms at place 900,000): the tables of
    schema 8 map ``offset`` to the count it falls in, the two first characters of the account there, and
    how many accounts of that count and prefix come before it (a few thousand at most at a million
    accounts); the metric's index (schema 7) is walked from there. Ranks come from the rows themselves: a
    row whose count differs from the row above is preceded only by higher counts, so its rank is its
    position; the page's first row is preceded by the accounts counting more, which the seek counted."""
    start = _seek(db, ladders, metric, offset)
    if start is None:
        return []
    column = metric.value
    rows = db.execute(
        f"SELECT account, {column} FROM counts WHERE {column} = ? AND account >= ? ORDER BY account "
        "LIMIT ? OFFSET ?",
        (start.count, start.prefix, limit, start.skip),
    ).fetchall()
    if len(rows) < limit:
        rows += db.execute(
            f"SELECT account, {column} FROM counts WHERE {column} < ? AND {column} > 0 "
            f"ORDER BY {column} DESC, account LIMIT ?",
            (start.count, limit - len(rows)),
        ).fetchall()
    page: list[RankedRow] = []
    for position, (account, count) in enumerate(rows, offset + 1):
        if page and page[-1].count == count:
            rank = page[-1].rank
        elif page:
            rank = position
        else:
            rank = 1 + start.above
        page.append(RankedRow(rank, account, count))
    return page


@dataclass(frozen=True, slots=True)
class _Ladder:
    """One metric's distinct counts, highest first, and how many accounts count at least each: a seek is a
    binary search here, not a sum over every distinct count (~16,000 of them at a million accounts: ~10 ms
    a page)."""

    counts: list[int]  # descending
    through: list[int]  # accounts counting at least counts[i]; increasing

    def above(self, index: int) -> int:
        return self.through[index - 1] if index else 0


class Ladders:
    """Each metric's :class:`_Ladder`, read again only when the store changed since (another connection's
    commit or this connection's own writes: :meth:`bot.db.Database.data_version`). One per connection: a
    store holds one."""

    def __init__(self) -> None:
        self._version: object = None
        self._ladders: dict[Metric, _Ladder] = {}
        self._prefixes: dict[tuple[Metric, int], tuple[list[str], list[int]]] = {}

    def _check(self, db: Database) -> None:
        version = db.data_version()
        if version != self._version:
            self._version, self._ladders, self._prefixes = version, {}, {}

    def prefixes(self, db: Database, metric: Metric, count: int) -> tuple[list[str], list[int]]:
        """The name prefixes of the accounts counting ``count``, in order, and how many accounts are in
        those prefixes up to each (at most ~1,400 rows: a deep page's count has them all)."""
        self._check(db)
        key = (metric, count)
        if key not in self._prefixes:
            rows = db.execute(
                "SELECT prefix, accounts FROM ranking_prefixes WHERE metric = ? AND n = ? AND accounts > 0 "
                "ORDER BY prefix",
                (metric.value, count),
            ).fetchall()
            self._prefixes[key] = (
                [str(p) for p, _ in rows],
                list(itertools.accumulate(int(a) for _, a in rows)),
            )
        return self._prefixes[key]

    def get(self, db: Database, metric: Metric) -> _Ladder:
        self._check(db)
        if metric not in self._ladders:
            rows = db.execute(
                "SELECT n, accounts FROM ranking_counts WHERE metric = ? AND accounts > 0 ORDER BY n DESC",
                (metric.value,),
            ).fetchall()
            through = list(itertools.accumulate(int(accounts) for _, accounts in rows))
            self._ladders[metric] = _Ladder([int(n) for n, _ in rows], through)
        return self._ladders[metric]


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a ranking page starts: the ``skip``-th account (0: the first) with ``count`` and a name from
    ``prefix`` on; ``above`` accounts count more."""

    count: int
    prefix: str
    skip: int
    above: int


def _seek(db: Database, ladders: Ladders, metric: Metric, offset: int) -> _Start | None:
    """The start of the page at ``offset``; ``None`` past the end: binary searches over the metric's
    distinct counts, then over the prefixes of the count it falls in (both cached by :class:`Ladders`)."""
    ladder = ladders.get(db, metric)
    index = bisect.bisect_right(ladder.through, offset)
    if index == len(ladder.counts):
        return None
    count, above = ladder.counts[index], ladder.above(index)
    prefixes, through = ladders.prefixes(db, metric, count)
    at = bisect.bisect_right(through, offset - above)
    before = through[at - 1] if at else 0
    return _Start(count, prefixes[at], offset - above - before, above)


def load_position(db: Database, ladders: Ladders, metric: Metric, account: str) -> int | None:
    """Where ``account`` stands in the ranking by ``metric`` (0: the top), ``None`` if it has no count:
    the accounts counting more, those of its count in earlier prefixes, then the few in its own before it."""
    column = metric.value
    row = db.execute(f"SELECT {column} FROM counts WHERE account = ? AND {column} > 0", (account,)).fetchone()
    if row is None:
        return None
    (count,) = row
    (earlier_prefixes,) = db.execute(
        "SELECT coalesce(sum(accounts), 0) FROM ranking_prefixes WHERE metric = ? AND n = ? "
        "AND prefix < substr(?, 1, 2)",
        (metric.value, count, account),
    ).fetchone()
    (same_prefix,) = db.execute(
        f"SELECT count(*) FROM counts WHERE {column} = ? AND account >= substr(?, 1, 2) AND account < ?",
        (count, account, account),
    ).fetchone()
    return _count_above(db, ladders, metric, count) + int(earlier_prefixes) + int(same_prefix)


def load_ranked_total(db: Database, ladders: Ladders, metric: Metric) -> int:
    """How many accounts have a count for ``metric`` (> 0): the ranking's length."""
    through = ladders.get(db, metric).through
    return through[-1] if through else 0


def _count_above(db: Database, ladders: Ladders, metric: Metric, count: int) -> int:
    ladder = ladders.get(db, metric)
    higher = bisect.bisect_left(ladder.counts, -count, key=lambda n: -n)  # how many distinct counts are above
    return ladder.above(higher)
