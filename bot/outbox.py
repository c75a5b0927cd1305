"""The outbox: earned badges, the notifications announcing them, opt-outs, and each account's newest post.

Two writers share these tables, never at the same time (SQLite transactions):

- the follower, through :meth:`bot.store.Store.commit_batch`, which reads :func:`load_view` and writes
  :func:`write_batch` inside the transaction that moves the checkpoint: a badge and the notification
  announcing it are in the store before anything is sent, STOP and START take effect with the block that
  carried them, and a notification is *delivered* when the bot's comment is seen in an irreversible block.
  What to write is decided by :mod:`bot.plan`, not here: this module owns the tables (``badges``,
  ``notifications``, ``optouts``, ``optout_families``, ``mutes``, ``preferences``, ``root_posts``) and
  the notification states;
- the poster (:mod:`bot.poster`), through :class:`Outbox`, which marks a notification *sent* in its own
  commit before it broadcasts, so a crash between the broadcast and the next commit is remembered.

A notification's life::

    waiting ──▶ sent ──▶ delivered            (its comment seen in an irreversible block)
      │  ▲        │
      │  └────────┘  the broadcast failed, or its transaction expired unseen: try again later
      ├──▶ no_post ──▶ waiting                (no recent root post to reply to: wait for the next one)
      ├──▶ parked                             (max_attempts failed broadcasts; shown by ``status``)
      ├──▶ dropped                            (the account opted out or muted the bot first)
      └──▶ dry_run                            (dry-run: logged, never broadcast)

At most one notification per account is open (waiting or no_post): badges earned meanwhile join it.
An account that opts out of some families keeps its open notification for the others: the badges of the
families it left are taken out of it (recorded as silent, ``opted_out``), and a notification left with no
badge is dropped. A STOP of every family, or a mute, drops it whole. An account on a digest has its open
notification due later (:meth:`bot.plan.Pace.due`): choosing the digest or leaving it moves the due time
of the one waiting; a STOP or a mute drops it all the same.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bot.badges import Badge, EarnedBadge, Silence
from bot.db import Database
from bot.manners import Digest
from bot.metrics import Family, as_family
from bot.operations import CommentKey
from bot.optouts import Opt, OptCommand, OptState
from bot.plan import BatchPlan, NewNotification, OutboxView


class State(enum.StrEnum):
    WAITING = "waiting"
    NO_POST = "no_post"
    SENT = "sent"
    DELIVERED = "delivered"
    PARKED = "parked"
    DROPPED = "dropped"
    DRY_RUN = "dry_run"


_OPEN = (State.WAITING, State.NO_POST)
OPERATOR = "operator"
"""The source of an opt-out the operator made (``optout add``)."""


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    account: str
    permlink: str
    state: State
    not_before: int
    parent: CommentKey | None
    attempts: int
    last_error: str | None
    sent_time: int | None
    badges: tuple[Badge, ...]


@dataclass(frozen=True, slots=True)
class BadgeRecord:
    """A badge as the store keeps it: where it was earned, and what became of its announcement."""

    metric: Family
    threshold: int
    block_num: int
    block_time: int
    announced: str | None
    """The state of the notification announcing it (:class:`State`), or why it is silent
    (:class:`~bot.badges.Silence`)."""
    permlink: str | None


@dataclass(frozen=True, slots=True)
class Since:
    """Where an opt-out or a mute was learned: its block (None: not from a block — the operator's command,
    or a node asked) and its source: ``reply``, ``custom_json`` or ``operator`` for an opt-out, ``chain``
    or ``node`` for a mute."""

    block_num: int | None
    source: str


@dataclass(frozen=True, slots=True)
class Manners:
    """What an account told the bot: opted out of every family (``everything``), of some (``families``),
    muting the bot (``mute``); each with where it was learned. None: not so."""

    everything: Since | None = None
    families: Mapping[Family, Since] = field(default_factory=dict)
    mute: Since | None = None

    @property
    def opt_state(self) -> OptState:
        return OptState(self.everything is not None, frozenset(self.families))

    def notified(self, metric: Family) -> bool:
        """Whether the account hears of ``metric``'s badges now."""
        return self.mute is None and self.opt_state.wants(metric)

    def opt_out(self, metric: Family) -> Since | None:
        """Where the account's opt-out of ``metric`` was learned (of every family, or of it); None: none."""
        return self.everything or self.families.get(metric)


