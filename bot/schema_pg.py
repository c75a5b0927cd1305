"""The store's schema on PostgreSQL: what :mod:`bot.schema`'s migrations 1–9 build on SQLite, as one baseline.

A PostgreSQL store starts at schema 9 (:data:`BASELINE`), never replaying 1–8: there are no PostgreSQL
stores older than it. The rule from here on: every later migration is written in both dialects (here and in
:mod:`bot.schema`), and ``tests/store/test_schema_pg.py`` compares the two schemas table by table, column by
column and index by index (the ranking's triggers by what they do, below), so neither can drift.
PostgreSQL has no ``PRAGMA user_version``: the version is the one row of ``schema_version``.

The translation, choice by choice:

- **Integers are BIGINT**, all of them: block numbers, times, counts, ids, and the one-row tables' ``id = 1``
  too. SQLite's INTEGER holds 64 bits, and a 32-bit INTEGER here would overflow on times in 2038; one rule
  costs four bytes a column and leaves no reader to wonder.
- **``comments.id`` and ``notifications.id``** (SQLite's rowid aliases, numbered on insert) are ``GENERATED
  BY DEFAULT AS IDENTITY``: numbered on insert the same way, and a copy of an SQLite store may still write
  its own ids (then the sequence must be moved past them, ``setval``).
- **``baselines.effective_before_hf24`` is BOOLEAN** (SQLite's 0/1): its writer passes a Python ``bool``
  (:mod:`bot.baselines`), which psycopg sends as a boolean that a BIGINT column refuses, and its reader
  takes ``bool(...)`` of it. A copy from SQLite converts the 0/1.
- **Text is ``TEXT COLLATE "C"``**: byte order, as SQLite's BINARY collation compares, whatever the
  database's locale. Under a linguistic locale ``c-d`` would sort after ``cd`` (punctuation ignored) and the
  ranking's ties and pages (ordered by account) would differ from SQLite's.
- **``WITHOUT ROWID`` has no equivalent** and needs none: PostgreSQL has no rowid, and every primary key is
  an index (``<table>_pkey``).
- **The foreign key** ``badges.notification_id → notifications.id`` is enforced here (SQLite's is declared
  only: the bot never turns ``PRAGMA foreign_keys`` on); the bot already keeps it (:mod:`bot.outbox` moves a
  badge before it deletes its notification), and a copy must write notifications before badges.
- **The ranking's tables are kept by three statement triggers**, not by migration 8's four row triggers
  per metric: after each INSERT, UPDATE or DELETE of ``counts``, one PL/pgSQL function reads the
  statement's transition tables (its old and new rows), sums the places they leave (-1) and enter (+1) per
  ``(metric, count, prefix)``, adds the net change to the tables and deletes a place left empty. The same
  tables as SQLite's row triggers leave, proven by ``tests/store/test_schema_pg.py`` under hypothesis-driven
  changes. Why not SQLite's twins: row by row, PostgreSQL ran six statements in PL/pgSQL per account and
  metric a batch changed, and each left a new version of the same few hot rows (the accounts sharing a
  small count) for the next to walk past; they were two thirds of :func:`bot.counts.add_counts`' time and
  most of a catch-up's commit on PostgreSQL (``benchmarks/catchup.py``; README, *Catching up: the
  benchmark*). ``substr(account, 1, 2)`` is ``left(account, 2)``. A trigger with transition tables cannot
  name columns, so any UPDATE of ``counts`` fires it; a row whose counts did not change enters where it
  left and adds nothing.
  The baseline has no ``counts`` to fill them from, unlike migration 8.

One table is PostgreSQL's only: ``lease`` (one row), with the function ``lease_fence`` every write
transaction of the active process calls first (:mod:`bot.lease` says why). An SQLite store has one process
by construction (its lock file) and needs neither. They belong to the baseline: no PostgreSQL store exists
without them.
"""

from __future__ import annotations

from bot.lease import FENCE_FAILED
from bot.schema import SCHEMA_VERSION

BASELINE = 9
"""The schema version PostgreSQL stores start at."""
RANKED = ("upvotes_received", "upvotes_given", "posts", "comments")
"""The ``counts`` columns the ranking tables follow at :data:`BASELINE` (migration 8's); later migrations
add theirs (10: ``replies``, 14: ``payout``)."""

