import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from bot.db import Location, PostgresUrl, SqliteDatabase
from bot.errors import StoreError, StoreUnreachableError, StoreVersionError
from bot.metrics import Metric
from bot.plan import OutboxChanges
from bot.schema import MIGRATIONS, SCHEMA_VERSION
from bot.schema_pg import BASELINE_SCHEMA
from bot.store import CACHE_SIZE, PAID_OUT_MEMORY, REPLY_TEXT_MEMORY, Checkpoint, Store
from bot.tallies import PAYOUT_WINDOW, Tally
from tests.support.tcp_proxy import CutProxy

T0 = 1_750_000_000


def tally(**kwargs: object) -> Tally:
    result = Tally()
    for name, value in kwargs.items():
        setattr(result, name, value)
    return result


@pytest.fixture
def store(store_location: Location) -> Iterator[Store]:
    with Store.open(store_location) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state" / "bot.sqlite") as opened:
        yield opened


def sqlite_of(store: Store) -> sqlite3.Connection:
    assert isinstance(store._db, SqliteDatabase)
    return store._db.connection


def test_new_store_has_no_checkpoint(store: Store) -> None:
    assert store.load_checkpoint() is None


def test_a_new_sqlite_store_runs_in_wal_mode(sqlite_store: Store) -> None:
    assert sqlite_of(sqlite_store).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_store_keeps_a_page_cache_of_its_size_not_sqlites_default(sqlite_store: Store) -> None:
    assert sqlite_of(sqlite_store).execute("PRAGMA cache_size").fetchone()[0] == CACHE_SIZE == -32 * 1024


def test_commit_adds_counts_and_moves_the_checkpoint(store: Store) -> None:
    first = tally(increments=Counter({("alice", Metric.POSTS): 1, ("alice", Metric.UPVOTES_RECEIVED): 2}))
    store.commit_batch(first, {}, Checkpoint(10, "0a", T0))
    store.commit_batch(
        tally(increments=Counter({("alice", Metric.POSTS): 3})), {}, Checkpoint(20, "14", T0 + 30)
    )
    assert store.load_counts("alice") == {
        Metric.UPVOTES_RECEIVED: 2,
        Metric.UPVOTES_GIVEN: 0,
        Metric.POSTS: 4,
        Metric.COMMENTS: 0,
        Metric.REPLIES: 0,
        Metric.PAYOUT: 0,
    }
    assert store.load_counts("nobody") is None
    assert store.load_checkpoint() == Checkpoint(20, "14", T0 + 30)


def test_a_batch_cannot_be_committed_twice(store: Store) -> None:
    batch = tally(increments=Counter({("alice", Metric.POSTS): 1}))
    store.commit_batch(batch, {}, Checkpoint(10, "0a", T0))
    with pytest.raises(StoreError, match="already at block 10"):
        store.commit_batch(batch, {}, Checkpoint(10, "0a", T0))
    assert store.load_counts("alice") == {m: (1 if m is Metric.POSTS else 0) for m in Metric}


def test_remembered_comments_and_votes_are_found_again(store: Store) -> None:
    batch = tally(created={("alice", "p"): T0}, counted_votes={(("alice", "p"), "bob")})
    store.commit_batch(batch, {("carol", "q"): T0 - 100}, Checkpoint(1, "01", T0))
    keys = {("alice", "p"), ("carol", "q"), ("dan", "r")}
    assert store.load_comment_times(keys) == {("alice", "p"): T0, ("carol", "q"): T0 - 100}
    pairs = {(("alice", "p"), "bob"), (("alice", "p"), "eve"), (("carol", "q"), "bob")}
    assert store.load_counted_votes(pairs) == {(("alice", "p"), "bob")}