def load_view(db: Database, accounts: Iterable[str]) -> OutboxView:
    """What :func:`bot.plan.plan_batch` needs to know of ``accounts`` (those whose counts crossed a
    threshold in the batch): one statement, its three answers as one JSON text. (Three statements and their
    rows handed Python's GIL over at each, and the follower's read-ahead made each hand-over wait: ~25 ms a
    batch of ~200 accounts.)"""
    wanted = json.dumps(sorted(set(accounts)), ensure_ascii=False)
    if wanted == "[]":
        return OutboxView()
    (text,) = db.execute(_VIEW, (wanted, *_OPEN)).fetchone()
    opted_out, open_rows, sent_rows, family_rows, muted, digest_rows = _VIEW_ROWS.decode(text)
    stopped: dict[str, frozenset[Family]] = {}
    for account, family in family_rows:
        stopped[account] = stopped.get(account, frozenset()) | {as_family(family)}
    return OutboxView(
        frozenset(opted_out),
        stopped,
        frozenset(muted),
        {account: id_ for account, id_, _ in open_rows},
        dict(sent_rows),
        open_due={account: due for account, _, due in open_rows},
        digests=dict(digest_rows),
    )


_VIEW = (
    "WITH wanted(account) AS (SELECT value FROM json_each(?1)) SELECT json_array("
    "json((SELECT coalesce(json_group_array(account), '[]') FROM optouts "
    "WHERE account IN (SELECT account FROM wanted))), "
    "json((SELECT coalesce(json_group_array(json_array(account, id, not_before)), '[]') FROM notifications "
    "WHERE account IN (SELECT account FROM wanted) AND state IN (?2, ?3))), "
    "json((SELECT coalesce(json_group_array(json_array(account, sent)), '[]') FROM (SELECT account, "
    "max(sent_time) AS sent FROM notifications WHERE account IN (SELECT account FROM wanted) "
    "AND sent_time IS NOT NULL GROUP BY account) AS latest)), "
    "json((SELECT coalesce(json_group_array(json_array(account, family)), '[]') FROM optout_families "
    "WHERE account IN (SELECT account FROM wanted))), "
    "json((SELECT coalesce(json_group_array(account), '[]') FROM mutes "
    "WHERE muted = 1 AND account IN (SELECT account FROM wanted))), "
    "json((SELECT coalesce(json_group_array(json_array(account, block_time)), '[]') FROM preferences "
    "WHERE account IN (SELECT account FROM wanted))))"
)
"""Opted-out accounts, open notifications (account, id, not_before), latest sent time (account, time),
families opted out of (account, family), accounts muting the bot, accounts on a digest (account, chosen
at): ``json()`` keeps each subquery's array an array (a subquery's result loses its JSON subtype)."""
_VIEW_ROWS = msgspec.json.Decoder(
    tuple[
        list[str],
        list[tuple[str, int, int]],
        list[tuple[str, int]],
        list[tuple[str, str]],
        list[str],
        list[tuple[str, int]],
    ]
)


