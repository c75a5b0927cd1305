"""The ranking's pages at any offset, kept exact by the tables of schema 8 while counts change, and fast
at depth: a page deep in the ranking does about the work of the first."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import counts
from bot.db import SqliteDatabase
from bot.location import Location
from bot.metrics import Metric
from bot.schema import MIGRATIONS
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from tests.support.ranking import load_ranking_tables, recount_ranking_tables

NAMES = ["aa", "aab", "ab", "abc", "b", "ba", "bab", "c.d", "c-d", "cd", "zz", "zza"]
"""Names sharing their two first characters, and shorter ones, so pages start inside a prefix."""
T0 = 1_750_000_000


@pytest.fixture(scope="module")
def writer(module_store_location: Location) -> Iterator[Store]:
    """The bot's side of the store (on each backend): the reader's pages must follow what it commits."""
    with Store.open(module_store_location) as store:
        yield store


@pytest.fixture(scope="module")
def reader(writer: Store) -> Iterator[Store]:
    with Store.open_read_only(writer.location) as store:
        yield store


def full_sort(table: dict[str, int]) -> list[tuple[int, str, int]]:
    """The ranking by a plain sort, ranks by counting: what every page must equal."""
    ranked = sorted(((-n, a) for a, n in table.items() if n > 0))
    return [(1 + sum(1 for m in table.values() if m > -n), a, -n) for n, a in ranked]


def page(store: Store, limit: int, offset: int) -> list[tuple[int, str, int]]:
    return [(r.rank, r.account, r.count) for r in store.load_ranking_page(Metric.POSTS, limit, offset)]


changes = st.lists(st.tuples(st.sampled_from(NAMES), st.integers(-3, 3)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(changes, min_size=1, max_size=4), st.integers(1, 5))
def test_every_page_equals_a_full_sort_while_counts_change_between_reads(
    writer: Store, reader: Store, batches: list[list[tuple[str, int]]], limit: int
) -> None:
    writer._db.execute("DELETE FROM counts")
    table: dict[str, int] = {}
    for batch in batches:
        with writer._db.transaction():
            for account, n in batch:  # one statement each: the same account may change twice
                counts.add_counts(writer._db, {(account, Metric.POSTS): n})
                table[account] = table.get(account, 0) + n
        expected = full_sort(table)
        assert reader.load_ranked_total(Metric.POSTS) == len(expected)
        for offset in range(len(expected) + 2):
            assert page(reader, limit, offset) == expected[offset : offset + limit]
        for position, (_, account, _) in enumerate(expected):
            assert reader.load_position(Metric.POSTS, account) == position


def test_a_store_of_schema_7_is_upgraded_with_its_ranking(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    table = {"alice": 5, "alex": 5, "bob": 3, "zed": 0}
    with sqlite3.connect(path) as db:
        for version in range(1, 8):
            db.executescript(MIGRATIONS[version])
        db.executemany(
            "INSERT INTO counts (account, posts) VALUES (?, ?)", table.items()
        )  # schema 7's columns
        db.execute("PRAGMA user_version = 7")
    db.close()
    Store.open(path).close()
    with Store.open_read_only(path) as store:
        assert page(store, 10, 0) == full_sort(table) == [(1, "alex", 5), (1, "alice", 5), (3, "bob", 3)]
        assert page(store, 10, 2) == [(3, "bob", 3)]
        assert store.load_ranked_total(Metric.POSTS) == 3


def vm_steps(store: Store, offset: int) -> int:
    """SQLite virtual machine instructions (in thousands) the page at ``offset`` takes: its work."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    assert isinstance(store._db, SqliteDatabase)
    connection = store._db.connection
    connection.set_progress_handler(count, 1000)
    try:
        store.load_ranking_page(Metric.POSTS, 50, offset)
    finally:
        connection.set_progress_handler(None, 0)
    return steps


def test_a_deep_page_does_about_the_work_of_the_first(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    Store.open(path).close()
    with sqlite3.connect(path) as db:  # 30,000 accounts, counts 1 … 100 (most low), under 26 prefixes
        increments = {
            (f"{chr(97 + i % 26)}user{i}", Metric.POSTS): 1 + (i * i) % 100 // (1 + i % 7)
            for i in range(30_000)
        }
        counts.add_counts(SqliteDatabase(db, path), increments)
    db.close()
    with Store.open_read_only(path) as store:
        first, deep = vm_steps(store, 0), vm_steps(store, 29_000)
    assert deep <= 2 * first + 10, (first, deep)


batches = st.lists(
    st.dictionaries(st.tuples(st.sampled_from(NAMES), st.sampled_from(list(Metric))), st.integers(1, 3)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=40, deadline=None)
@given(batches, st.lists(st.sampled_from(NAMES), max_size=3))
def test_the_ranking_tables_equal_a_recount_of_the_counts_after_batches_and_take_backs(
    batches: list[dict[tuple[str, Metric], int]], taken_back: list[str]
) -> None:
    """Batches committed and counts taken back (as a requeued baseline's are) leave every per-count sum
    of the ranking's tables exact."""
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "bot.sqlite") as store:
        for block, increments in enumerate(batches, 1):
            batch = Tally()
            batch.increments.update(increments)
            store.commit_batch(batch, {}, Checkpoint(block, f"{block:02x}", T0 + 3 * block))
            assert load_ranking_tables(store._db) == recount_ranking_tables(store._db)
        for account in taken_back:
            counts.add_counts(
                store._db, {(account, m): -n for m, n in (store.load_counts(account) or {}).items()}
            )
        assert load_ranking_tables(store._db) == recount_ranking_tables(store._db)
