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
    count only, highest first, ties by name. Walks the metric's index (schema 7) from ``offset``.

    Ranks come from the rows themselves: a row whose count differs from the row above is preceded only by
    higher counts, so its rank is its position; only the page's first row needs counting those above it."""
    column = metric.value
    rows = db.execute(
        f"SELECT account, {column} FROM counts WHERE {column} > 0 ORDER BY {column} DESC, account "
        "LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    page: list[RankedRow] = []
    for position, (account, count) in enumerate(rows, offset + 1):
        if page and page[-1].count == count:
            rank = page[-1].rank
        elif page:
            rank = position
        else:
            rank = 1 + _count_above(db, metric, count)
        page.append(RankedRow(rank, account, count))
    return page


def load_position(db: sqlite3.Connection, metric: Metric, account: str) -> int | None:
    """Where ``account`` stands in the ranking by ``metric`` (0: the top), ``None`` if it has no count."""
    column = metric.value
    row = db.execute(f"SELECT {column} FROM counts WHERE account = ? AND {column} > 0", (account,)).fetchone()
    if row is None:
        return None
    (count,) = row
    (tied_before,) = db.execute(
        f"SELECT count(*) FROM counts WHERE {column} = ? AND account < ?", (count, account)
    ).fetchone()
    return _count_above(db, metric, count) + int(tied_before)


def load_ranked_total(db: sqlite3.Connection, metric: Metric) -> int:
    """How many accounts have a count for ``metric`` (> 0): the ranking's length."""
    column = metric.value
    (total,) = db.execute(f"SELECT count(*) FROM counts WHERE {column} > 0").fetchone()
    return int(total)


def _count_above(db: sqlite3.Connection, metric: Metric, count: int) -> int:
    column = metric.value
    (above,) = db.execute(f"SELECT count(*) FROM counts WHERE {column} > ?", (count,)).fetchone()
    return int(above)