def write_batch(db: Database, plan: BatchPlan) -> None:
    """Write the outbox's part of ``plan`` (see :func:`bot.plan.plan_batch`). Call inside the batch's
    transaction, the one that moves the checkpoint: a badge and the notification announcing it are in the
    store before anything is sent, STOP and START take effect with the block that carried them."""
    for account, (state, source) in plan.opt_states.items():
        _write_opt_state(db, account, state, plan.block_num, source)
    for account, muted in plan.mutes.items():
        _write_mute(db, account, muted, plan.block_num, "chain")
    _write_digests(db, plan)
    for author, permlink in plan.deleted:
        db.execute("DELETE FROM root_posts WHERE account = ? AND permlink = ?", (author, permlink))
    for account, (permlink, created) in plan.root_posts.items():
        _remember_root_post(db, account, permlink, created)
        db.execute(
            "UPDATE notifications SET state = ? WHERE account = ? AND state = ?",
            (State.WAITING, account, State.NO_POST),
        )
    ids = dict(plan.joined)
    for new in plan.notifications:
        ids[new.account] = _open_notification(db, new, plan.block_num)
    record_badges(db, plan.badges, ids, plan.block_num, plan.block_time)
    for account in plan.opt_states:
        _drop_unwanted(db, account)
    db.executemany(
        "UPDATE notifications SET state = ?, delivered_block = ? WHERE permlink = ? AND state != ?",
        [(State.DELIVERED, num, permlink, State.DELIVERED) for permlink, num in plan.delivered.items()],
    )


def _write_digests(db: Database, plan: BatchPlan) -> None:
    """The accounts that chose a digest (a row, with when) or left it (none), and the open notifications
    whose due time that moved."""
    db.executemany(
        "INSERT INTO preferences (account, digest, block_num, block_time) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account) DO UPDATE SET digest = excluded.digest, block_num = excluded.block_num, "
        "block_time = excluded.block_time",
        [
            (account, digest, plan.block_num, plan.block_time)
            for account, digest in plan.digests.items()
            if digest is not Digest.OFF
        ],
    )
    db.executemany(
        "DELETE FROM preferences WHERE account = ?",
        [(account,) for account, digest in plan.digests.items() if digest is Digest.OFF],
    )
    db.executemany(
        f"UPDATE notifications SET not_before = ? WHERE id = ? AND state IN {_in(_OPEN)}",
        [(due, notification_id, *_OPEN) for notification_id, due in plan.rescheduled.items()],
    )


def record_badges(
    db: Database,
    badges: Iterable[EarnedBadge],
    notification_ids: Mapping[str, int],
    block_num: int,
    block_time: int,
) -> None:
    """Record ``badges`` as earned at ``block_num``: each announced one joins its account's notification in
    ``notification_ids``; silent ones join none. A badge recorded before stays as it was."""
    db.executemany(
        "INSERT INTO badges (account, metric, threshold, block_num, block_time, notification_id, silence) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (
                earned.badge.account,
                earned.badge.metric,
                earned.badge.threshold,
                block_num,
                block_time,
                None if earned.silence is not None else notification_ids[earned.badge.account],
                earned.silence,
            )
            for earned in badges
        ],
    )


def _open_notification(db: Database, new: NewNotification, block_num: int) -> int:
    (notification_id,) = db.execute(
        "INSERT INTO notifications (account, permlink, state, not_before, created_block) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (new.account, new.permlink, State.WAITING, new.not_before, block_num),
    ).fetchone()
    return int(notification_id)


def _opt_out(db: Database, account: str, block_num: int | None, source: str) -> None:
    db.execute(
        "INSERT INTO optouts (account, block_num, source) VALUES (?, ?, ?) ON CONFLICT (account) DO NOTHING",
        (account, block_num, source),
    )
    _drop_open(db, account)


def _write_opt_state(db: Database, account: str, state: OptState, block_num: int | None, source: str) -> None:
    """Store what ``account`` is opted out of now: a row of ``optouts`` for every family, else a row of
    ``optout_families`` per family. A family (or every family) already stopped keeps its row, so the
    board and ``optout list`` tell since when and how each was stopped."""
    families = json.dumps(sorted(state.families))
    db.execute(
        "DELETE FROM optout_families WHERE account = ? AND family NOT IN (SELECT value FROM json_each(?))",
        (account, "[]" if state.everything else families),
    )
    if state.everything:
        _opt_out(db, account, block_num, source)
        return
    db.execute("DELETE FROM optouts WHERE account = ?", (account,))
    db.executemany(
        "INSERT INTO optout_families (account, family, block_num, source) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(account, family, block_num, source) for family in sorted(state.families)],
    )