def test_comments_and_votes_are_forgotten_once_paid_out(store: Store) -> None:
    batch = tally(
        created={("alice", "old"): T0, ("alice", "new"): T0 + 10}, counted_votes={(("alice", "old"), "bob")}
    )
    store.commit_batch(batch, {}, Checkpoint(1, "01", T0 + 10))
    store.commit_batch(tally(), {}, Checkpoint(2, "02", T0 + PAYOUT_WINDOW))
    assert store.load_comment_times({("alice", "old"), ("alice", "new")}) == {("alice", "new"): T0 + 10}
    assert store.load_summary()["votes_remembered"] == 0


def test_learned_times_of_paid_out_comments_are_kept_a_month_after_their_creation(store: Store) -> None:
    """Votes keep coming on the most voted old posts: one lookup each, not one per vote (nothing in memory)."""
    created = T0 - PAYOUT_WINDOW
    store.commit_batch(tally(), {("alice", "ancient"): created}, Checkpoint(1, "01", T0))
    assert store.load_comment_times({("alice", "ancient")}) == {("alice", "ancient"): created}
    store.commit_batch(tally(), {}, Checkpoint(2, "02", created + PAID_OUT_MEMORY - 1))
    assert store.load_comment_times({("alice", "ancient")}) == {("alice", "ancient"): created}
    store.commit_batch(tally(), {}, Checkpoint(3, "03", created + PAID_OUT_MEMORY))
    assert store.load_comment_times({("alice", "ancient")}) == {}


def test_deleted_comment_loses_its_counted_votes(store: Store) -> None:
    store.commit_batch(
        tally(created={("alice", "p"): T0}, counted_votes={(("alice", "p"), "bob")}),
        {},
        Checkpoint(1, "01", T0),
    )
    store.commit_batch(tally(deleted={("alice", "p")}), {}, Checkpoint(2, "02", T0 + 3))
    assert store.load_counted_votes({(("alice", "p"), "bob")}) == set()
    assert store.load_comment_times({("alice", "p")}) == {}


def test_lookups_of_many_keys_are_chunked(store: Store) -> None:
    created = {(f"user{i}", f"p{i}"): T0 for i in range(1234)}
    store.commit_batch(tally(created=created), {}, Checkpoint(1, "01", T0))
    assert store.load_comment_times(created) == created


def test_ranking_orders_by_count_then_name(store: Store) -> None:
    counts = Counter({("bob", Metric.POSTS): 2, ("alice", Metric.POSTS): 2, ("carol", Metric.POSTS): 5})
    counts[("dan", Metric.COMMENTS)] = 1
    store.commit_batch(tally(increments=counts), {}, Checkpoint(1, "01", T0))
    assert store.load_ranking(Metric.POSTS, None) == [("carol", 5), ("alice", 2), ("bob", 2)]
    assert store.load_ranking(Metric.POSTS, 1) == [("carol", 5)]


def test_reopened_store_keeps_everything(store_location: Location) -> None:
    path = store_location
    with Store.open(path) as store:
        store.commit_batch(
            tally(increments=Counter({("alice", Metric.POSTS): 1})), {}, Checkpoint(5, "05", T0)
        )
    with Store.open(path) as store:
        assert store.load_checkpoint() == Checkpoint(5, "05", T0)
        assert store.load_summary()["accounts"] == 1


def test_store_from_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreVersionError, match="newer bot"):
        Store.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_corrupt_store_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot be used as the bot's store"):
        Store.open(path)


def test_reply_texts_are_kept_with_the_batch_and_forgotten_when_unknown_or_deleted(store: Store) -> None:
    texts: dict[tuple[str, str], str | None] = {("alice", "r1"): "Thanks!", ("bob", "r2"): "Nice"}
    store.commit_batch(tally(), {}, Checkpoint(1, "01", T0), OutboxChanges(reply_texts=texts))
    keys = {("alice", "r1"), ("bob", "r2"), ("carol", "r3")}
    assert store.load_reply_texts(keys) == {("alice", "r1"): "Thanks!", ("bob", "r2"): "Nice"}

    changes = OutboxChanges(reply_texts={("alice", "r1"): "Thanks! STOP", ("bob", "r2"): None})
    store.commit_batch(tally(), {}, Checkpoint(2, "02", T0 + 3), changes)
    assert store.load_reply_texts(keys) == {("alice", "r1"): "Thanks! STOP"}

    store.commit_batch(tally(deleted={("alice", "r1")}), {}, Checkpoint(3, "03", T0 + 6))
    assert store.load_reply_texts(keys) == {}


