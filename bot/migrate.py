"""Moving a store: an SQLite file copied into an empty PostgreSQL database, and the copy verified.

The copy is one consistent state of the store, taken while no bot runs on it:

- the source's lock file is held for the whole copy (:func:`bot.store.lock_store`): a bot running on it
  makes the migration fail, and a bot started meanwhile refuses to start;
- the source is read in ONE SQLite read transaction (opened read-only, ``mode=ro``): the checkpoint, the
  outbox and the counts are those of one commit;
- the target is written in ONE PostgreSQL transaction: the schema (:func:`bot.schema_pg.upgrade_script`:
  the baseline and the migrations after it, up to the source's version), every table, the identity sequences moved past the copied ids, then the verification; any failure rolls
  it all back and leaves the target as it was. A target that already holds a table of the bot's is
  refused: nothing is ever overwritten.

Each table goes over with ``COPY … FROM STDIN``, the referenced tables before the tables that reference
them (``notifications`` before ``badges``: PostgreSQL enforces the foreign key). A value is converted
where the target's column type differs from SQLite's storage (a BOOLEAN from SQLite's 0/1), read from the
target's catalogue, not from a list of names.

The ranking's tables are not copied: they are made again from the copied ``counts``, by the aggregate
that migration 8 fills them with, while the triggers on ``counts`` are off (they are on again before the
commit), and the verification compares them with SQLite's. Not by the triggers as the rows are copied:
with the row triggers the ranking first had, each account updated its ``(metric, count)`` rows, and within
one transaction every update of a row left a version the next one walked past, so the copy slowed as the
square of the accounts sharing a count (10,000 accounts in 1.6 s, 40,000 in 24 s); one aggregate over the
copied table is the plain way whatever the triggers are. That the triggers keep the tables as SQLite's do
is proven by ``tests/store/test_schema_pg.py``.

The verification reads every table again on both sides, ordered by its primary key (text compared by bytes
on both: SQLite's BINARY collation, PostgreSQL's ``COLLATE "C"``), and compares the rows one by one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bot.db import WRITER_LOCK, PostgresUrl, connect_postgres, first_line
from bot.errors import StoreError
from bot.metrics import Metric
from bot.schema import SCHEMA_VERSION
from bot.schema_pg import upgrade_script
from bot.store import lock_store

DERIVED = ("ranking_counts", "ranking_prefixes")
"""Tables made from ``counts`` (by its triggers as it changes): made again and verified, never copied."""
POSTGRESQL_ONLY = ("schema_version", "lease")
"""The target's tables SQLite has no twin of (:mod:`bot.schema_pg`): made by the baseline, not copied."""
FETCH_ROWS = 10_000
"""Rows a verification fetches from PostgreSQL at a time (a server-side cursor: memory stays flat)."""


@dataclass(frozen=True)
class MigrationReport:
    """What a migration wrote: rows per table copied, rows per ranking table made from ``counts`` (all
    verified equal to the store's)."""

    copied: dict[str, int]
    derived: dict[str, int]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.copied.values())


@dataclass(frozen=True)
class Table:
    """One table as both sides hold it: its columns (SQLite's order), its primary key, and which columns
    the target stores as booleans (SQLite's 0/1)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    booleans: frozenset[int]
    texts: frozenset[str]


def migrate(source: Path, target: PostgresUrl) -> MigrationReport:
    """Copy the SQLite store at ``source`` into the empty PostgreSQL database at ``target``, verified."""
    if not source.is_file():
        raise StoreError(f"{source}: no store there to migrate (check 'store' in the config)")
    started = time.monotonic()
    with lock_store(source), _read_source(source) as lite:
        pg = connect_postgres(target, purpose="migrate")
        try:
            with pg.transaction():
                copied, derived = _copy(lite, pg, target)
        except psycopg.Error as exc:
            raise StoreError(f"{target}: the migration failed, nothing written: {first_line(exc)}") from None
        finally:
            pg.close()
    return MigrationReport(copied, derived, time.monotonic() - started)


@contextmanager
def _read_source(path: Path) -> Iterator[sqlite3.Connection]:
    """The store at ``path``, read-only, inside one read transaction (its reads see one commit)."""
    try:
        lite = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot be read as the bot's store: {exc}") from None
    try:
        lite.execute("PRAGMA busy_timeout = 5000")
        lite.execute("BEGIN")
        version = lite.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: a store of schema {version}, and this bot migrates schema {SCHEMA_VERSION}: "
                + (
                    "run this bot once on it, which upgrades it"
                    if version < SCHEMA_VERSION
                    else "migrate it with the newer bot that wrote it"
                )
            )
        yield lite
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot be read as the bot's store: {exc}") from None
    finally:
        lite.close()


def _copy(
    lite: sqlite3.Connection, pg: psycopg.Connection[Any], target: PostgresUrl
) -> tuple[dict[str, int], dict[str, int]]:
    """Inside the target's transaction: the schema, the tables, the sequences, the verification."""
    pg.execute("SELECT pg_advisory_xact_lock($1)", (WRITER_LOCK,))  # the bot's writers wait
    names = _source_tables(lite)
    _refuse_not_empty(pg, target, names)
    pg.execute(upgrade_script(0))
    tables = [load_table(lite, pg, name) for name in names]
    pg.execute("ALTER TABLE counts DISABLE TRIGGER USER")
    copied = {table.name: _copy_table(lite, pg, table) for table in tables if table.name not in DERIVED}
    _rank(pg)
    pg.execute("ALTER TABLE counts ENABLE TRIGGER USER")
    _move_sequences(pg)
    derived = {}
    for table in tables:
        rows = verify_table(lite, pg, table)
        if table.name in DERIVED:
            derived[table.name] = rows
    return copied, derived