def _drop_unwanted(db: Database, account: str) -> None:
    """Take the badges of the families ``account`` opted out of out of its open notifications (silent,
    ``opted_out``); drop an open notification left with none."""
    db.execute(
        f"UPDATE badges SET notification_id = NULL, silence = ? WHERE account = ? AND metric IN "
        f"(SELECT family FROM optout_families WHERE account = ?) AND notification_id IN "
        f"(SELECT id FROM notifications WHERE account = ? AND state IN {_in(_OPEN)})",
        (Silence.OPTED_OUT, account, account, account, *_OPEN),
    )
    db.execute(
        f"UPDATE notifications SET state = ? WHERE account = ? AND state IN {_in(_OPEN)} "
        "AND NOT EXISTS (SELECT 1 FROM badges WHERE notification_id = notifications.id)",
        (State.DROPPED, account, *_OPEN),
    )


def _write_mute(db: Database, account: str, muted: bool, block_num: int | None, source: str) -> None:
    """Remember whether ``account`` mutes the bot (learned at ``block_num`` from ``source``, ``chain`` or
    ``node``); a mute drops its open notification."""
    db.execute(
        "INSERT INTO mutes (account, muted, block_num, source) VALUES (?, ?, ?, ?) ON CONFLICT (account) "
        "DO UPDATE SET muted = excluded.muted, block_num = excluded.block_num, source = excluded.source",
        (account, int(muted), block_num, source),
    )
    if muted:
        _drop_open(db, account)


def _drop_open(db: Database, account: str) -> None:
    db.execute(
        f"UPDATE notifications SET state = ? WHERE account = ? AND state IN {_in(_OPEN)}",
        (State.DROPPED, account, *_OPEN),
    )


def _remember_root_post(db: Database, account: str, permlink: str, created: int) -> None:
    db.execute(
        "INSERT INTO root_posts (account, permlink, created) VALUES (?, ?, ?) ON CONFLICT (account) DO UPDATE "
        "SET permlink = excluded.permlink, created = excluded.created WHERE excluded.created >= root_posts.created",
        (account, permlink, created),
    )


def _reopen(
    db: Database,
    notification_id: int,
    *,
    error: str,
    not_before: int | None = None,
    max_attempts: int | None = None,
    count_attempt: bool = True,
) -> None:
    """A sent notification did not land: it waits again, joined by any badges opened for its account since
    (one open notification per account); unless its account opted out meanwhile (dropped) or it failed
    ``max_attempts`` times (parked)."""
    account, attempts = db.execute(
        "SELECT account, attempts FROM notifications WHERE id = ?", (notification_id,)
    ).fetchone()
    if not count_attempt:
        attempts -= 1
    if db.execute(_SILENCED, (account, account)).fetchone():
        state = State.DROPPED
    elif max_attempts is not None and attempts >= max_attempts:
        state = State.PARKED
    else:
        state = State.WAITING
        newer = db.execute(
            f"SELECT id FROM notifications WHERE account = ? AND state IN {_in(_OPEN)}", (account, *_OPEN)
        ).fetchone()
        if newer is not None:
            db.execute(
                "UPDATE badges SET notification_id = ? WHERE notification_id = ?", (notification_id, newer[0])
            )
            db.execute("DELETE FROM notifications WHERE id = ?", (newer[0],))
    db.execute(
        "UPDATE notifications SET state = ?, attempts = ?, last_error = ?, not_before = coalesce(?, not_before) "
        "WHERE id = ?",
        (state, attempts, error, not_before, notification_id),
    )
    _drop_unwanted(db, account)


