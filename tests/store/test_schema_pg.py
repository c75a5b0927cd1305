"""The PostgreSQL schema (:mod:`bot.schema_pg`) is SQLite's after its migrations, on a real server: the same
tables, columns, keys, indexes and triggers, read back from each database's catalogue; and the ranking's
triggers keep their tables exactly as SQLite's do, through any sequence of changes to the counts."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from bot.metrics import Metric
from bot.schema import SCHEMA_VERSION
from bot.schema_pg import BASELINE, BASELINE_SCHEMA, MIGRATIONS
from bot.store import Store
from tests.support.ranking import load_ranking_tables, recount_ranking_tables

Schema = dict[str, Any]
"""What a catalogue says: ``tables`` (name → columns), ``indexes`` (name → what), ``uniques``, ``triggers``."""
Column = tuple[str, str, bool, str | None, int]
"""Name, type class, NOT NULL, default, position in the primary key (0: not in it)."""

AFFINITY = {"INTEGER": "integer", "bigint": "integer", "boolean": "integer", "TEXT": "text", "text": "text"}
"""Types compared by class: SQLite's declared type, PostgreSQL's ``data_type`` (a BOOLEAN is SQLite's 0/1)."""
DEFAULTS = {"false": "0", "true": "1"}
"""PostgreSQL's spelling of a default → SQLite's."""
POSTGRESQL_ONLY = {"schema_version", "lease"}
"""Tables SQLite has no twin of: its ``user_version``; the lease (one process by its lock file)."""


@pytest.fixture(scope="module")
def pg(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose ``search_path`` is a schema of its own, holding :data:`BASELINE_SCHEMA` and the
    migrations after it, as :class:`bot.store.Store` runs them."""
    name = sql.Identifier(f"schema_pg_{secrets.token_hex(4)}")
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(name))
        connection.execute(sql.SQL("SET search_path TO {}").format(name))
        with connection.transaction():
            connection.execute(BASELINE_SCHEMA)
            for version in range(BASELINE + 1, SCHEMA_VERSION + 1):
                connection.execute(MIGRATIONS[version])
                connection.execute("UPDATE schema_version SET version = %s", (version,))
        yield connection
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A store as :class:`bot.store.Store` makes it: migrations 1 to :data:`SCHEMA_VERSION`."""
    path = tmp_path_factory.mktemp("schema") / "bot.sqlite"
    Store.open(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    yield db
    db.close()


def sqlite_schema(db: sqlite3.Connection) -> Schema:
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    schema: Schema = {"tables": {}, "indexes": {}, "uniques": set(), "triggers": set()}
    for table in tables:
        schema["tables"][table] = [
            # a primary key's columns are NOT NULL (SQLite's rowid alias says 0, yet holds no NULL)
            (name, AFFINITY[kind], bool(notnull or pk), default, pk)
            for _, name, kind, notnull, default, pk in db.execute(f"PRAGMA table_info({table})")
        ]
        for _, index, unique, origin, partial in db.execute(f"PRAGMA index_list({table})"):
            keys = tuple(
                (name, bool(desc))
                for _, _, name, desc, _, key in db.execute(f"PRAGMA index_xinfo({index})")
                if key
            )
            if origin == "c":
                schema["indexes"][index] = (table, keys, bool(unique), bool(partial))
            elif origin == "u":  # a UNIQUE constraint, named by SQLite (the primary key's: by its columns)
                schema["uniques"].add((table, keys))
    schema["triggers"] = set(db.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
    return schema


PG_COLUMNS = """
    SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO', c.column_default,
        coalesce((SELECT k.ordinal_position FROM information_schema.key_column_usage k
            JOIN information_schema.table_constraints t USING (constraint_schema, constraint_name)
            WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_schema = c.table_schema
                AND k.table_name = c.table_name AND k.column_name = c.column_name), 0)
    FROM information_schema.columns c WHERE c.table_schema = current_schema()
    ORDER BY c.table_name, c.ordinal_position
"""
PG_INDEXES = """
    SELECT t.relname, i.relname, x.indisunique, x.indisprimary, x.indpred IS NOT NULL,
        EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype = 'u'),
        array(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) k ORDER BY k),
        x.indoption::int2[]
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    WHERE t.relnamespace = current_schema()::regnamespace
"""
PG_TRIGGERS = """
    SELECT t.relname, g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
    WHERE t.relnamespace = current_schema()::regnamespace AND NOT g.tgisinternal
"""


def postgres_schema(db: psycopg.Connection[Any]) -> Schema:
    """:func:`sqlite_schema`'s twin, without the :data:`POSTGRESQL_ONLY` tables."""
    schema: Schema = {"tables": {}, "indexes": {}, "uniques": set(), "triggers": set()}
    for table, name, kind, notnull, default, pk in db.execute(PG_COLUMNS):
        if table in POSTGRESQL_ONLY:
            continue
        column = (name, AFFINITY[kind], notnull, DEFAULTS.get(default, default), pk)
        schema["tables"].setdefault(table, []).append(column)
    for table, index, unique, primary, partial, constraint, names, options in db.execute(PG_INDEXES):
        if table in POSTGRESQL_ONLY:
            continue
        keys = tuple((name, bool(option & 1)) for name, option in zip(names, options, strict=True))
        if constraint:
            schema["uniques"].add((table, keys))
        elif not primary:  # the primary key's columns are compared as the columns' positions in it
            schema["indexes"][index] = (table, keys, unique, partial)
    schema["triggers"] = set(db.execute(PG_TRIGGERS))
    return schema


def test_postgresql_has_sqlites_tables_columns_keys_indexes_and_triggers(
    lite: sqlite3.Connection, pg: psycopg.Connection[Any]
) -> None:
    expected, found = sqlite_schema(lite), postgres_schema(pg)
    assert found["tables"] == expected["tables"]
    assert found["indexes"] == expected["indexes"]
    assert found["uniques"] == expected["uniques"]
    assert found["triggers"] == expected["triggers"]
    assert len(expected["triggers"]) == 4 * len(Metric)


def test_every_text_column_on_postgresql_compares_bytes_as_sqlite_does(pg: psycopg.Connection[Any]) -> None:
    collations = set(
        pg.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'text'"
        )
    )
    assert collations == {("C",)}


def test_the_postgresql_schema_says_its_version(pg: psycopg.Connection[Any]) -> None:
    assert pg.execute("SELECT id, version FROM schema_version").fetchall() == [(1, SCHEMA_VERSION)]


NAMES = ["aa", "aab", "ab", "b", "ba", "c.d", "c-d", "cd"]
"""Names sharing their two first characters, and a shorter one."""
METRICS = st.sampled_from([metric.value for metric in Metric])
CHANGES = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(NAMES), METRICS, st.integers(-3, 3)),
    st.tuples(st.just("set"), st.sampled_from(NAMES), METRICS, st.integers(-1, 3)),
    st.tuples(st.just("rename"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
)


def change_counts(change: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """One statement on ``counts`` (``?`` for each parameter): as :func:`bot.counts.add_counts` adds, a
    count set outright, an account renamed (unless the new name has a row), a row deleted."""
    match change:
        case ("add", account, column, n):  # column: a Metric's value, never data
            return (
                f"INSERT INTO counts (account, {column}) VALUES (?, ?) "
                f"ON CONFLICT (account) DO UPDATE SET {column} = counts.{column} + excluded.{column}",
                (account, n),
            )
        case ("set", account, column, n):
            return f"UPDATE counts SET {column} = ? WHERE account = ?", (n, account)
        case ("rename", account, new):
            return (
                "UPDATE counts SET account = ? WHERE account = ? "
                "AND NOT EXISTS (SELECT 1 FROM counts WHERE account = ?)",
                (new, account, new),
            )
    return "DELETE FROM counts WHERE account = ?", change[1:]


@settings(max_examples=40, deadline=None)
@given(st.lists(CHANGES, max_size=30))
def test_the_ranking_triggers_keep_their_tables_equal_to_a_recount_as_on_sqlite(
    lite: sqlite3.Connection, pg: psycopg.Connection[Any], changes: list[tuple[Any, ...]]
) -> None:
    pg.execute("TRUNCATE counts, ranking_counts, ranking_prefixes")
    lite.execute("DELETE FROM counts")
    assert load_ranking_tables(lite) == (set(), set())
    for change in changes:
        statement, parameters = change_counts(change)
        lite.execute(statement, parameters)
        pg.execute(statement.replace("?", "%s"), parameters)
    assert load_ranking_tables(pg) == recount_ranking_tables(pg)
    assert load_ranking_tables(pg) == load_ranking_tables(lite)
    assert set(pg.execute("SELECT * FROM counts")) == set(lite.execute("SELECT * FROM counts"))