_TABLES = """
    CREATE TABLE schema_version (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        version BIGINT NOT NULL
    );
    CREATE TABLE checkpoint (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        block_num BIGINT NOT NULL,
        block_id TEXT COLLATE "C" NOT NULL,
        block_time BIGINT NOT NULL
    );
    CREATE TABLE counts (
        account TEXT COLLATE "C" PRIMARY KEY,
        upvotes_received BIGINT NOT NULL DEFAULT 0,
        upvotes_given BIGINT NOT NULL DEFAULT 0,
        posts BIGINT NOT NULL DEFAULT 0,
        comments BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX counts_by_upvotes_received ON counts (upvotes_received DESC, account);
    CREATE INDEX counts_by_upvotes_given ON counts (upvotes_given DESC, account);
    CREATE INDEX counts_by_posts ON counts (posts DESC, account);
    CREATE INDEX counts_by_comments ON counts (comments DESC, account);
    CREATE TABLE ranking_counts (
        metric TEXT COLLATE "C" NOT NULL,
        n BIGINT NOT NULL,
        accounts BIGINT NOT NULL,
        PRIMARY KEY (metric, n)
    );
    CREATE TABLE ranking_prefixes (
        metric TEXT COLLATE "C" NOT NULL,
        n BIGINT NOT NULL,
        prefix TEXT COLLATE "C" NOT NULL,
        accounts BIGINT NOT NULL,
        PRIMARY KEY (metric, n, prefix)
    );
    CREATE TABLE comments (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        author TEXT COLLATE "C" NOT NULL,
        permlink TEXT COLLATE "C" NOT NULL,
        created BIGINT NOT NULL,
        UNIQUE (author, permlink)
    );
    CREATE INDEX comments_by_created ON comments (created);
    CREATE TABLE counted_votes (
        comment_id BIGINT NOT NULL,
        voter TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (comment_id, voter)
    );
    CREATE TABLE notifications (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account TEXT COLLATE "C" NOT NULL,
        permlink TEXT COLLATE "C" NOT NULL UNIQUE,
        state TEXT COLLATE "C" NOT NULL,
        not_before BIGINT NOT NULL,
        created_block BIGINT NOT NULL,
        parent_author TEXT COLLATE "C",
        parent_permlink TEXT COLLATE "C",
        attempts BIGINT NOT NULL DEFAULT 0,
        last_error TEXT COLLATE "C",
        sent_time BIGINT,
        delivered_block BIGINT
    );
    CREATE INDEX notifications_by_state ON notifications (state, not_before);
    CREATE INDEX notifications_by_account ON notifications (account);
    CREATE UNIQUE INDEX notifications_open ON notifications (account) WHERE state IN ('waiting', 'no_post');
    CREATE TABLE badges (
        account TEXT COLLATE "C" NOT NULL,
        metric TEXT COLLATE "C" NOT NULL,
        threshold BIGINT NOT NULL,
        block_num BIGINT NOT NULL,
        block_time BIGINT NOT NULL,
        notification_id BIGINT REFERENCES notifications (id),
        silence TEXT COLLATE "C",
        PRIMARY KEY (account, metric, threshold)
    );
    CREATE INDEX badges_by_notification ON badges (notification_id);
    CREATE TABLE optouts (
        account TEXT COLLATE "C" PRIMARY KEY,
        block_num BIGINT,
        source TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE root_posts (
        account TEXT COLLATE "C" PRIMARY KEY,
        permlink TEXT COLLATE "C" NOT NULL,
        created BIGINT NOT NULL
    );
    CREATE TABLE live_start (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        block_num BIGINT NOT NULL,
        block_time BIGINT NOT NULL
    );
    CREATE TABLE baselines (
        account TEXT COLLATE "C" PRIMARY KEY,
        state TEXT COLLATE "C" NOT NULL,
        queued_block BIGINT NOT NULL,
        next_start BIGINT,
        carry TEXT COLLATE "C",
        pages BIGINT NOT NULL DEFAULT 0,
        entries BIGINT NOT NULL DEFAULT 0,
        error TEXT COLLATE "C",
        upvotes_received BIGINT NOT NULL DEFAULT 0,
        upvotes_given BIGINT NOT NULL DEFAULT 0,
        posts BIGINT NOT NULL DEFAULT 0,
        comments BIGINT NOT NULL DEFAULT 0,
        effective_before_hf24 BOOLEAN NOT NULL DEFAULT false,
        entries_left BIGINT
    );
    CREATE INDEX baselines_by_state ON baselines (state, queued_block);
    CREATE TABLE baseline_seen (
        account TEXT COLLATE "C" NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        k1 TEXT COLLATE "C" NOT NULL,
        k2 TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account, kind, k1, k2)
    );
    CREATE TABLE seam_votes (
        author TEXT COLLATE "C" NOT NULL,
        permlink TEXT COLLATE "C" NOT NULL,
        voter TEXT COLLATE "C" NOT NULL,
        side TEXT COLLATE "C" NOT NULL,
        origin TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (author, permlink, voter, side)
    );
    CREATE TABLE paid_out_comments (
        author TEXT COLLATE "C" NOT NULL,
        permlink TEXT COLLATE "C" NOT NULL,
        created BIGINT NOT NULL,
        PRIMARY KEY (author, permlink)
    );
    CREATE INDEX paid_out_by_created ON paid_out_comments (created);
    CREATE TABLE reply_texts (
        author TEXT COLLATE "C" NOT NULL,
        permlink TEXT COLLATE "C" NOT NULL,
        body TEXT COLLATE "C" NOT NULL,
        changed BIGINT NOT NULL,
        PRIMARY KEY (author, permlink)
    );
    CREATE INDEX reply_texts_by_changed ON reply_texts (changed);
    CREATE TABLE baseline_unconfirmed (
        account TEXT COLLATE "C" NOT NULL,
        side TEXT COLLATE "C" NOT NULL,
        author TEXT COLLATE "C" NOT NULL,
        permlink TEXT COLLATE "C" NOT NULL,
        voter TEXT COLLATE "C" NOT NULL,
        time BIGINT NOT NULL,
        PRIMARY KEY (account, side, author, permlink, voter)
    );
"""