def _source_tables(lite: sqlite3.Connection) -> list[str]:
    """The store's tables, each after the tables its foreign keys reference."""
    names = sorted(
        name
        for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    )
    references = {
        name: {row[2] for row in lite.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,))} - {name}
        for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and references[n] <= set(ordered)]
        if not ready:
            raise StoreError(
                f"the store's foreign keys form a cycle among {sorted(set(names) - set(ordered))}"
            )
        ordered += ready
    return ordered


def _refuse_not_empty(pg: psycopg.Connection[Any], target: PostgresUrl, names: Iterable[str]) -> None:
    ours = set(names) | set(POSTGRESQL_ONLY)
    present = sorted(
        name
        for (name,) in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        if name in ours
    )
    if present:
        raise StoreError(
            f"{target}: not empty, it already holds tables of the bot's store ({', '.join(present)}); "
            "migrate into a new, empty database (nothing was changed)"
        )


def load_table(lite: sqlite3.Connection, pg: psycopg.Connection[Any], name: str) -> Table:
    """The table ``name`` as the source declares it, with the target's column types."""
    info = lite.execute("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (name,)).fetchall()
    columns = tuple(column for column, _ in info)
    key = tuple(column for column, pk in sorted(info, key=lambda c: c[1]) if pk) or columns
    types = dict(
        pg.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1",
            (name,),
        ).fetchall()
    )
    missing = [column for column in columns if column not in types]
    if missing:
        raise StoreError(f"the target's table {name} has no column {', '.join(missing)}")
    return Table(
        name,
        columns,
        key,
        frozenset(i for i, column in enumerate(columns) if types[column] == "boolean"),
        frozenset(column for column in columns if types[column] == "text"),
    )


def _copy_table(lite: sqlite3.Connection, pg: psycopg.Connection[Any], table: Table) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    rows = lite.execute(f"SELECT {_names(table.columns)} FROM {_name(table.name)}")
    count = 0
    with pg.cursor().copy(statement) as copy:
        for row in rows if not table.booleans else (_to_target(table, row) for row in rows):
            copy.write_row(row)
            count += 1
    return count


def _to_target(table: Table, row: Sequence[object]) -> tuple[object, ...]:
    return tuple(
        bool(value) if i in table.booleans and value is not None else value for i, value in enumerate(row)
    )


def _rank(pg: psycopg.Connection[Any]) -> None:
    """The ranking's tables from ``counts``, as migration 8 fills them (a metric's column is a
    :class:`~bot.metrics.Metric`'s value, never data; ``left`` as the PostgreSQL triggers take the prefix)."""
    for c in (metric.value for metric in Metric):
        pg.execute(
            f"INSERT INTO ranking_counts SELECT '{c}', {c}, count(*) FROM counts WHERE {c} > 0 GROUP BY {c}"
        )
        pg.execute(
            f"INSERT INTO ranking_prefixes SELECT '{c}', {c}, left(account, 2), count(*) FROM counts "
            f"WHERE {c} > 0 GROUP BY {c}, left(account, 2)"
        )


def _move_sequences(pg: psycopg.Connection[Any]) -> None:
    """Each identity column's sequence past the largest id copied: a new row never reuses an id."""
    identities = pg.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in identities:
        pg.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence($1, $2), max({})) FROM {} HAVING count(*) > 0"
            ).format(sql.Identifier(column), sql.Identifier(table)),
            (table, column),
        )


def verify_table(lite: sqlite3.Connection, pg: psycopg.Connection[Any], table: Table) -> int:
    """The table's rows on both sides, compared one by one in primary-key order: the number of rows, or a
    :class:`StoreError` naming the table and the first key where they differ."""
    order = sql.SQL(", ").join(
        sql.SQL('{} COLLATE "C"' if column in table.texts else "{}").format(sql.Identifier(column))
        for column in table.key
    )
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, table.columns)), sql.Identifier(table.name), order
    )
    mine = lite.execute(
        f"SELECT {_names(table.columns)} FROM {_name(table.name)} ORDER BY {_names(table.key)}"
    )
    # a server-side cursor lives in a transaction: the migration's, or one of its own (a savepoint inside)
    with pg.transaction(), pg.cursor(name=f"verify_{table.name}") as theirs:
        theirs.itersize = FETCH_ROWS
        theirs.execute(query)
        count = 0
        for expected, found in zip_longest(mine, _normalized(table, theirs)):
            if expected != found:
                row = expected if expected is not None else found
                key = tuple(row[table.columns.index(column)] for column in table.key)
                raise StoreError(
                    f"the copy differs from the store in table {table.name} at key {key}: "
                    f"{expected} in the store, {found} in the copy; nothing written"
                )
            count += 1
    return count


def _normalized(table: Table, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """PostgreSQL's rows as SQLite gives them: booleans as 0/1."""
    if not table.booleans:
        yield from rows
        return
    for row in rows:
        yield tuple(int(v) if isinstance(v, bool) else v for v in row)


def _name(identifier: str) -> str:
    """An SQLite identifier, quoted (names come from the store's own catalogue)."""
    return '"' + identifier.replace('"', '""') + '"'


def _names(identifiers: Iterable[str]) -> str:
    return ", ".join(map(_name, identifiers))


def without_password(url: PostgresUrl) -> str:
    """``url`` with no password at all: what the config's ``store`` should say (libpq finds the password
    in ``PGPASSWORD``, ``~/.pgpass`` or a service file)."""
    parts = urlsplit(url.url)
    if parts.password is None:
        return url.url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", "@", 1)))
