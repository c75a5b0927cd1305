"""The store's schema, every table in one place, as the migrations that build it.

Each migration takes the store from the version before it (``PRAGMA user_version``) to its own; the store
applies them on open (:meth:`bot.store.Store.open`). A migration is never edited once released: a change
is a new one. Which module reads and writes each table:

- :mod:`bot.counts`: ``counts``, ``ranking_counts``, ``ranking_prefixes`` (the last two written by
  triggers on ``counts`` only);
- :mod:`bot.store`: ``checkpoint``, ``comments``, ``counted_votes``, ``paid_out_comments``,
  ``reply_texts``, ``births``;
- :mod:`bot.outbox`: ``badges``, ``notifications``, ``optouts``, ``optout_families``, ``mutes``,
  ``preferences``, ``root_posts``;
- :mod:`bot.baselines`: ``live_start``, ``baselines``, ``baseline_seen``, ``seam_votes``,
  ``baseline_unconfirmed``.
"""

from __future__ import annotations

SCHEMA_VERSION = 14


def _ranking_migration(columns: tuple[str, ...]) -> str:
    """Migration 8: the tables, their filling from ``counts``, and for each metric's column the triggers
    that keep them. (The columns are literals here, as in migration 1, never data.)"""
    tables = """
        CREATE TABLE ranking_counts (
            metric TEXT NOT NULL,
            n INTEGER NOT NULL,
            accounts INTEGER NOT NULL,
            PRIMARY KEY (metric, n)
        ) WITHOUT ROWID;
        CREATE TABLE ranking_prefixes (
            metric TEXT NOT NULL,
            n INTEGER NOT NULL,
            prefix TEXT NOT NULL,
            accounts INTEGER NOT NULL,
            PRIMARY KEY (metric, n, prefix)
        ) WITHOUT ROWID;
    """
    return tables + "".join(_ranking_of(column) for column in columns)


def _ranking_of(c: str) -> str:
    def enter(row: str) -> str:
        return f"""
            INSERT INTO ranking_counts VALUES ('{c}', {row}.{c}, 1)
                ON CONFLICT DO UPDATE SET accounts = accounts + 1;
            INSERT INTO ranking_prefixes VALUES ('{c}', {row}.{c}, substr({row}.account, 1, 2), 1)
                ON CONFLICT DO UPDATE SET accounts = accounts + 1;"""

    def leave(row: str) -> str:
        return f"""
            UPDATE ranking_counts SET accounts = accounts - 1 WHERE metric = '{c}' AND n = {row}.{c};
            DELETE FROM ranking_counts WHERE metric = '{c}' AND n = {row}.{c} AND accounts = 0;
            UPDATE ranking_prefixes SET accounts = accounts - 1
                WHERE metric = '{c}' AND n = {row}.{c} AND prefix = substr({row}.account, 1, 2);
            DELETE FROM ranking_prefixes
                WHERE metric = '{c}' AND n = {row}.{c} AND prefix = substr({row}.account, 1, 2) AND accounts = 0;"""

    changed = f"(new.{c} <> old.{c} OR new.account <> old.account)"
    return f"""
        INSERT INTO ranking_counts SELECT '{c}', {c}, count(*) FROM counts WHERE {c} > 0 GROUP BY {c};
        INSERT INTO ranking_prefixes SELECT '{c}', {c}, substr(account, 1, 2), count(*) FROM counts
            WHERE {c} > 0 GROUP BY {c}, substr(account, 1, 2);
        CREATE TRIGGER ranking_insert_{c} AFTER INSERT ON counts WHEN new.{c} > 0 BEGIN{enter("new")}
        END;
        CREATE TRIGGER ranking_delete_{c} AFTER DELETE ON counts WHEN old.{c} > 0 BEGIN{leave("old")}
        END;
        CREATE TRIGGER ranking_leave_{c} AFTER UPDATE OF {c}, account ON counts
            WHEN old.{c} > 0 AND {changed} BEGIN{leave("old")}
        END;
        CREATE TRIGGER ranking_enter_{c} AFTER UPDATE OF {c}, account ON counts
            WHEN new.{c} > 0 AND {changed} BEGIN{enter("new")}
        END;
    """


