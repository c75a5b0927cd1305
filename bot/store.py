"""The store: counts, what the counting rules must remember, and the checkpoint — in an SQLite file (the
default) or a PostgreSQL database (:mod:`bot.db`: one SQL text for both).

Everything one batch of blocks changes is written by :meth:`Store.commit_batch` in ONE transaction
together with the checkpoint, so a crash at any instant loses nothing and counts nothing twice.
SQLite runs in WAL mode. The schema carries a version (SQLite's ``PRAGMA user_version``, PostgreSQL's
``schema_version`` row) and upgrades itself on open; a store from a newer version is refused.

What is remembered only as long as it can matter: a comment's creation time and the upvote pairs
counted on it are kept while the comment can still take effective votes (:data:`~bot.tallies.PAYOUT_WINDOW`
after its creation, measured in chain time at the checkpoint), then pruned. The text of a reply to the bot's
comments is kept :data:`REPLY_TEXT_MEMORY` after its last change, to read the STOP or START of a later edit
sent as a patch (see :mod:`bot.optouts`).
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from bot import baselines, births, counts, outbox, schema_pg
from bot.badges import BadgeRules
from bot.baselines import Baselines
from bot.birthdays import Birthday
from bot.db import Database, Location, PostgresDatabase, PostgresUrl, SqliteDatabase, open_postgres
from bot.errors import StoreError, StoreLockedError, StoreVersionError
from bot.lease import Holding, Terms
from bot.metrics import Metric
from bot.operations import CommentKey
from bot.outbox import Outbox
from bot.plan import BatchPlan, CountPlan, CountsView, OutboxChanges, plan_batch, plan_counts, seam_sides
from bot.schema import MIGRATIONS, SCHEMA_VERSION
from bot.tallies import PAYOUT_WINDOW, CountedVote, Tally

_WANTED_COMMENTS = "WITH wanted(author, permlink) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
"""Keys go to the database as one JSON parameter: one statement text whatever their number. (A VALUES list of
bound parameters compiled a new, large statement for each count, and SQLite's statement cache kept up to
128 of them: ~100 MB.)"""
_CREATED = "CAST(value ->> 2 AS BIGINT)"
"""A key's creation time, from its JSON row (``->>`` gives text on PostgreSQL)."""
_NO_CHANGES = OutboxChanges()
_NO_BIRTHS: Mapping[str, int] = {}
WAL_BOUND = 16 * 1024 * 1024
"""Past this size, the write-ahead log is checkpointed after a commit and restarted, waiting for readers
that hold an older snapshot (the follower's read-ahead reads while a batch commits, and SQLite's own
checkpoint at the commit can then neither finish nor restart the log: it grew to ~140 MB in 100,000
blocks). A reader's wait is short: its reads are one batch's lookups."""
CACHE_SIZE = -32 * 1024
"""SQLite's page cache of each connection :meth:`Store.open` makes, in KiB (negative: a size, not pages).
SQLite's default, 2 MB, held a sliver of a 40 MB store: each batch's ~10,000 counted pairs and comments
went into B-trees read again from the OS at each page; with 32 MB the commit of the catch-up benchmark
fell by ~0.6 s per 20,000 blocks. The cost: memory, bounded, up to 32 MB per connection (the daemon's
follower has two: the process's peak rose ~30 MB at 20,000 blocks, ~50 MB at 100,000)."""
PAID_OUT_MEMORY = 30 * 86_400
"""How long after its creation a paid-out comment's creation time is kept (votes on older ones are rare: a
vote on one costs a lookup). Bounded by disk, not memory: nothing of it is held by the process."""
REPLY_TEXT_MEMORY = 30 * 86_400
"""How long, in chain time after its last change, a reply's text is kept. Edits come mostly within hours of
the reply (the fix of a typo, a change of mind); an edit sent as a patch later than this costs a node call,
and if the reply was deleted meanwhile, its STOP or START is not read."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The last block whose effects are in the store."""

    block_num: int
    block_id: str
    block_time: int


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the counting rules need from the store for one batch (see :func:`bot.tallies.count_blocks`),
    as of ``checkpoint`` (``None``: an empty store)."""

    checkpoint: Checkpoint | None
    comment_times: dict[CommentKey, int]
    counted_votes: set[CountedVote]

    def redone(self, stale: Set[CommentKey], fresh: Lookups) -> Lookups:
        """These facts, those about the ``stale`` comments replaced by ``fresh`` ones (read for them only)."""
        return Lookups(
            fresh.checkpoint,
            {key: t for key, t in self.comment_times.items() if key not in stale} | fresh.comment_times,
            {pair for pair in self.counted_votes if pair[0] not in stale} | fresh.counted_votes,
        )


class Store:
    """One open store. Open with :meth:`open`; the constructor does no I/O."""

    def __init__(self, db: Database, location: Location, terms: Terms | None = None) -> None:
        self._db = db
        self.location = location
        self._terms = terms
        self._ladders = counts.Ladders()  # the ranking's seek table, read again when the store changed

    @classmethod
    def open(
        cls,
        location: Location,
        *,
        create: bool = True,
        holding: Holding | None = None,
        terms: Terms | None = None,
        purpose: str = "store",
    ) -> Store:
        """Open and upgrade the store at ``location``; with ``create``, make it if missing (an SQLite file
        and a private directory; on PostgreSQL the schema, in an empty database). With ``holding`` and its
        ``terms`` (a PostgreSQL ``run`` process), every write transaction is fenced by the lease, and the
        connection's statements and idle transactions are bounded so that none outlives a takeover
        (:mod:`bot.lease`, :func:`bot.db.connect_postgres`). ``purpose`` names the connection on the server
        (``pg_stat_activity``)."""
        if isinstance(location, PostgresUrl):
            return cls._open_postgres(location, create=create, holding=holding, terms=terms, purpose=purpose)
        return cls._open_sqlite(location, create=create)

    @classmethod
    def _open_sqlite(cls, path: Path, *, create: bool) -> Store:
        if not create and not path.exists():
            raise _no_store(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        new = not path.exists()
        try:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if new:  # the bot's business only: not for other users (SQLite's -wal and -shm files follow it)
                path.chmod(0o600)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the bot's store: {exc}") from exc
        store = cls(SqliteDatabase(connection, path), path)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA busy_timeout = 5000")
            connection.execute(f"PRAGMA cache_size = {CACHE_SIZE}")
            store._upgrade()
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise StoreError(f"{path}: cannot be used as the bot's store: {exc}") from exc
        except StoreError:
            connection.close()
            raise
        return store

    @classmethod
    def _open_postgres(
        cls, url: PostgresUrl, *, create: bool, holding: Holding | None, terms: Terms | None, purpose: str
    ) -> Store:
        db = open_postgres(url, purpose=purpose, holding=holding, terms=terms)
        store = cls(db, url, terms)
        try:
            if not create and store._schema_version() == 0:
                raise _no_store(url)
            store._upgrade()
        except psycopg.Error as exc:
            db.close()
            raise StoreError(f"{url}: cannot be used as the bot's store: {exc}") from exc
        except StoreError:
            db.close()
            raise
        return store

    @classmethod
    def open_read_only(cls, location: Location) -> Store:
        """Open the store at ``location`` for reading only (SQLite ``mode=ro``; a PostgreSQL session whose
        transactions are read-only), as the web pages do: never created, never upgraded; a store of another
        schema version is refused (run the bot, which upgrades it, or serve it with the bot's version that
        wrote it)."""
        if isinstance(location, PostgresUrl):
            store = cls(open_postgres(location, purpose="board", read_only=True), location)
        else:
            store = cls(_sqlite_read_only(location), location)
        try:
            version = store._schema_version()
        except (sqlite3.Error, psycopg.Error) as exc:
            store.close()
            raise StoreError(f"{location}: cannot be read as the bot's store: {exc}") from exc
        except StoreError:
            store.close()
            raise
        if version != SCHEMA_VERSION:
            store.close()
            if version == 0:
                raise _no_store(location)
            raise StoreVersionError(
                f"{location}: a store of schema {version}, and this bot reads schema {SCHEMA_VERSION}: "
                "run this version of the bot on it once, which upgrades it"
            )
        return store

    def close(self) -> None:
        self._db.close()

    def reopen(self, *, purpose: str = "store") -> Store:
        """Another connection to the same store (another thread's), fenced like this one."""
        holding = self._db.holding if isinstance(self._db, PostgresDatabase) else None
        return Store.open(self.location, create=False, holding=holding, terms=self._terms, purpose=purpose)

    def backup(self, target: Path) -> None:
        """Copy the store to ``target`` (a new file, private), consistent even while the bot writes. SQLite
        only: a PostgreSQL store is backed up with PostgreSQL's tools (README, "Operating it")."""
        if not isinstance(self._db, SqliteDatabase):
            raise StoreError(
                f"{self.location}: a PostgreSQL store is backed up with pg_dump or pg_basebackup "
                "(README, 'Operating it'), not with this command"
            )
        if target.exists():
            raise StoreError(f"{target}: already exists; give a new file name")
        try:
            with sqlite3.connect(target) as copy:
                target.chmod(0o600)
                self._db.connection.backup(copy)
            copy.close()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{target}: cannot write the backup: {exc}") from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------------

    def _upgrade(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION`. The version is read again under the write lock, so
        two processes opening a new store at once (the daemon and ``status``) cannot both create it. On
        PostgreSQL the upgrade is not fenced: it runs when a process opens the store, before it acts (and
        the lease's table is part of the schema it makes)."""
        if self._schema_version() == SCHEMA_VERSION:
            return
        with self._db.transaction(fenced=False):
            version = self._schema_version()
            if isinstance(self._db, PostgresDatabase):
                self._upgrade_postgres(version)
                return
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[target]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    def _upgrade_postgres(self, version: int) -> None:
        """The baseline schema in an empty database, then the migrations after it. Scripts of several
        statements, sent as they are (PostgreSQL's own dialect, no parameters)."""
        assert isinstance(self._db, PostgresDatabase)
        self._db.connection.execute(schema_pg.upgrade_script(version))

    def _schema_version(self) -> int:
        if isinstance(self._db, PostgresDatabase):
            row = self._db.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
            version = self._db.execute("SELECT version FROM schema_version").fetchone()[0] if row[0] else 0
        else:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{self.location}: written by a newer bot (schema {version}, this bot knows up to "
                f"{SCHEMA_VERSION}); upgrade the bot or use another store"
            )
        return int(version)

    # -- reads ----------------------------------------------------------------------------------

    def load_checkpoint(self) -> Checkpoint | None:
        row = self._db.execute("SELECT block_num, block_id, block_time FROM checkpoint").fetchone()
        return None if row is None else Checkpoint(*row)

    def load_comment_times(self, keys: Iterable[CommentKey]) -> dict[CommentKey, int]:
        """Creation times of those of ``keys`` the store remembers: comments that can still take votes, and
        those already paid out that the bot had to ask about in the last :data:`PAID_OUT_MEMORY` seconds."""
        found: dict[CommentKey, int] = {}
        wanted = set(keys)
        for table in ("comments", "paid_out_comments"):
            rows = _json_rows(
                self._db,
                f"{_WANTED_COMMENTS} SELECT coalesce(json_group_array(json_array(c.author, c.permlink, c.created)), '[]') "
                f"FROM {table} c JOIN wanted w ON c.author = w.author AND c.permlink = w.permlink",
                _json(sorted(wanted - found.keys())),
            )
            found.update({(author, permlink): created for author, permlink, created in rows})
        return found

    def load_lookups(self, keys: Iterable[CommentKey], pairs: Iterable[CountedVote]) -> Lookups:
        """The creation times of ``keys`` and the counted ones of ``pairs``, with the checkpoint they are as
        of: one read transaction, so that a batch committed meanwhile (by another connection) is in all of
        them or in none. Only pairs on remembered comments are looked for (a quarter of a batch's are on
        comments it creates)."""
        with self._db.snapshot():
            times = self.load_comment_times(keys)
            known = (pair for pair in pairs if pair[0] in times)  # a counted pair's comment is remembered
            return Lookups(self.load_checkpoint(), times, self.load_counted_votes(known))

    def load_reply_texts(self, keys: Iterable[CommentKey]) -> dict[CommentKey, str]:
        """The texts kept of those of ``keys`` that are replies to the bot's comments."""
        rows = self._db.execute(
            f"{_WANTED_COMMENTS} SELECT r.author, r.permlink, r.body FROM reply_texts r JOIN wanted w "
            "ON r.author = w.author AND r.permlink = w.permlink",
            (_json(sorted(set(keys))),),
        )
        return {(author, permlink): body for author, permlink, body in rows}

    def load_counted_votes(self, pairs: Iterable[CountedVote]) -> set[CountedVote]:
        """Those of ``pairs`` that were counted before."""
        rows = _json_rows(
            self._db,
            "WITH wanted(author, permlink, voter) AS "
            "(SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)) "
            "SELECT coalesce(json_group_array(json_array(w.author, w.permlink, w.voter)), '[]') FROM wanted w "
            "JOIN comments c ON c.author = w.author AND c.permlink = w.permlink "
            "JOIN counted_votes v ON v.comment_id = c.id AND v.voter = w.voter",
            _json([(author, permlink, voter) for (author, permlink), voter in pairs]),
        )
        return {((author, permlink), voter) for author, permlink, voter in rows}

    @property
    def outbox(self) -> Outbox:
        return Outbox(self._db)

    @property
    def baselines(self) -> Baselines:
        return Baselines(self._db)

    def load_counts_of(self, accounts: Iterable[str]) -> dict[str, dict[Metric, int]]:
        """The counts of those of ``accounts`` the store has."""
        return counts.load_counts_of(self._db, accounts)

    def load_counts(self, account: str) -> dict[Metric, int] | None:
        return counts.load_counts_of(self._db, [account]).get(account)

    def load_ranking(self, metric: Metric, limit: int | None) -> list[tuple[str, int]]:
        """Accounts by ``metric``, highest first (ties by name); ``limit=None`` for all."""
        return counts.load_ranking(self._db, metric, limit)

    def load_ranking_page(self, metric: Metric, limit: int, offset: int) -> list[counts.RankedRow]:
        """A page of the ranking by ``metric``, with ranks (see :func:`bot.counts.load_ranking_page`)."""
        return counts.load_ranking_page(self._db, self._ladders, metric, limit, offset)

    def load_position(self, metric: Metric, account: str) -> int | None:
        """Where ``account`` stands in the ranking by ``metric`` (0: the top); ``None``: not in it."""
        return counts.load_position(self._db, self._ladders, metric, account)

    def load_ranked_total(self, metric: Metric) -> int:
        """How many accounts the ranking by ``metric`` holds (a count > 0)."""
        return counts.load_ranked_total(self._db, self._ladders, metric)

    def load_summary(self) -> dict[str, int]:
        """Sizes for ``status``: accounts tracked, comments and pairs remembered, bytes on disk."""
        one = self._db.execute
        return {
            "accounts": one("SELECT count(*) FROM counts").fetchone()[0],
            "comments_remembered": one("SELECT count(*) FROM comments").fetchone()[0],
            "votes_remembered": one("SELECT count(*) FROM counted_votes").fetchone()[0],
            "bytes": self._db.size(),
        }

    # -- the one write --------------------------------------------------------------------------

    def commit_batch(
        self,
        tally: Tally,
        learned: Mapping[CommentKey, int],
        checkpoint: Checkpoint,
        changes: OutboxChanges = _NO_CHANGES,
        *,
        first: Checkpoint | None = None,
        with_baselines: bool = False,
        births: Mapping[str, int] = _NO_BIRTHS,
    ) -> BatchPlan:
        """Apply ``tally``, remember ``learned`` creation times, record what ``changes`` mean for the
        outbox, move the checkpoint: one transaction. What to write is decided by :mod:`bot.plan` from
        facts read in this transaction; this method only reads and writes. Returns the plan written.

        ``checkpoint`` must follow the stored one (its block number is greater), so a batch cannot be
        applied twice. The store's first batch records where live counting starts (``first``, its first
        block). With ``with_baselines`` (``bootstrap: history``) the accounts the batch counts get a baseline
        to compute, only accounts whose baseline is done may earn badges, and pairs straddling the start
        are settled with the baselines (see :mod:`bot.baselines`). ``births`` are creation times of
        accounts learned for the batch; with the birthday family on, the days the batch begins earn the
        birthdays of the accounts the store has births of (:mod:`bot.births`).
        """
        with self._db.transaction():
            current = self.load_checkpoint()
            if current is not None and checkpoint.block_num <= current.block_num:
                raise StoreError(
                    f"{self.location}: refusing to commit block {checkpoint.block_num}: "
                    f"the store is already at block {current.block_num}"
                )
            if current is None:
                start = first or checkpoint
                baselines.record_live_start(self._db, start.block_num, start.block_time)
            birthdays = self._birthdays(current, first or checkpoint, checkpoint, births, changes.rules)
            counted = plan_counts(
                tally,
                self._load_counts_view(tally, with_baselines),
                changes.rules,
                with_baselines=with_baselines,
            )
            accounts = {badge.account for badge in (*counted.crossings, *(day.badge for day in birthdays))}
            known = outbox.load_view(
                self._db, accounts | changes.opt_commands.keys() | changes.digests.keys()
            )
            plan = plan_batch(
                counted, tally, changes, known, checkpoint.block_num, checkpoint.block_time, birthdays
            )
            self._write_counts(tally, learned, plan.counts, changes.reply_texts, checkpoint.block_time)
            baselines.mark_live(self._db, counted.live_sides)
            baselines.queue_baselines(self._db, counted.queue, checkpoint.block_num)
            outbox.write_batch(self._db, plan)
            self._db.execute(
                "INSERT INTO checkpoint (id, block_num, block_id, block_time) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET block_num = excluded.block_num, "
                "block_id = excluded.block_id, block_time = excluded.block_time",
                (checkpoint.block_num, checkpoint.block_id, checkpoint.block_time),
            )
        if isinstance(self._db, SqliteDatabase) and _wal_size(self._db.path) > WAL_BOUND:
            self._db.execute("PRAGMA wal_checkpoint(RESTART)")
        return plan

    def _birthdays(
        self,
        current: Checkpoint | None,
        first: Checkpoint,
        last: Checkpoint,
        learned: Mapping[str, int],
        rules: BadgeRules | None,
    ) -> list[Birthday]:
        """Remember ``learned`` births; with the birthday family on, the birthdays of the days that begin
        after the stored checkpoint's time (the first batch: from its first block's, included) and by the
        batch's last block's."""
        births.remember_births(self._db, learned)
        if rules is None or not rules.birthday:
            return []
        since = first.block_time - 1 if current is None else current.block_time
        return births.find_stored_birthdays(self._db, since, last.block_time)

    def load_missing_births(self, accounts: Iterable[str]) -> set[str]:
        """Those of ``accounts`` whose creation time the store does not have (to ask of a node, once)."""
        return births.load_missing_births(self._db, accounts)

    def _load_counts_view(self, tally: Tally, with_baselines: bool) -> CountsView:
        """What :func:`bot.plan.plan_counts` needs to know, for the accounts ``tally`` counts."""
        accounts = {account for account, _ in tally.increments}
        return CountsView(
            before=self.load_counts_of(accounts),
            baseline_sides=baselines.load_baseline_sides(self._db, seam_sides(tally.seam_pairs)),
            done=baselines.load_done(self._db, accounts) if with_baselines else None,
        )

    def _write_counts(
        self,
        tally: Tally,
        learned: Mapping[CommentKey, int],
        counted: CountPlan,
        reply_texts: Mapping[CommentKey, str | None],
        block_time: int,
    ) -> None:
        """The counts, and what the counting rules must remember (or may forget) after the batch."""
        cutoff = block_time - PAYOUT_WINDOW
        self._keep_reply_texts(reply_texts, block_time)
        self._forget(tally.deleted)
        self._remember_comments({**learned, **tally.created}, cutoff)
        self._remember_votes(tally.counted_votes)
        counts.add_counts(self._db, counted.increments)
        self._prune(cutoff)

    def _forget(self, keys: Iterable[CommentKey]) -> None:
        for author, permlink in keys:
            self._db.execute(
                "DELETE FROM counted_votes WHERE comment_id = "
                "(SELECT id FROM comments WHERE author = ? AND permlink = ?)",
                (author, permlink),
            )
            self._db.execute("DELETE FROM comments WHERE author = ? AND permlink = ?", (author, permlink))
            self._db.execute("DELETE FROM reply_texts WHERE author = ? AND permlink = ?", (author, permlink))

    def _keep_reply_texts(self, texts: Mapping[CommentKey, str | None], changed: int) -> None:
        """Keep the replies' texts (None: forget the reply's), changed at chain time ``changed``."""
        self._db.executemany(
            "INSERT INTO reply_texts (author, permlink, body, changed) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (author, permlink) DO UPDATE SET body = excluded.body, changed = excluded.changed",
            [
                (author, permlink, text, changed)
                for (author, permlink), text in texts.items()
                if text is not None
            ],
        )
        self._db.executemany(
            "DELETE FROM reply_texts WHERE author = ? AND permlink = ?",
            [key for key, text in texts.items() if text is None],
        )

    def _remember_comments(self, created: Mapping[CommentKey, int], cutoff: int) -> None:
        """Comments that can still take votes go with their counted votes; those already paid out (asked
        about because a vote named them) are kept apart, for :data:`PAID_OUT_MEMORY` seconds. One statement
        each (see :meth:`_remember_votes`)."""
        rows = _json([(author, permlink, time) for (author, permlink), time in created.items()])
        self._db.execute(
            "INSERT INTO comments (author, permlink, created) "
            f"SELECT value ->> 0, value ->> 1, {_CREATED} FROM json_each(?) WHERE {_CREATED} > ? "
            "ON CONFLICT (author, permlink) DO UPDATE SET created = excluded.created",
            (rows, cutoff),
        )
        self._db.execute(
            "INSERT INTO paid_out_comments (author, permlink, created) "
            f"SELECT value ->> 0, value ->> 1, {_CREATED} FROM json_each(?) WHERE {_CREATED} <= ? "
            "ON CONFLICT (author, permlink) DO UPDATE SET created = excluded.created",
            (rows, cutoff),
        )

    def _remember_votes(self, pairs: Iterable[CountedVote]) -> None:
        """Remember the pairs whose comment is remembered (the others' comments are already paid out).
        One statement, the comments' ids joined in SQLite: a statement per row, or a row read back per
        comment, hands Python's GIL over at each one, and the read-ahead thread makes each hand-over wait."""
        self._db.execute(
            "INSERT INTO counted_votes (comment_id, voter) "
            "SELECT c.id, value ->> 2 FROM json_each(?) "
            "JOIN comments c ON c.author = value ->> 0 AND c.permlink = value ->> 1 ON CONFLICT DO NOTHING",
            (_json([(author, permlink, voter) for (author, permlink), voter in pairs]),),
        )

    def _prune(self, cutoff: int) -> None:
        self._db.execute(
            "DELETE FROM counted_votes WHERE comment_id IN (SELECT id FROM comments WHERE created <= ?)",
            (cutoff,),
        )
        self._db.execute("DELETE FROM comments WHERE created <= ?", (cutoff,))
        self._db.execute(
            "DELETE FROM paid_out_comments WHERE created <= ?", (cutoff + PAYOUT_WINDOW - PAID_OUT_MEMORY,)
        )
        self._db.execute(
            "DELETE FROM reply_texts WHERE changed <= ?", (cutoff + PAYOUT_WINDOW - REPLY_TEXT_MEMORY,)
        )


@contextmanager
def lock_store(path: Location) -> Iterator[None]:
    """Hold the store's lock file (``<store>.lock``) so that two daemons never run on one SQLite store. A
    PostgreSQL store has no lock file: there the lease decides which ``run`` process acts
    (:mod:`bot.lease`), and the writer lock serializes every write (:data:`bot.db.WRITER_LOCK`)."""
    if isinstance(path, PostgresUrl):
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.with_name(path.name + ".lock").open("a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreLockedError(f"{path}: another hive-badge-bot is running on this store") from None
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _json_rows(db: Database, query: str, parameter: str) -> list[Any]:
    """The rows of ``query``, which aggregates them into one JSON array (``json_group_array``): one row to
    step through, not thousands. SQLite hands Python's GIL over at each row, and with the read-ahead
    thread at work each hand-over waits (~4,600 rows a batch)."""
    (text,) = db.execute(query, (parameter,)).fetchone()
    rows: list[Any] = _ROWS.decode(text)
    return rows


_ROWS = msgspec.json.Decoder(list[Any])


def _json(items: Iterable[object]) -> str:
    """``items`` as a JSON array, for one parameter: msgspec encodes a batch's ~10,000 keys in a third of
    the time ``json.dumps`` takes, with Python's GIL held either way."""
    return msgspec.json.encode(list(items)).decode()


def _wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _no_store(location: Location) -> StoreError:
    return StoreError(f"{location}: no store there yet (run the bot first, or check 'store' in the config)")


def _sqlite_read_only(path: Path) -> SqliteDatabase:
    if not path.exists():
        raise _no_store(path)
    try:
        connection = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA busy_timeout = 5000")
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot be read as the bot's store: {exc}") from exc
    return SqliteDatabase(connection, path)


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script``, one at a time (a trigger's body holds ';' too), to run inside the
    migration's transaction (``executescript`` would commit first)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                yield statement
            statement = ""