def _ranked_rows(ranked: tuple[str, ...]) -> str:
    """Each row of a transition table as its places in the rankings: one per metric with a count, +1 or -1."""
    return " UNION ALL ".join(
        f"SELECT '{c}' AS metric, {c} AS n, left(account, 2) AS prefix, {{sign}} AS d FROM {{rows}} WHERE {c} > 0"
        for c in ranked
    )


def _ranking_trigger(event: str, transition: dict[str, int], ranked: tuple[str, ...]) -> str:
    """The statement trigger after ``event`` on ``counts``: the ranking tables moved by the net change of
    the statement's rows (``transition``: each transition table, and the sign of its rows). A row updated
    without a change of a count leaves and enters the same place: it adds nothing. A place left empty is
    deleted; only a place some old row left can be."""
    name = f"ranking_{event.lower()}"
    referencing = " ".join(f"{table.split('_')[0].upper()} TABLE AS {table}" for table in transition)
    rows_of = _ranked_rows(ranked)
    moved = " UNION ALL ".join(rows_of.format(rows=rows, sign=sign) for rows, sign in transition.items())
    left = rows_of.format(rows="old_rows", sign=-1)
    emptied = f"""
        DELETE FROM ranking_prefixes p USING (SELECT DISTINCT metric, n, prefix FROM ({left}) r) o
            WHERE p.accounts = 0 AND p.metric = o.metric AND p.n = o.n AND p.prefix = o.prefix;
        DELETE FROM ranking_counts c USING (SELECT DISTINCT metric, n FROM ({left}) r) o
            WHERE c.accounts = 0 AND c.metric = o.metric AND c.n = o.n;"""
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        WITH moved AS (
            SELECT metric, n, prefix, sum(d) AS d FROM ({moved}) r
            GROUP BY metric, n, prefix HAVING sum(d) <> 0
        ), by_prefix AS (
            INSERT INTO ranking_prefixes AS p SELECT metric, n, prefix, d FROM moved
                ON CONFLICT (metric, n, prefix) DO UPDATE SET accounts = p.accounts + excluded.accounts
        )
        INSERT INTO ranking_counts AS c SELECT metric, n, sum(d) FROM moved GROUP BY metric, n HAVING sum(d) <> 0
            ON CONFLICT (metric, n) DO UPDATE SET accounts = c.accounts + excluded.accounts;{emptied if "old_rows" in transition else ""}
        RETURN NULL;
    END $$;
    CREATE TRIGGER {name} AFTER {event} ON counts REFERENCING {referencing}
        FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