def test_a_reply_text_is_kept_for_a_while_after_its_last_change(store: Store) -> None:
    store.commit_batch(
        tally(), {}, Checkpoint(1, "01", T0), OutboxChanges(reply_texts={("alice", "old"): "Thanks!"})
    )
    changes = OutboxChanges(reply_texts={("alice", "edited"): "Thanks!"})
    store.commit_batch(tally(), {}, Checkpoint(2, "02", T0 + 100), changes)
    keys = {("alice", "old"), ("alice", "edited")}
    store.commit_batch(tally(), {}, Checkpoint(3, "03", T0 + REPLY_TEXT_MEMORY - 1))
    assert store.load_reply_texts(keys).keys() == keys
    store.commit_batch(tally(), {}, Checkpoint(4, "04", T0 + REPLY_TEXT_MEMORY))
    assert store.load_reply_texts(keys).keys() == {("alice", "edited")}


def test_a_store_of_the_previous_schema_is_upgraded_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    with sqlite3.connect(path) as db:
        for version in range(1, 5):
            db.executescript(MIGRATIONS[version])
        db.execute("INSERT INTO checkpoint VALUES (1, 7, '07', ?)", (T0,))
        db.execute("PRAGMA user_version = 4")
    db.close()
    with Store.open(path) as store:
        assert store._schema_version() == SCHEMA_VERSION == 14
        assert store.load_checkpoint() == Checkpoint(7, "07", T0)
        assert store.load_reply_texts({("alice", "r1")}) == {}


SCHEMA_9_ROWS = (
    "INSERT INTO checkpoint VALUES (1, 7, '07', 1750000000)",
    "INSERT INTO counts (account, posts, comments) VALUES ('alice', 3, 5), ('bob', 1, 5)",
    "INSERT INTO baselines (account, state, queued_block, comments) VALUES ('alice', 'done', 7, 4)",
)


def make_schema_9_store(location: Location) -> None:
    """A store as the bot of schema 9 left it, with counts, their ranking and a baseline: on SQLite by
    migrations 1 to 9, on PostgreSQL by the baseline (PostgreSQL stores start there)."""
    if isinstance(location, PostgresUrl):
        with psycopg.connect(location.url, autocommit=True) as pg, pg.transaction():
            pg.execute(BASELINE_SCHEMA)
            for statement in SCHEMA_9_ROWS:
                pg.execute(statement)
        return
    location.parent.mkdir(parents=True)
    with sqlite3.connect(location) as db:
        for version in range(1, 10):
            db.executescript(MIGRATIONS[version])
        for statement in SCHEMA_9_ROWS:
            db.execute(statement)
        db.execute("PRAGMA user_version = 9")
    db.close()


def test_a_store_of_schema_9_is_upgraded_to_count_replies_keeping_its_counts_and_rankings(
    store_location: Location,
) -> None:
    make_schema_9_store(store_location)
    with Store.open(store_location) as store:
        assert store._schema_version() == SCHEMA_VERSION
        assert store.load_counts_of(["alice", "bob"]) == {
            "alice": {**dict.fromkeys(Metric, 0), Metric.POSTS: 3, Metric.COMMENTS: 5},
            "bob": {**dict.fromkeys(Metric, 0), Metric.POSTS: 1, Metric.COMMENTS: 5},
        }
        baseline = store.baselines.load("alice")
        assert baseline is not None and baseline.counts[Metric.REPLIES] == 0
        assert [(row.rank, row.account) for row in store.load_ranking_page(Metric.COMMENTS, 10, 0)] == [
            (1, "alice"),
            (1, "bob"),
        ]
        assert store.load_ranking_page(Metric.REPLIES, 10, 0) == []
        replies = tally(increments=Counter({("bob", Metric.REPLIES): 2, ("carol", Metric.REPLIES): 1}))
        store.commit_batch(replies, {}, Checkpoint(8, "08", T0 + 3))
        assert [
            (row.rank, row.account, row.count) for row in store.load_ranking_page(Metric.REPLIES, 10, 0)
        ] == [
            (1, "bob", 2),
            (2, "carol", 1),
        ]


