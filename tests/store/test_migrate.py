"""``migrate``: an SQLite store copied into an empty PostgreSQL database (a real server), verified, and
refused where it must be; the store is filled through its own API (batches, the outbox), and the tables the
baseline job writes with rows of their real shape."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.badges import BadgeRules
from bot.db import PostgresUrl, connect_postgres
from bot.errors import StoreError, StoreLockedError
from bot.metrics import Metric
from bot.migrate import DERIVED, load_table, migrate, verify_table
from bot.outbox import State
from bot.plan import OutboxChanges
from bot.schema import SCHEMA_VERSION
from bot.store import Checkpoint, Store, lock_store
from bot.tallies import Tally
from tests.support.blocks import DAY, block_id, time_of
from tests.support.configs import write_config
from tests.support.ranking import load_ranking_tables, recount_ranking_tables

R, G, P, C = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS
RULES = BadgeRules({R: (1, 3), G: (1,), P: (1, 2), C: (1,)}, "badge-bot", per_account_interval=0)
ACCOUNTS = ("alice", "bob", "carol", "dave", "c-d", "cd", "éva")
"""Names whose byte order differs from a linguistic one (``c-d``/``cd``, a non-ASCII letter)."""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A store with rows in every table: counts (and so the ranking), comments and their counted votes,
    badges with notifications waiting, sent, delivered and parked, root posts, opt-outs, reply texts,
    paid-out comments, a baseline under way (its carry, ``effective_before_hf24`` true), and what the
    baseline job keeps beside it."""
    path = tmp_path / "state" / "bot.sqlite"
    with Store.open(path) as store:
        _commit(store, 10, _tally())
        by_account = {n.account: n for n in store.outbox.load_notifications(State.WAITING)}
        store.outbox.mark_sent(by_account["alice"].id, ("alice", "post-alice"), time_of(10))
        store.outbox.mark_sent(by_account["bob"].id, ("bob", "post-bob"), time_of(10))
        store.outbox.mark_failed(by_account["carol"].id, "refused", time_of(10), max_attempts=1)
        store.outbox.add_optout("éva")
        _commit(
            store,
            11,
            Tally(increments=Counter({("alice", R): 2})),
            OutboxChanges(
                rules=RULES,
                delivered={by_account["bob"].permlink: 11},
                reply_texts={("dave", "re-badge"): "STOP please"},
            ),
        )
    with sqlite3.connect(path) as db:  # the baseline job's tables, as it writes them (bot.baselines)
        db.execute(
            "INSERT INTO baselines (account, state, queued_block, next_start, carry, pages, entries, "
            "upvotes_received, posts, effective_before_hf24, entries_left) "
            "VALUES ('bob', 'waiting', 10, 4000, '[[\"bob\",\"old\",\"x\"]]', 3, 3000, 7, 2, 1, 1200)"
        )
        db.execute("INSERT INTO baselines (account, state, queued_block) VALUES ('cd', 'done', 10)")
        db.execute("INSERT INTO baseline_seen VALUES ('bob', 'vote', 'bob/old', 'x')")
        db.execute("INSERT INTO baseline_unconfirmed VALUES ('bob', 'given', 'carol', 'p', 'bob', 99)")
        db.execute("INSERT INTO seam_votes VALUES ('carol', 'p', 'bob', 'given', 'live')")
        db.execute(f"INSERT INTO paid_out_comments VALUES ('dave', 'old', {time_of(1) - 8 * DAY})")
        db.execute("INSERT INTO optout_families VALUES ('erin', 'replies', 11, 'custom_json')")
        db.execute("INSERT INTO mutes VALUES ('frank', 1, 11, 'chain')")
        db.execute(f"INSERT INTO preferences VALUES ('erin', 'weekly', 11, {time_of(11)})")
        db.execute("INSERT INTO births VALUES ('alice', 1591110000, 602)")
    return path