def _ranking(ranked: tuple[str, ...]) -> str:
    """The ranking tables of the ``ranked`` columns kept as ``counts`` changes, by three statement triggers
    (see the module's docstring)."""
    return (
        _ranking_trigger("INSERT", {"new_rows": 1}, ranked)
        + _ranking_trigger("UPDATE", {"new_rows": 1, "old_rows": -1}, ranked)
        + _ranking_trigger("DELETE", {"old_rows": -1}, ranked)
    )


_NO_RANKING = "".join(f"DROP FUNCTION ranking_{event}() CASCADE;" for event in ("insert", "update", "delete"))
"""The three triggers and their functions dropped (CASCADE: the triggers), to make them again for more columns."""
_RANKING = _ranking(RANKED)


_LEASE = f"""
    CREATE TABLE lease (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        holder TEXT COLLATE "C" NOT NULL,
        token BIGINT NOT NULL,
        acquired_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE FUNCTION lease_fence(me TEXT, mine BIGINT) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM FROM lease
            WHERE id = 1 AND holder = me AND token = mine AND expires_at > clock_timestamp() FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION '{FENCE_FAILED}: % no longer holds the lease with token %', me, mine;
        END IF;
    END $$;
"""
"""The lease row (none until the first acquisition) and the fence that locks it ``FOR SHARE`` till the
transaction ends: a takeover's ``UPDATE`` waits for it (:mod:`bot.lease`)."""

BASELINE_SCHEMA = _TABLES + _LEASE + _RANKING + f"INSERT INTO schema_version VALUES (1, {BASELINE});"
"""The whole schema at :data:`BASELINE` and its version row, as one script for one transaction."""
MIGRATIONS: dict[int, str] = {
    # replies received (Metric.REPLIES): bot.schema's migration 10
    10: """
    ALTER TABLE counts ADD COLUMN replies BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE baselines ADD COLUMN replies BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX counts_by_replies ON counts (replies DESC, account);
"""
    + _NO_RANKING
    + _ranking((*RANKED, "replies")),
    # manners: bot.schema's migration 11
    11: """
        CREATE TABLE optout_families (
            account TEXT COLLATE "C" NOT NULL,
            family TEXT COLLATE "C" NOT NULL,
            block_num BIGINT,
            source TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (account, family)
        );
        CREATE TABLE mutes (
            account TEXT COLLATE "C" PRIMARY KEY,
            muted BIGINT NOT NULL,
            block_num BIGINT,
            source TEXT COLLATE "C" NOT NULL
        );
    """,
    # digests: bot.schema's migration 12
    12: """
        CREATE TABLE preferences (
            account TEXT COLLATE "C" PRIMARY KEY,
            digest TEXT COLLATE "C" NOT NULL,
            block_num BIGINT NOT NULL,
            block_time BIGINT NOT NULL
        );
    """,
    # Hive birthdays: bot.schema's migration 13
    13: """
        CREATE TABLE births (
            account TEXT COLLATE "C" PRIMARY KEY,
            created BIGINT NOT NULL,
            birthday BIGINT NOT NULL
        );
        CREATE INDEX births_by_birthday ON births (birthday);
    """,
    # payouts received (Metric.PAYOUT): bot.schema's migration 14
    14: """
    ALTER TABLE counts ADD COLUMN payout BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE baselines ADD COLUMN payout BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX counts_by_payout ON counts (payout DESC, account);
"""
    + _NO_RANKING
    + _ranking((*RANKED, "replies", "payout")),
}
"""Each later schema version's migration on PostgreSQL, by the version it reaches (above :data:`BASELINE`):
written with its SQLite twin in :mod:`bot.schema`, in the same change."""


def upgrade_script(version: int) -> str:
    """The script that takes a PostgreSQL store from ``version`` (0: an empty database) to
    :data:`bot.schema.SCHEMA_VERSION`, its version row too, to run in one transaction."""
    parts = [BASELINE_SCHEMA] if version == 0 else []
    parts += [MIGRATIONS[target] for target in range(max(version, BASELINE) + 1, SCHEMA_VERSION + 1)]
    return "".join(parts) + f"UPDATE schema_version SET version = {SCHEMA_VERSION};"
