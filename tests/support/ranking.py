"""The ranking's tables (schema 8) as they are, and as a recount from ``counts`` says they must be: the
tables are kept by the writer of the counts (:func:`bot.counts.add_counts`), and must stay exact. The
queries read the same on SQLite and PostgreSQL (``tests/store/test_schema_pg.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bot.metrics import Metric

RankingRows = tuple[set[tuple[str, int, int]], set[tuple[str, int, str, int]]]


class Database(Protocol):
    """An ``sqlite3`` or a ``psycopg`` connection: what the queries here need of either."""

    def execute(self, query: str, /) -> Iterable[Any]: ...


def load_ranking_tables(db: Database) -> RankingRows:
    return (
        set(db.execute("SELECT metric, n, accounts FROM ranking_counts")),
        set(db.execute("SELECT metric, n, prefix, accounts FROM ranking_prefixes")),
    )


def recount_ranking_tables(db: Database) -> RankingRows:
    """Per metric, how many accounts have each count > 0, and by the two first characters of their names."""
    by_count: set[tuple[str, int, int]] = set()
    by_prefix: set[tuple[str, int, str, int]] = set()
    for metric in Metric:
        column = metric.value  # a column name from the enum, never data
        by_count |= {
            (metric.value, n, accounts)
            for n, accounts in db.execute(
                f"SELECT {column}, count(*) FROM counts WHERE {column} > 0 GROUP BY {column}"
            )
        }
        by_prefix |= {
            (metric.value, n, prefix, accounts)
            for n, prefix, accounts in db.execute(
                f"SELECT {column}, substr(account, 1, 2), count(*) FROM counts WHERE {column} > 0 "
                f"GROUP BY {column}, substr(account, 1, 2)"
            )
        }
    return by_count, by_prefix