def _tally() -> Tally:
    increments = Counter({(a, m): 1 + i % 3 for i, a in enumerate(ACCOUNTS) for m in (R, G, P, C)})
    created = {(a, f"post-{a}"): time_of(9) for a in ACCOUNTS}
    return Tally(
        increments=increments,
        created=created,
        counted_votes={((a, f"post-{a}"), v) for a in ACCOUNTS for v in ACCOUNTS if v != a},
        root_posts={a: (f"post-{a}", time_of(9)) for a in ACCOUNTS},
    )


def _commit(store: Store, num: int, tally: Tally, changes: OutboxChanges | None = None) -> None:
    checkpoint = Checkpoint(num, block_id(num), time_of(num))
    store.commit_batch(tally, {}, checkpoint, changes or OutboxChanges(rules=RULES))


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, read by this test on its own (no code of the migration's)."""
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}


def postgres_rows(url: str, tables: Iterator[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The same tables on PostgreSQL, booleans as SQLite's 0/1."""
    with psycopg.connect(url) as db:
        return {
            t: sorted(
                (
                    tuple(int(v) if isinstance(v, bool) else v for v in row)
                    for row in db.execute(f"SELECT * FROM {t}")
                ),
                key=repr,
            )
            for t in tables
        }


def postgres_tables(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        return {
            t
            for (t,) in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }


def test_every_table_is_copied_equal_and_the_ranking_made_again_is_the_same(
    source: Path, fresh_postgres: str
) -> None:
    expected = sqlite_rows(source)
    assert all(expected.values()), [t for t, rows in expected.items() if not rows]  # every table has rows

    report = migrate(source, PostgresUrl(fresh_postgres))

    assert postgres_rows(fresh_postgres, iter(expected)) == expected
    assert report.copied == {t: len(rows) for t, rows in expected.items() if t not in DERIVED}
    assert report.derived == {t: len(expected[t]) for t in DERIVED}
    with sqlite3.connect(source) as lite, psycopg.connect(fresh_postgres) as pg:
        assert load_ranking_tables(pg) == load_ranking_tables(lite)
        assert pg.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert pg.execute("SELECT effective_before_hf24 FROM baselines WHERE account = 'bob'").fetchone() == (
            True,
        )


def test_a_notification_written_after_the_migration_gets_a_new_id(source: Path, fresh_postgres: str) -> None:
    migrate(source, PostgresUrl(fresh_postgres))

    with psycopg.connect(fresh_postgres) as pg:
        (copied,) = pg.execute("SELECT max(id) FROM notifications").fetchone() or (None,)
        (new,) = pg.execute(
            "INSERT INTO notifications (account, permlink, state, not_before, created_block) "
            "VALUES ('zed', 'badge-new', 'waiting', 0, 12) RETURNING id"
        ).fetchone() or (None,)
        (comment,) = pg.execute(
            "INSERT INTO comments (author, permlink, created) VALUES ('zed', 'p', 1) RETURNING id"
        ).fetchone() or (None,)
        (copied_comment,) = pg.execute("SELECT max(id) FROM comments WHERE author <> 'zed'").fetchone() or (
            None,
        )
    assert copied is not None and new is not None and new > copied
    assert copied_comment is not None and comment is not None and comment > copied_comment


def test_the_ranking_follows_counts_written_after_the_migration(source: Path, fresh_postgres: str) -> None:
    """The migration turns the triggers on ``counts`` off while it copies: they are on again after it."""
    migrate(source, PostgresUrl(fresh_postgres))

    with psycopg.connect(fresh_postgres) as pg:
        pg.execute("INSERT INTO counts (account, posts) VALUES ('zed', 1000)")
        pg.execute("UPDATE counts SET comments = 500 WHERE account = 'alice'")
        assert load_ranking_tables(pg) == recount_ranking_tables(pg)
        assert ("posts", 1000, 1) in load_ranking_tables(pg)[0]


def test_a_target_holding_a_store_is_refused_and_left_untouched(source: Path, fresh_postgres: str) -> None:
    with psycopg.connect(fresh_postgres, autocommit=True) as pg:
        pg.execute("CREATE TABLE counts (account TEXT PRIMARY KEY)")
        pg.execute("INSERT INTO counts VALUES ('someone')")

    with pytest.raises(StoreError, match=r"not empty.*\(counts\)"):
        migrate(source, PostgresUrl(fresh_postgres))

    assert postgres_tables(fresh_postgres) == {"counts"}
    assert postgres_rows(fresh_postgres, iter(["counts"])) == {"counts": [("someone",)]}


def test_a_target_with_a_schema_version_is_refused(source: Path, fresh_postgres: str) -> None:
    with psycopg.connect(fresh_postgres, autocommit=True) as pg:
        pg.execute("CREATE TABLE schema_version (id BIGINT, version BIGINT)")

    with pytest.raises(StoreError, match=r"not empty.*\(schema_version\)"):
        migrate(source, PostgresUrl(fresh_postgres))


def test_a_source_of_another_schema_version_is_refused(source: Path, fresh_postgres: str) -> None:
    with sqlite3.connect(source) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")

    with pytest.raises(
        StoreError, match=rf"schema {SCHEMA_VERSION - 1}.*run this bot once on it, which upgrades it"
    ):
        migrate(source, PostgresUrl(fresh_postgres))
    assert postgres_tables(fresh_postgres) == set()


def test_a_missing_source_is_refused(tmp_path: Path, fresh_postgres: str) -> None:
    with pytest.raises(StoreError, match="no store there to migrate"):
        migrate(tmp_path / "none.sqlite", PostgresUrl(fresh_postgres))


def test_a_source_a_bot_runs_on_is_refused(source: Path, fresh_postgres: str) -> None:
    with lock_store(source), pytest.raises(StoreLockedError, match="another hive-badge-bot is running"):
        migrate(source, PostgresUrl(fresh_postgres))
    assert postgres_tables(fresh_postgres) == set()


def test_a_copy_that_differs_rolls_everything_back(source: Path, fresh_postgres: str) -> None:
    """A source whose ranking disagrees with its counts (a row of it edited by hand): the triggers make the
    right one on PostgreSQL, the verification finds the difference, and nothing stays written."""
    with sqlite3.connect(source) as db:
        db.execute("UPDATE ranking_counts SET accounts = accounts + 1 WHERE metric = 'posts' AND n = 1")

    with pytest.raises(StoreError, match=r"table ranking_counts at key \('posts', 1\)"):
        migrate(source, PostgresUrl(fresh_postgres))
    assert postgres_tables(fresh_postgres) == set()


def test_the_comparison_names_the_first_differing_key(source: Path, fresh_postgres: str) -> None:
    migrate(source, PostgresUrl(fresh_postgres))
    with sqlite3.connect(source) as lite, connect_postgres(PostgresUrl(fresh_postgres), purpose="test") as pg:
        pg.execute("UPDATE counts SET posts = 99 WHERE account = 'cd'")
        pg.execute("DELETE FROM optouts")
        assert verify_table(lite, pg, load_table(lite, pg, "checkpoint")) == 1
        with pytest.raises(StoreError, match=r"table counts at key \('cd',\): \('cd', .*\) in the store"):
            verify_table(lite, pg, load_table(lite, pg, "counts"))
        with pytest.raises(StoreError, match=r"table optouts at key \('éva',\): .* None in the copy"):
            verify_table(lite, pg, load_table(lite, pg, "optouts"))


def test_the_command_prints_the_tables_and_never_the_password(
    source: Path, fresh_postgres: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:1"], store=str(source))
    url = fresh_postgres.replace("postgresql://postgres@", "postgresql://postgres:s3cret-pw@", 1)
    assert url != fresh_postgres

    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate", "--config", str(config), "--to", url],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert "verified" in done.stdout
    assert "  counted_votes" in done.stdout and "(made from counts)" in done.stdout
    assert f"store: {fresh_postgres}" in done.stdout


def test_the_command_refuses_a_config_whose_store_is_already_postgresql(
    fresh_postgres: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:1"], store=fresh_postgres)

    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate", "--config", str(config), "--to", fresh_postgres],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert "already names a PostgreSQL store" in done.stderr
    assert "there is no SQLite store to move" in done.stderr
