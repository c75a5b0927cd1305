"""The ``counts`` table: each account's count per metric. Live counting (:mod:`bot.store`) and the
baselines (:mod:`bot.baselines`) both add to it, through :func:`add_counts` only. (Column names come
from :class:`~bot.metrics.Metric`, never from data.)"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping

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
