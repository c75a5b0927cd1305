"""The store's read side for the web pages: opened read-only, the ranking with shared ranks, pages, positions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import counts
from bot.db import SqliteDatabase
from bot.errors import StoreError, StoreVersionError
from bot.metrics import Metric
from bot.schema import SCHEMA_VERSION
from bot.store import Store

POSTS = {"alice": 5, "bob": 3, "carol": 5, "dave": 1, "erin": 3, "frank": 3, "zed": 0}
"""Ties at 5 and 3; zed has a row but no post."""


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite"
    Store.open(path).close()
    with sqlite3.connect(path) as db:
        counts.add_counts(
            SqliteDatabase(db, path), {(account, Metric.POSTS): n for account, n in POSTS.items()}
        )
        counts.add_counts(SqliteDatabase(db, path), {("zed", Metric.COMMENTS): 2})
    db.close()
    return path


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    with Store.open_read_only(store_path) as opened:
        yield opened


def test_equal_counts_share_a_rank_one_above_the_accounts_counting_more(store: Store) -> None:
    rows = [(r.rank, r.account, r.count) for r in store.load_ranking_page(Metric.POSTS, 10, 0)]
    assert rows == [
        (1, "alice", 5),
        (1, "carol", 5),
        (3, "bob", 3),
        (3, "erin", 3),
        (3, "frank", 3),
        (6, "dave", 1),
    ]


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (2, 2, [(3, "bob"), (3, "erin")]),
        (2, 3, [(3, "erin"), (3, "frank")]),  # a page starting inside a tie keeps the tie's rank
        (3, 5, [(6, "dave")]),
        (3, 6, []),
    ],
)
def test_a_page_of_the_ranking_has_the_ranks_of_the_whole_ranking(
    store: Store, limit: int, offset: int, expected: list[tuple[int, str]]
) -> None:
    assert [(r.rank, r.account) for r in store.load_ranking_page(Metric.POSTS, limit, offset)] == expected


def test_the_ranking_holds_only_accounts_with_a_count(store: Store) -> None:
    assert store.load_ranked_total(Metric.POSTS) == 6
    assert store.load_ranked_total(Metric.COMMENTS) == 1
    assert store.load_position(Metric.POSTS, "zed") is None
    assert store.load_position(Metric.POSTS, "nobody") is None


@pytest.mark.parametrize(("account", "position"), [("alice", 0), ("carol", 1), ("frank", 4), ("dave", 5)])
def test_an_accounts_position_is_its_place_in_the_ranking_order(
    store: Store, account: str, position: int
) -> None:
    assert store.load_position(Metric.POSTS, account) == position
    assert store.load_ranking_page(Metric.POSTS, 1, position)[0].account == account


def test_the_ranking_walks_the_metrics_index_and_never_sorts(store_path: Path) -> None:
    with sqlite3.connect(store_path) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT account, posts FROM counts WHERE posts > 0 "
            "ORDER BY posts DESC, account LIMIT 10 OFFSET 10"
        ).fetchall()
    db.close()
    details = " ".join(row[-1] for row in plan)
    assert "counts_by_posts" in details
    assert "TEMP B-TREE" not in details


def test_a_read_only_store_refuses_writes(store: Store) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.outbox.add_optout("alice")


def test_a_missing_store_is_a_clear_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store there yet"):
        Store.open_read_only(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize(
    ("version", "advice"), [(SCHEMA_VERSION - 1, "run this version"), (SCHEMA_VERSION + 1, "upgrade the bot")]
)
def test_a_store_of_another_schema_is_refused_not_upgraded(
    store_path: Path, version: int, advice: str
) -> None:
    with sqlite3.connect(store_path) as db:
        db.execute(f"PRAGMA user_version = {version}")
    db.close()
    with pytest.raises(StoreVersionError, match=advice):
        Store.open_read_only(store_path)
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == version
    db.close()


def test_the_rankings_length_follows_what_the_bot_commits_meanwhile(store: Store, store_path: Path) -> None:
    assert store.load_ranked_total(Metric.POSTS) == 6
    with sqlite3.connect(store_path) as db:
        counts.add_counts(
            SqliteDatabase(db, store_path), {("zed", Metric.POSTS): 1, ("newcomer", Metric.POSTS): 2}
        )
    db.close()
    assert store.load_ranked_total(Metric.POSTS) == 8