_SILENCED = (
    "SELECT 1 FROM optouts WHERE account = ? UNION ALL SELECT 1 FROM mutes WHERE account = ? AND muted = 1"
)
"""Whether an account hears of no badge: opted out of every family, or muting the bot."""


def _in(states: Iterable[State]) -> str:
    return "(" + ",".join("?" for _ in states) + ")"


class Outbox:
    """The outbox as the poster and the commands see it. Writes run in ``transaction()``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._transaction = db.transaction

    # -- reads ----------------------------------------------------------------------------------
    def load_next_due(self, now: int) -> Notification | None:
        """The waiting notification that is due first at chain time ``now``."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE state = ? AND not_before <= ? "
            "ORDER BY not_before, id LIMIT 1",
            (State.WAITING, now),
        ).fetchone()
        return None if row is None else self._notification(row)

    def load_notification(self, notification_id: int) -> Notification | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", (notification_id,)
        ).fetchone()
        return None if row is None else self._notification(row)

    def load_notifications(self, state: State) -> list[Notification]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM notifications WHERE state = ? ORDER BY id", (state,))
        return [self._notification(row) for row in rows.fetchall()]

    def load_last_sent_time(self) -> int | None:
        """Chain time of the bot's latest broadcast (dry-run ones included)."""
        row = self._db.execute("SELECT max(sent_time) FROM notifications").fetchone()
        return None if row[0] is None else int(row[0])

    def load_last_broadcast_time(self) -> int | None:
        """Chain time of the bot's newest broadcast that is or may still get on chain (sent or delivered:
        not one refused, or lost and waiting again, since)."""
        row = self._db.execute(
            "SELECT max(sent_time) FROM notifications WHERE state IN (?, ?)", (State.SENT, State.DELIVERED)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def load_root_post(self, account: str) -> tuple[str, int] | None:
        row = self._db.execute(
            "SELECT permlink, created FROM root_posts WHERE account = ?", (account,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def load_opted_out(self, accounts: Iterable[str]) -> set[str]:
        rows = self._db.execute(
            "SELECT account FROM optouts WHERE account IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(accounts))),),
        )
        return {account for (account,) in rows}

    def load_view_of(self, account: str) -> OutboxView:
        """What the batch plan knows of ``account`` (opt-outs, mute, open and sent notifications)."""
        return load_view(self._db, [account])

    def load_mute(self, account: str) -> bool | None:
        """Whether ``account`` mutes the bot, as known (from the blocks, or a node asked); None: unknown."""
        row = self._db.execute("SELECT muted FROM mutes WHERE account = ?", (account,)).fetchone()
        return None if row is None else bool(row[0])

    def load_optouts(self) -> list[tuple[str, int | None, str]]:
        """The accounts opted out of every family: (account, block of the STOP or None, its source: 'reply',
        'custom_json' or 'operator'), by name."""
        rows = self._db.execute("SELECT account, block_num, source FROM optouts ORDER BY account")
        return [(account, block, source) for account, block, source in rows]

    def load_family_optouts(self) -> list[tuple[str, Family, int | None, str]]:
        """The opt-outs of some families: (account, family, block or None, source), by name and family."""
        rows = self._db.execute(
            "SELECT account, family, block_num, source FROM optout_families ORDER BY account, family"
        )
        return [(account, as_family(family), block, source) for account, family, block, source in rows]

    def load_mutes(self) -> list[tuple[str, int | None, str]]:
        """The accounts muting the bot now: (account, block of the mute or None, 'chain' or 'node'), by name."""
        rows = self._db.execute(
            "SELECT account, block_num, source FROM mutes WHERE muted = 1 ORDER BY account"
        )
        return [(account, block, source) for account, block, source in rows]

    def load_manners(self, account: str) -> Manners:
        """What ``account`` is opted out of, and whether it mutes the bot, each with where it was learned."""
        everything = self._db.execute(
            "SELECT block_num, source FROM optouts WHERE account = ?", (account,)
        ).fetchone()
        families = self._db.execute(
            "SELECT family, block_num, source FROM optout_families WHERE account = ?", (account,)
        ).fetchall()
        mute = self._db.execute(
            "SELECT block_num, source FROM mutes WHERE account = ? AND muted = 1", (account,)
        ).fetchone()
        return Manners(
            everything=None if everything is None else Since(*everything),
            families={as_family(family): Since(block, source) for family, block, source in families},
            mute=None if mute is None else Since(*mute),
        )

    def load_badges(self, account: str) -> list[dict[str, object]]:
        return [
            {
                "metric": badge.metric,
                "threshold": badge.threshold,
                "block": badge.block_num,
                "announced": badge.announced,
                "permlink": badge.permlink,
            }
            for badge in self.load_badge_records(account)
        ]

    def load_badge_records(self, account: str) -> list[BadgeRecord]:
        """``account``'s badges, in the order earned."""
        rows = self._db.execute(
            "SELECT b.metric, b.threshold, b.block_num, b.block_time, coalesce(n.state, b.silence), n.permlink "
            "FROM badges b LEFT JOIN notifications n ON n.id = b.notification_id WHERE b.account = ? "
            "ORDER BY b.block_num, b.metric, b.threshold",
            (account,),
        )
        return [
            BadgeRecord(as_family(metric), int(threshold), int(num), int(time), announced, permlink)
            for metric, threshold, num, time, announced, permlink in rows
        ]

    def load_summary(self) -> dict[str, object]:
        states = dict(self._db.execute("SELECT state, count(*) FROM notifications GROUP BY state").fetchall())
        return {
            "notifications": {state.value: states.get(state.value, 0) for state in State},
            "opted_out": self._db.execute("SELECT count(*) FROM optouts").fetchone()[0],
            "badges": self._db.execute("SELECT count(*) FROM badges").fetchone()[0],
            "parked": [
                {"account": n.account, "permlink": n.permlink, "attempts": n.attempts, "error": n.last_error}
                for n in self.load_notifications(State.PARKED)
            ],
        }

    # -- the poster's writes --------------------------------------------------------------------
    def mark_sent(
        self, notification_id: int, parent: CommentKey, now: int, *, badges: int | None = None
    ) -> bool:
        """Record that the notification is about to be broadcast, replying to ``parent``. False (and
        nothing written) if it is no longer waiting, its account has opted out or muted the bot meanwhile,
        or it no longer holds ``badges`` badges (None: not checked), the number it held when read and its
        text made: some were taken out by an opt-out of their family, or new ones joined it."""
        with self._transaction():
            changed = self._db.execute(
                "UPDATE notifications SET state = ?, parent_author = ?, parent_permlink = ?, sent_time = ?, "
                "attempts = attempts + 1 WHERE id = ? AND state = ? "
                "AND account NOT IN (SELECT account FROM optouts) "
                "AND account NOT IN (SELECT account FROM mutes WHERE muted = 1) "
                "AND coalesce(?, (SELECT count(*) FROM badges WHERE notification_id = ?)) = "
                "(SELECT count(*) FROM badges WHERE notification_id = ?)",
                (
                    State.SENT,
                    *parent,
                    now,
                    notification_id,
                    State.WAITING,
                    badges,
                    notification_id,
                    notification_id,
                ),
            ).rowcount
        return changed == 1

    def mark_failed(self, notification_id: int, error: str, retry_at: int, max_attempts: int) -> State:
        """A broadcast failed: wait until ``retry_at``, or park after ``max_attempts`` attempts."""
        with self._transaction():
            if self._is_sent(notification_id):
                _reopen(
                    self._db, notification_id, error=error, not_before=retry_at, max_attempts=max_attempts
                )
        found = self.load_notification(notification_id)
        return State.PARKED if found is None else found.state

    def mark_not_sent(self, notification_id: int, error: str, retry_at: int) -> None:
        """The broadcast was refused for a reason that is not the notification's (not enough RC): the
        attempt does not count."""
        with self._transaction():
            if self._is_sent(notification_id):
                _reopen(self._db, notification_id, error=error, not_before=retry_at, count_attempt=False)

    def mark_no_post(self, notification_id: int) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE notifications SET state = ? WHERE id = ? AND state = ?",
                (State.NO_POST, notification_id, State.WAITING),
            )

    def mark_dry_run(self, notification_id: int, parent: CommentKey, now: int) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE notifications SET state = ?, parent_author = ?, parent_permlink = ?, sent_time = ? "
                "WHERE id = ? AND state = ?",
                (State.DRY_RUN, parent[0], parent[1], now, notification_id, State.WAITING),
            )

    def requeue_expired(self, confirmed_time: int, expiration: float) -> int:
        """Sent notifications whose transaction expired before ``confirmed_time`` (the processed irreversible
        block's time) without their comment being seen: lost on the way, they wait to be sent again."""
        with self._transaction():
            lost = [
                notification_id
                for (notification_id,) in self._db.execute(
                    "SELECT id FROM notifications WHERE state = ? AND sent_time + ? < ? ORDER BY id",
                    (State.SENT, expiration, confirmed_time),
                ).fetchall()
            ]
            for notification_id in lost:
                _reopen(self._db, notification_id, error="not included before it expired")
        return len(lost)

    def remember_root_post(self, account: str, permlink: str, created: int) -> None:
        with self._transaction():
            _remember_root_post(self._db, account, permlink, created)

    def remember_asked_mute(self, account: str, muted: bool) -> None:
        """A node's word on whether ``account`` mutes the bot, asked once: kept unless the blocks told
        meanwhile (theirs is newer); a mute drops its open notification."""
        with self._transaction():
            if self.load_mute(account) is None:
                _write_mute(self._db, account, muted, None, "node")

    # -- the operator's writes ------------------------------------------------------------------
    def add_optout(self, account: str, families: frozenset[Family] | None = None) -> bool:
        """Opt ``account`` out of ``families`` (None: every family), as a STOP naming them would; False if
        it was already."""
        return self._operator_opt(account, Opt(OptCommand.STOP, families, OPERATOR))

    def remove_optout(self, account: str, families: frozenset[Family] | None = None) -> bool:
        """Opt ``account`` back in to ``families`` (None: every family, whatever stopped them), as a START
        naming them would; False if it was not opted out of them."""
        return self._operator_opt(account, Opt(OptCommand.START, families, OPERATOR))

    def _operator_opt(self, account: str, opt: Opt) -> bool:
        with self._transaction():
            before = load_view(self._db, [account]).opt_state(account)
            after = before.apply(opt)
            if after != before:
                _write_opt_state(self._db, account, after, None, OPERATOR)
                _drop_unwanted(self._db, account)
        return after != before

    # -- helpers --------------------------------------------------------------------------------
    def _is_sent(self, notification_id: int) -> bool:
        row = self._db.execute("SELECT state FROM notifications WHERE id = ?", (notification_id,)).fetchone()
        return row is not None and row[0] == State.SENT

    def _notification(self, row: tuple[Any, ...]) -> Notification:
        (id_, account, permlink, state, not_before, parent_author, parent_permlink, attempts, error, sent) = (
            row
        )
        badges = self._db.execute(
            "SELECT metric, threshold FROM badges WHERE notification_id = ? ORDER BY metric, threshold",
            (id_,),
        )
        return Notification(
            id=int(id_),
            account=str(account),
            permlink=str(permlink),
            state=State(state),
            not_before=int(not_before),
            parent=None if parent_author is None else (str(parent_author), str(parent_permlink)),
            attempts=int(attempts),
            last_error=None if error is None else str(error),
            sent_time=None if sent is None else int(sent),
            badges=tuple(Badge(str(account), as_family(m), int(t)) for m, t in badges),
        )


_COLUMNS = "id, account, permlink, state, not_before, parent_author, parent_permlink, attempts, last_error, sent_time"
