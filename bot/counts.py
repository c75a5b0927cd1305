"""The ``counts`` table: each account's count per metric. Live counting (:mod:`bot.store`) and the
baselines (:mod:`bot.baselines`) both add to it, through :func:`add_counts` only. (Column names come
from :class:`~bot.metrics.Metric`, never from data.)"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.metrics import Metric

_COLUMNS = ", ".join(metric.value for metric in Metric)


def load_counts_of(db: sqlite3.Connection, accounts: Iterable[str]) -> dict[str, dict[Metric, int]]:
    """The counts of those of ``accounts`` the store has."""
    rows = db.execute(
        f"SELECT account, {_COLUMNS} FROM counts WHERE account IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(set(accounts)), ensure_ascii=False),),
    )
    return {account: dict(zip(Metric, values, strict=True)) for account, *values in rows}


def add_counts(db: sqlite3.Connection, increments: Mapping[tuple[str, Metric], int]) -> None:
    """Add ``increments`` (negative ones take a count back); an account gets its row at its first."""
    for metric in Metric:
        column = metric.value
        db.executemany(
            f"INSERT INTO counts (account, {column}) VALUES (?, ?) "
            f"ON CONFLICT (account) DO UPDATE SET {column} = {column} + excluded.{column}",
            [(account, n) for (account, m), n in increments.items() if m == metric],
        )


def load_ranking(db: sqlite3.Connection, metric: Metric, limit: int | None) -> list[tuple[str, int]]:
    """Accounts by ``metric``, highest first (ties by name); ``limit=None`` for all."""
    column = metric.value
    rows = db.execute(
        f"SELECT account, {column} FROM counts WHERE {column} > 0 ORDER BY {column} DESC, account LIMIT ?",
        (-1 if limit is None else limit,),
    )
    return [(account, value) for account, value in rows]


@dataclass(frozen=True, slots=True)
class RankedRow:
    """One place in a ranking: equal counts share a rank, 1 + the number of accounts counting more."""

    rank: int
    account: str
    count: int


def load_ranking_page(db: sqlite3.Connection, metric: Metric, limit: int, offset: int) -> list[RankedRow]:
    """``limit`` places of the ranking by ``metric`` from position ``offset`` (0: the top), accounts with a
    count only, highest first, ties by name.

    The page never walks the places above it (``OFFSET`` did: ~30 ms at place 900,000): the tables of
    schema 8 map ``offset`` to the count it falls in, the two first characters of the account there, and
    how many accounts of that count and prefix come before it (a few thousand at most at a million
    accounts); the metric's index (schema 7) is walked from there. Ranks come from the rows themselves: a
    row whose count differs from the row above is preceded only by higher counts, so its rank is its
    position; the page's first row is preceded by the accounts counting more, which the seek counted."""
    start = _seek(db, metric, offset)
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
class _Start:
    """Where a ranking page starts: the ``skip``-th account (0: the first) with ``count`` and a name from
    ``prefix`` on; ``above`` accounts count more."""

    count: int
    prefix: str
    skip: int
    above: int


def _seek(db: sqlite3.Connection, metric: Metric, offset: int) -> _Start | None:
    """The start of the page at ``offset``; ``None`` past the end. Sums over the metric's distinct counts
    (a few thousand rows), then over one count's prefixes (at most ~1,400: letters, digits, '.' and '-')."""
    found = db.execute(
        "SELECT n, above FROM (SELECT n, accounts, sum(accounts) OVER (ORDER BY n DESC) - accounts AS above "
        "FROM ranking_counts WHERE metric = ?) WHERE above + accounts > ? ORDER BY n DESC LIMIT 1",
        (metric.value, offset),
    ).fetchone()
    if found is None:
        return None
    count, above = found
    prefix, before = db.execute(
        "SELECT prefix, before FROM (SELECT prefix, accounts, sum(accounts) OVER (ORDER BY prefix) - accounts "
        "AS before FROM ranking_prefixes WHERE metric = ? AND n = ?) WHERE before + accounts > ? "
        "ORDER BY prefix LIMIT 1",
        (metric.value, count, offset - above),
    ).fetchone()
    return _Start(count, prefix, offset - above - before, above)


def load_position(db: sqlite3.Connection, metric: Metric, account: str) -> int | None:
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
    return _count_above(db, metric, count) + int(earlier_prefixes) + int(same_prefix)


def load_ranked_total(db: sqlite3.Connection, metric: Metric) -> int:
    """How many accounts have a count for ``metric`` (> 0): the ranking's length."""
    (total,) = db.execute(
        "SELECT coalesce(sum(accounts), 0) FROM ranking_counts WHERE metric = ?", (metric.value,)
    ).fetchone()
    return int(total)


def _count_above(db: sqlite3.Connection, metric: Metric, count: int) -> int:
    (above,) = db.execute(
        "SELECT coalesce(sum(accounts), 0) FROM ranking_counts WHERE metric = ? AND n > ?",
        (metric.value, count),
    ).fetchone()
    return int(above)