_MANNERS = """
    CREATE TABLE optout_families (
        account TEXT NOT NULL,
        family TEXT NOT NULL,
        block_num INTEGER,
        source TEXT NOT NULL,
        PRIMARY KEY (account, family)
    ) WITHOUT ROWID;
    CREATE TABLE mutes (
        account TEXT PRIMARY KEY,
        muted INTEGER NOT NULL,
        block_num INTEGER,
        source TEXT NOT NULL
    ) WITHOUT ROWID;
"""
"""Migration 10, the same on PostgreSQL but for its types (:mod:`bot.schema_pg`)."""

MIGRATIONS: dict[int, str] = {
    1: """
        CREATE TABLE checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            block_num INTEGER NOT NULL,
            block_id TEXT NOT NULL,
            block_time INTEGER NOT NULL
        );
        CREATE TABLE counts (
            account TEXT PRIMARY KEY,
            upvotes_received INTEGER NOT NULL DEFAULT 0,
            upvotes_given INTEGER NOT NULL DEFAULT 0,
            posts INTEGER NOT NULL DEFAULT 0,
            comments INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            author TEXT NOT NULL,
            permlink TEXT NOT NULL,
            created INTEGER NOT NULL,
            UNIQUE (author, permlink)
        );
        CREATE INDEX comments_by_created ON comments (created);
        CREATE TABLE counted_votes (
            comment_id INTEGER NOT NULL,
            voter TEXT NOT NULL,
            PRIMARY KEY (comment_id, voter)
        ) WITHOUT ROWID;
    """,
    2: """
        CREATE TABLE badges (
            account TEXT NOT NULL,
            metric TEXT NOT NULL,
            threshold INTEGER NOT NULL,
            block_num INTEGER NOT NULL,
            block_time INTEGER NOT NULL,
            notification_id INTEGER REFERENCES notifications (id),
            silence TEXT,
            PRIMARY KEY (account, metric, threshold)
        ) WITHOUT ROWID;
        CREATE INDEX badges_by_notification ON badges (notification_id);
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            permlink TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            not_before INTEGER NOT NULL,
            created_block INTEGER NOT NULL,
            parent_author TEXT,
            parent_permlink TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sent_time INTEGER,
            delivered_block INTEGER
        );
        CREATE INDEX notifications_by_state ON notifications (state, not_before);
        CREATE INDEX notifications_by_account ON notifications (account);
        CREATE UNIQUE INDEX notifications_open ON notifications (account) WHERE state IN ('waiting', 'no_post');
        CREATE TABLE optouts (
            account TEXT PRIMARY KEY,
            block_num INTEGER,
            source TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE root_posts (
            account TEXT PRIMARY KEY,
            permlink TEXT NOT NULL,
            created INTEGER NOT NULL
        ) WITHOUT ROWID;
    """,
    # baselines (bot.baselines)
    3: """
    CREATE TABLE live_start (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        block_num INTEGER NOT NULL,
        block_time INTEGER NOT NULL
    );
    CREATE TABLE baselines (
        account TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        queued_block INTEGER NOT NULL,
        next_start INTEGER,
        carry TEXT,
        pages INTEGER NOT NULL DEFAULT 0,
        entries INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        upvotes_received INTEGER NOT NULL DEFAULT 0,
        upvotes_given INTEGER NOT NULL DEFAULT 0,
        posts INTEGER NOT NULL DEFAULT 0,
        comments INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX baselines_by_state ON baselines (state, queued_block);
    CREATE TABLE baseline_seen (
        account TEXT NOT NULL,
        kind TEXT NOT NULL,
        k1 TEXT NOT NULL,
        k2 TEXT NOT NULL,
        PRIMARY KEY (account, kind, k1, k2)
    ) WITHOUT ROWID;
    CREATE TABLE seam_votes (
        author TEXT NOT NULL,
        permlink TEXT NOT NULL,
        voter TEXT NOT NULL,
        side TEXT NOT NULL,
        origin TEXT NOT NULL,
        PRIMARY KEY (author, permlink, voter, side)
    ) WITHOUT ROWID;
""",
    4: """
        CREATE TABLE paid_out_comments (
            author TEXT NOT NULL,
            permlink TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (author, permlink)
        ) WITHOUT ROWID;
        CREATE INDEX paid_out_by_created ON paid_out_comments (created);
    """,
    5: """
        CREATE TABLE reply_texts (
            author TEXT NOT NULL,
            permlink TEXT NOT NULL,
            body TEXT NOT NULL,
            changed INTEGER NOT NULL,
            PRIMARY KEY (author, permlink)
        ) WITHOUT ROWID;
        CREATE INDEX reply_texts_by_changed ON reply_texts (changed);
    """,
    # upvotes before HF24 set aside until the history shows whether its node emits effective operations
    # that old (bot.baselines.Baselines._settle_unconfirmed)
    6: """
    ALTER TABLE baselines ADD COLUMN effective_before_hf24 INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE baseline_unconfirmed (
        account TEXT NOT NULL,
        side TEXT NOT NULL,
        author TEXT NOT NULL,
        permlink TEXT NOT NULL,
        voter TEXT NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (account, side, author, permlink, voter)
    ) WITHOUT ROWID;
""",
    # the ranking per metric (bot.counts.load_ranking_page): an index walked in order, never a sort. Whole,
    # not partial (WHERE n > 0): SQLite plans a bound parameter (n > ?) on a partial index by its own
    # n > 0 only, so counting the accounts above a count walked every ranked account
    7: """
        CREATE INDEX counts_by_upvotes_received ON counts (upvotes_received DESC, account);
        CREATE INDEX counts_by_upvotes_given ON counts (upvotes_given DESC, account);
        CREATE INDEX counts_by_posts ON counts (posts DESC, account);
        CREATE INDEX counts_by_comments ON counts (comments DESC, account);
    """,
    # where a ranking page starts (bot.counts.load_ranking_page): how many accounts have each count, and
    # each count's accounts by the first two characters of their names, kept by triggers in the
    # transaction that changes a count, so an offset maps to (count, prefix, a short skip) and a deep
    # page never walks the accounts above it
    8: _ranking_migration(("upvotes_received", "upvotes_given", "posts", "comments")),
    # the estimate of the history entries each baseline still has to read, after its last page (None: not
    # begun), for the order of the backlog and its time to done (bot.backlog)
    9: """
        ALTER TABLE baselines ADD COLUMN entries_left INTEGER;
    """,
    # replies received (Metric.REPLIES): a count, a baseline's share of it, and its ranking as migrations 7
    # and 8 made the others' (no count is above 0 yet: the ranking's tables get no row)
    10: """
        ALTER TABLE counts ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE baselines ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX counts_by_replies ON counts (replies DESC, account);
    """
    + _ranking_of("replies"),
    # manners (bot.outbox): opt-outs of some families (``optouts`` keeps meaning every family), and what the
    # bot knows of each account's mute of it (a row: known, from the blocks or asked of a node once)
    11: _MANNERS,
    # digests (bot.outbox): the accounts on one, and when they chose it (a row only while on one)
    12: """
        CREATE TABLE preferences (
            account TEXT PRIMARY KEY,
            digest TEXT NOT NULL,
            block_num INTEGER NOT NULL,
            block_time INTEGER NOT NULL
        ) WITHOUT ROWID;
    """,
    # Hive birthdays (bot.birthdays): each met account's creation time, asked of a node once, and its
    # birthday (month * 100 + day), indexed: a day's accounts are one index range
    13: """
        CREATE TABLE births (
            account TEXT PRIMARY KEY,
            created INTEGER NOT NULL,
            birthday INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX births_by_birthday ON births (birthday);
    """,
    # payouts received (Metric.PAYOUT, in 0.001 HP): a count, a baseline's share of it, and its ranking as
    # migration 10 made replies'
    14: """
        ALTER TABLE counts ADD COLUMN payout INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE baselines ADD COLUMN payout INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX counts_by_payout ON counts (payout DESC, account);
    """
    + _ranking_of("payout"),
}
