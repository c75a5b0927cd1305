"""The store's database: an SQLite file (the default) or a PostgreSQL server (a ``postgresql://`` URL).

The store's SQL (:mod:`bot.store`, :mod:`bot.counts`, :mod:`bot.outbox`, :mod:`bot.baselines`) is written
once, in SQLite's dialect kept to what both engines understand alike, and run as it is on SQLite. On
PostgreSQL, :func:`postgres_sql` rewrites the few constructs the two spell differently; this is the whole
list, and a statement that needs more must be written portably instead:

- placeholders: ``?`` becomes ``$1``, ``$2``… in order, ``?N`` becomes ``$N`` (psycopg's raw cursor, the
  server's own numbered parameters);
- a JSON array parameter read as rows: ``json_each(?)`` becomes ``json_array_elements(CAST(? AS json))``,
  and ``SELECT value FROM json_each(?)`` (an array of strings) ``json_array_elements_text``. A value taken
  out with ``->>`` is text on PostgreSQL: the portable SQL casts numbers, ``CAST(value ->> 2 AS BIGINT)``;
- JSON built in a query: ``json_group_array`` is ``json_agg``, ``json_array`` is ``json_build_array``, and
  SQLite's ``json((subquery))`` (which keeps a subquery's array an array) is the bare subquery. An aggregate
  over no rows is ``[]`` on SQLite and NULL on PostgreSQL: the portable SQL wraps it in ``coalesce(…, '[]')``.
  JSON results come back as text on both (the store decodes them with msgspec).

What differs beyond the SQL, each a method here: a write transaction (SQLite's ``BEGIN IMMEDIATE`` takes
the one write lock; on PostgreSQL a transaction-level advisory lock serializes the bot's writers the same
way, the lease's fence after it when the process holds one), a read snapshot, the "has anything changed"
version the ranking's cache checks, and the database's size.
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.string import TextLoader

from bot.errors import LeaseLostError, StoreError, StoreUnreachableError
from bot.lease import BOUND_IDLE, FENCE, FENCE_FAILED, Holding, Terms, idle_timeout
from bot.location import Location as Location
from bot.location import PostgresUrl as PostgresUrl
from bot.location import is_postgres as is_postgres

WRITER_LOCK = 0x68697665
"""The advisory lock key every write transaction on PostgreSQL takes first (b"hive"): the bot's writers
(the follower, the baseline job, the poster, a command) run one at a time, as SQLite's write lock makes
them, so a transaction that reads counts and writes what follows from them never interleaves with another."""


class Rows(Protocol):
    """A statement's result, as both drivers' cursors give it."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(ABC):
    """One connection to the store's database."""

    dialect: ClassVar[str]
    where: str
    """The database, as messages name it (a path, or a URL without its password)."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    @abstractmethod
    def transaction(self, *, fenced: bool = True) -> AbstractContextManager[None]:
        """A write transaction: committed at the end, rolled back on an exception. ``fenced=False``: not
        checked against the lease (the schema's creation and upgrades, at open)."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: its reads see one state of the store."""

    @abstractmethod
    def data_version(self) -> object:
        """A value that changes whenever a write has been committed since it was last read (by this
        connection or another); it may change without one."""

    @abstractmethod
    def size(self) -> int:
        """The database's size on disk, in bytes."""

    @abstractmethod
    def close(self) -> None: ...


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self.where = str(path)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return self.connection.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.connection.executemany(sql, rows)

    @contextmanager
    def transaction(self, *, fenced: bool = True) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        self.connection.execute("BEGIN")
        try:
            yield
        finally:
            self.connection.execute("COMMIT")

    def data_version(self) -> object:
        """Another connection's commit moves ``PRAGMA data_version``; this connection's own writes move
        ``total_changes``."""
        return (self.connection.execute("PRAGMA data_version").fetchone()[0], self.connection.total_changes)

    def size(self) -> int:
        page_count = self.connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = self.connection.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        return int(page_count * page_size) + (wal.stat().st_size if wal.exists() else 0)

    def close(self) -> None:
        self.connection.close()


class PostgresDatabase(Database):
    """A psycopg connection in autocommit mode: a statement outside :meth:`transaction` or
    :meth:`snapshot` commits by itself, as on SQLite (whose module runs with ``isolation_level=None``).

    **A lost connection is not the end.** The server restarts, a network cut ends the session, a frozen
    holder's idle transaction is ended by the server (``BOUND_IDLE``): the statement that meets it raises
    :class:`~bot.errors.StoreUnreachableError` (a job retries at its next tick), and the next statement
    outside a transaction runs on a new connection made by ``connect``. Never inside one: what a
    transaction wrote before its connection broke is gone, and it must be redone whole."""

    dialect = "postgresql"

    def __init__(
        self, connect: Callable[[], psycopg.Connection[Any]], url: PostgresUrl, holding: Holding | None
    ) -> None:
        self._connect = connect
        self.connection = connect()
        self.url = url
        self.where = str(url)
        self.holding = holding
        """With a holding (a ``run`` process), every write transaction is fenced by the lease."""
        self._depth = 0  # inside a transaction or a snapshot
        self._closed = False

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        with self._reaching():
            return self._live().execute(postgres_sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """psycopg's ``executemany`` pipelines the rows: a holder frozen in the middle (SIGSTOP) leaves its
        session reading the rest of the pipeline, where neither ``statement_timeout`` nor the idle timeout
        (:data:`~bot.lease.BOUND_IDLE`, armed only between whole requests) ends it, and its fence's lock on
        the lease row holds every takeover back for as long as it is frozen (the failover test met it).
        A holder's writes go one statement at a time (about 4× slower per row, 80 µs here), each a whole
        request: frozen anywhere, its session is idle within a statement and ended at the margin."""
        rows = list(rows)
        if not rows:
            return
        with self._reaching():
            if self.holding is None:
                self._live().cursor().executemany(postgres_sql(sql), rows)
                return
            statement = postgres_sql(sql)
            for row in rows:
                self._live().execute(statement, row)

    @contextmanager
    def transaction(self, *, fenced: bool = True) -> Iterator[None]:
        holding = self.holding if fenced else None
        fence = None if holding is None else holding.fence()
        if holding is not None and fence is None:
            raise LeaseLostError(f"{self.where}: this process does not hold the lease; nothing written")
        with self._within("BEGIN"):
            # the writer lock first, then the fence: a writer queued for the lock holds no lock on the lease
            # row, so a renewal or a takeover waits for the write in progress only, never for the queue
            self.execute("SELECT pg_advisory_xact_lock(?)", (WRITER_LOCK,))
            if fence is not None:
                self._fence(*fence)
            yield

    def _fence(self, holder: str, token: int) -> None:
        try:
            self.execute(_FENCE, (holder, token))
        except psycopg.errors.RaiseException as exc:
            if str(exc).startswith(FENCE_FAILED):
                raise LeaseLostError(f"{self.where}: {exc}; nothing written") from None
            raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self._within("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"):
            yield

    @contextmanager
    def _within(self, begin: str) -> Iterator[None]:
        """A transaction begun with ``begin``: committed at the end, rolled back on an exception (unless
        the connection broke: the server has ended it)."""
        self.execute(begin)
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if not self.connection.broken:
                self.execute("ROLLBACK")
            raise
        self._depth -= 1
        self.execute("COMMIT")

    def _live(self) -> psycopg.Connection[Any]:
        """The connection, made again if it broke and no transaction is under way on it."""
        if self._depth == 0 and not self._closed and self.connection.broken:
            self.connection.close()
            try:
                self.connection = self._connect()
            except StoreError as exc:  # still out of reach: worth trying again, as the statement that broke
                raise StoreUnreachableError(str(exc)) from None
        return self.connection

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        try:
            yield
        except psycopg.OperationalError as exc:
            raise StoreUnreachableError(f"{self.where}: {first_line(exc)}") from exc

    def data_version(self) -> object:
        """The server's current snapshot (``xmin:xmax:running``): any commit since the last reading, here
        or on another connection, ends a transaction it listed as running or below its ``xmax``, so it
        moves. Other databases' commits on the same server move it too (a cache read again for nothing)."""
        return self.execute("SELECT pg_current_snapshot()::text").fetchone()[0]

    def size(self) -> int:
        row = self.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._closed = True
        self.connection.close()


_FENCE = FENCE.replace("%(holder)s", "$1").replace("%(token)s", "$2")


def open_postgres(
    url: PostgresUrl,
    *,
    purpose: str,
    holding: Holding | None = None,
    terms: Terms | None = None,
    read_only: bool = False,
) -> PostgresDatabase:
    """A :class:`PostgresDatabase` on ``url``, each of its connections (the first, and any made again)
    made the same way: with a ``holding`` and its ``terms`` (a ``run`` process), statements bounded by the
    lease's duration and idle transactions by its margin (:data:`~bot.lease.BOUND_IDLE`), so that none
    holds a takeover back."""

    def connect() -> psycopg.Connection[Any]:
        connection = connect_postgres(
            url,
            purpose=purpose,
            read_only=read_only,
            statement_timeout=None if terms is None else terms.duration,
        )
        if terms is not None:
            connection.execute(_BOUND_IDLE, (idle_timeout(terms),))
        return connection

    return PostgresDatabase(connect, url, holding)


_BOUND_IDLE = BOUND_IDLE.replace("%(timeout)s", "$1")


CONNECT_TIMEOUT = 5
"""Seconds a connection attempt may take, unless the URL says (``connect_timeout=``): libpq's own default
waits as long as the system does (~2 minutes) for a host that does not answer, which would hold a keeper's
takeover, a job's retry or a board's every request that long."""


def connect_postgres(
    url: PostgresUrl, *, purpose: str, read_only: bool = False, statement_timeout: float | None = None
) -> psycopg.Connection[Any]:
    """A connection to ``url`` for the bot: autocommit, numbered ``$N`` parameters, JSON results as text,
    ``application_name`` saying which part of which process it is (``purpose``: ``pg_stat_activity`` shows
    it). ``read_only``: the server refuses any write on it (the board's).

    ``statement_timeout`` (seconds): the server cancels a statement that runs longer. A ``run`` process's
    connections are given the lease's duration (``ha.takeover``): a statement that passed the lease's fence
    holds the lease row, and one stuck (its client frozen while the server sends it rows: not idle, so
    ``BOUND_IDLE`` does not end it) would hold a takeover back for as long as it runs; a batch's statements
    take well under a second. The keeper's own connection (:mod:`bot.standby`) is given a renewal's
    interval, so that a renewal waiting on a lock gives up in time for the next."""
    try:
        settings = conninfo_to_dict(url.url)
        options = [str(settings.get("options") or "")]  # added to: a keyword argument would replace them
        if read_only:
            options.append("-c default_transaction_read_only=on")
        if statement_timeout is not None:
            options.append(f"-c statement_timeout={max(1, round(statement_timeout * 1000))}")
        if options != [""]:
            settings["options"] = " ".join(options).strip()
        settings.setdefault("application_name", f"hive-badge-bot {purpose}")
        settings.setdefault("connect_timeout", CONNECT_TIMEOUT)
        connection = psycopg.Connection.connect(
            make_conninfo("", **settings), autocommit=True, cursor_factory=psycopg.RawCursor
        )
    except psycopg.Error as exc:
        raise StoreError(f"{url}: cannot connect to the bot's store: {first_line(exc)}") from None
    connection.adapters.register_loader("json", TextLoader)
    connection.adapters.register_loader("jsonb", TextLoader)
    return connection


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_REWRITES = (
    (
        re.compile(r"SELECT value FROM json_each\((\?\d*)\)"),
        r"SELECT value FROM json_array_elements_text(CAST(\1 AS json))",
    ),
    (re.compile(r"\bjson_each\((\?\d*)\)"), r"json_array_elements(CAST(\1 AS json))"),
    (re.compile(r"\bjson_group_array\("), "json_agg("),
    (re.compile(r"\bjson_array\("), "json_build_array("),
    (re.compile(r"\bjson\(\("), "(("),
)
_PLACEHOLDER = re.compile(r"\?(\d*)")


@lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """``sql`` (the store's portable SQLite dialect) as PostgreSQL reads it: see the module's docstring."""
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    counter = iter(range(1, sql.count("?") + 1))
    return _PLACEHOLDER.sub(lambda m: f"${m.group(1) or next(counter)}", sql)