def test_a_write_ahead_log_past_its_bound_is_restarted_after_the_commit(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below SQLite's own checkpoint (1,000 pages) nothing else restarts the log; the bound is made small
    here so that each batch passes it (bot.store.WAL_BOUND: the read-ahead keeps SQLite's from finishing)."""
    monkeypatch.setattr("bot.store.WAL_BOUND", 64 * 1024)
    store = sqlite_store
    assert isinstance(store.location, Path)
    wal = store.location.with_name(store.location.name + "-wal")
    sizes = []
    for batch in range(1, 11):
        created = {(f"author{batch}", f"post-{n}"): 1_750_000_000 for n in range(300)}
        store.commit_batch(Tally(created=created), {}, Checkpoint(batch, f"{batch:040x}", 1_750_000_000))
        sizes.append(wal.stat().st_size)
    assert max(sizes) < 2 * sizes[0]


def test_a_postgresql_store_whose_session_the_server_ended_reconnects_at_the_next_statement(
    fresh_postgres: str,
) -> None:
    """A restart of the server, a network cut, a frozen holder's idle transaction ended by the server: the
    statement that meets the broken session fails as worth retrying, nothing of its batch written, and the
    next one runs on a new session."""
    with Store.open(PostgresUrl(fresh_postgres)) as store, psycopg.connect(fresh_postgres) as admin:
        store.commit_batch(
            tally(increments=Counter({("alice", Metric.POSTS): 1})), {}, Checkpoint(10, "0a", T0)
        )
        (pid,) = store._db.execute("SELECT pg_backend_pid()").fetchone()
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        with pytest.raises(StoreUnreachableError, match="terminat"):
            store.commit_batch(
                tally(increments=Counter({("alice", Metric.POSTS): 1})), {}, Checkpoint(20, "14", T0 + 60)
            )
        assert store.load_checkpoint() == Checkpoint(10, "0a", T0)  # a new session: the batch was not written
        store.commit_batch(
            tally(increments=Counter({("alice", Metric.POSTS): 1})), {}, Checkpoint(20, "14", T0 + 60)
        )
        assert (store.load_counts("alice") or {})[Metric.POSTS] == 2
        assert store._db.execute("SELECT pg_backend_pid()").fetchone()[0] != pid


def test_a_postgresql_store_out_of_reach_keeps_failing_as_worth_retrying_until_it_is_back(
    fresh_postgres: str,
) -> None:
    """Cut from the server: the statement that meets the cut, and every one after while new sessions are
    refused, fail as worth retrying (a job waits for its next tick), never as a store that cannot be used
    (which stops the daemon); once the server is reachable again the next statement runs."""
    parts = urlsplit(fresh_postgres)
    with CutProxy((parts.hostname or "127.0.0.1", parts.port or 5432)) as proxy:
        url = PostgresUrl(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl())
        with Store.open(url) as store:
            store.commit_batch(tally(), {}, Checkpoint(10, "0a", T0))
            proxy.cut()
            for _ in range(2):  # the broken session, then a new one refused
                with pytest.raises(StoreUnreachableError):
                    store.load_checkpoint()
            proxy.restore()
            assert store.load_checkpoint() == Checkpoint(10, "0a", T0)
