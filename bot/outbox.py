"""The outbox: earned badges, the notifications announcing them, opt-outs, and each account's newest post.

Two writers share these tables, never at the same time (SQLite transactions):

- the follower, through :meth:`bot.store.Store.commit_batch`, which calls :func:`record_batch` inside the
  transaction that moves the checkpoint: a badge and the notification announcing it are in the store
  before anything is sent, STOP and START take effect with the block that carried them, and a
  notification is *delivered* when the bot's comment is seen in an irreversible block;
- the poster (:mod:`bot.poster`), through :class:`Outbox`, which marks a notification *sent* in its own
  commit before it broadcasts, so a crash between the broadcast and the next commit is remembered.

A notification's life::

    waiting ──▶ sent ──▶ delivered            (its comment seen in an irreversible block)
      │  ▲        │
      │  └────────┘  the broadcast failed, or its transaction expired unseen: try again later
      ├──▶ no_post ──▶ waiting                (no recent root post to reply to: wait for the next one)
      ├──▶ parked                             (max_attempts failed broadcasts; shown by ``status``)
      ├──▶ dropped                            (the account opted out first)
      └──▶ dry_run                            (dry-run: logged, never broadcast)

At most one notification per account is open (waiting or no_post): badges earned meanwhile join it.
"""

from __future__ import annotations

import enum
import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from bot.badges import Badge, BadgeRules, EarnedBadge, Silence, count_crossings, plan_badges
from bot.metrics import Metric
from bot.notifications import notification_permlink
from bot.operations import CommentKey
from bot.optouts import OptCommand
from bot.tallies import Tally


class State(enum.StrEnum):
    WAITING = "waiting"
    NO_POST = "no_post"
    SENT = "sent"
    DELIVERED = "delivered"
    PARKED = "parked"
    DROPPED = "dropped"
    DRY_RUN = "dry_run"


_OPEN = (State.WAITING, State.NO_POST)


@dataclass(frozen=True, slots=True)
class OutboxChanges:
    """What one batch of blocks changes in the outbox (see :func:`record_batch`)."""

    rules: BadgeRules | None = None
    """Find the badges the batch's counts earn (in the commit, from the counts as they are there), by these
    rules; None: find none."""
    age: float = 0.0
    """How long ago, in chain seconds, the batch's last block was made (stale badges are not announced)."""
    earned: Sequence[EarnedBadge] = ()
    """Badges earned, decided by the caller (besides those ``rules`` find)."""
    opt_commands: Mapping[str, OptCommand] = field(default_factory=dict)
    reply_texts: Mapping[CommentKey, str | None] = field(default_factory=dict)
    """The texts of replies to the bot's comments, as the batch left them, to keep for later edits sent as
    patches (None: forget the reply's); kept by the store, see :func:`bot.optouts.texts_to_keep`."""
    delivered: Mapping[str, int] = field(default_factory=dict)
    """Permlinks of the bot's own comments in the batch, with the block each was seen in."""
    per_account_interval: float = 0.0
    """Used with ``earned``; with ``rules``, theirs applies."""


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


def record_batch(
    db: sqlite3.Connection,
    changes: OutboxChanges,
    tally: Tally,
    counted: Crossing,
    block_num: int,
    block_time: int,
) -> None:
    """Apply ``changes`` and the root posts ``tally`` saw created or deleted, found in blocks up to
    ``block_num`` (at ``block_time``); ``counted`` is what the counts were and what was added to them, in
    this transaction. Call inside the batch's transaction."""
    for account, command in changes.opt_commands.items():
        if command is OptCommand.STOP:
            _opt_out(db, account, block_num, "reply")
        else:
            db.execute("DELETE FROM optouts WHERE account = ?", (account,))
    for author, permlink in tally.deleted:
        db.execute("DELETE FROM root_posts WHERE account = ? AND permlink = ?", (author, permlink))
    for account, (permlink, created) in tally.root_posts.items():
        _remember_root_post(db, account, permlink, created)
        db.execute(
            "UPDATE notifications SET state = ? WHERE account = ? AND state = ?",
            (State.WAITING, account, State.NO_POST),
        )
    interval = changes.per_account_interval if changes.rules is None else changes.rules.per_account_interval
    for earned in [*changes.earned, *_find_earned(db, changes, counted)]:
        _record_badge(db, earned, block_num, block_time, interval)
    db.executemany(
        "UPDATE notifications SET state = ?, delivered_block = ? WHERE permlink = ? AND state != ?",
        [(State.DELIVERED, num, permlink, State.DELIVERED) for permlink, num in changes.delivered.items()],
    )


@dataclass(frozen=True, slots=True)
class Crossing:
    """Counts before a batch, what it added, and the accounts that may earn badges now (``None``: all)."""

    before: Mapping[str, Mapping[Metric, int]] = field(default_factory=dict)
    added: Mapping[tuple[str, Metric], int] = field(default_factory=dict)
    eligible: Set[str] | None = None


def _find_earned(db: sqlite3.Connection, changes: OutboxChanges, counted: Crossing) -> list[EarnedBadge]:
    rules = changes.rules
    if rules is None:
        return []
    added = {
        key: n for key, n in counted.added.items() if counted.eligible is None or key[0] in counted.eligible
    }
    crossings = count_crossings(counted.before, added, rules.ladders)
    opted_out = (
        {account for (account,) in db.execute("SELECT account FROM optouts").fetchall()}
        if crossings
        else set()
    )
    return plan_badges(
        crossings,
        bot=rules.bot,
        ignore=rules.ignore,
        opted_out=opted_out,
        age=changes.age,
        max_age=rules.max_crossing_age,
    )


def record_silent_badges(
    db: sqlite3.Connection, badges: Iterable[Badge], block_num: int, block_time: int
) -> None:
    """Record ``badges`` as reached by an account's baseline: earned, never announced."""
    for badge in badges:
        _record_badge(db, EarnedBadge(badge, Silence.BASELINE), block_num, block_time, 0.0)


def _opt_out(db: sqlite3.Connection, account: str, block_num: int | None, source: str) -> None:
    db.execute(
        "INSERT INTO optouts (account, block_num, source) VALUES (?, ?, ?) ON CONFLICT (account) DO NOTHING",
        (account, block_num, source),
    )
    db.execute(
        f"UPDATE notifications SET state = ? WHERE account = ? AND state IN {_in(_OPEN)}",
        (State.DROPPED, account, *_OPEN),
    )


def _remember_root_post(db: sqlite3.Connection, account: str, permlink: str, created: int) -> None:
    db.execute(
        "INSERT INTO root_posts (account, permlink, created) VALUES (?, ?, ?) ON CONFLICT (account) DO UPDATE "
        "SET permlink = excluded.permlink, created = excluded.created WHERE excluded.created >= created",
        (account, permlink, created),
    )


def _record_badge(
    db: sqlite3.Connection, earned: EarnedBadge, block_num: int, block_time: int, interval: float
) -> None:
    badge = earned.badge
    notification_id = None
    if earned.silence is None:
        row = db.execute(
            f"SELECT id FROM notifications WHERE account = ? AND state IN {_in(_OPEN)}",
            (badge.account, *_OPEN),
        ).fetchone()
        if row is not None:
            notification_id = row[0]
        else:
            last = db.execute(
                "SELECT max(sent_time) FROM notifications WHERE account = ?", (badge.account,)
            ).fetchone()[0]
            not_before = block_time if last is None else max(block_time, math.ceil(last + interval))
            notification_id = db.execute(
                "INSERT INTO notifications (account, permlink, state, not_before, created_block) "
                "VALUES (?, ?, ?, ?, ?)",
                (badge.account, notification_permlink(badge), State.WAITING, not_before, block_num),
            ).lastrowid
    db.execute(
        "INSERT INTO badges (account, metric, threshold, block_num, block_time, notification_id, silence) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            badge.account,
            badge.metric,
            badge.threshold,
            block_num,
            block_time,
            notification_id,
            earned.silence,
        ),
    )


def _reopen(
    db: sqlite3.Connection,
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
    if db.execute("SELECT 1 FROM optouts WHERE account = ?", (account,)).fetchone():
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


def _in(states: Iterable[State]) -> str:
    return "(" + ",".join("?" for _ in states) + ")"


class Outbox:
    """The outbox as the poster and the commands see it. Writes run in ``transaction()``."""

    def __init__(
        self, db: sqlite3.Connection, transaction: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._db = db
        self._transaction = transaction

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

    def load_optouts(self) -> list[tuple[str, int | None, str]]:
        """(account, block of the STOP or None, 'reply' or 'operator'), by name."""
        rows = self._db.execute("SELECT account, block_num, source FROM optouts ORDER BY account")
        return [(account, block, source) for account, block, source in rows]

    def load_badges(self, account: str) -> list[dict[str, object]]:
        rows = self._db.execute(
            "SELECT b.metric, b.threshold, b.block_num, b.silence, n.state, n.permlink FROM badges b "
            "LEFT JOIN notifications n ON n.id = b.notification_id WHERE b.account = ? "
            "ORDER BY b.block_num, b.metric, b.threshold",
            (account,),
        )
        return [
            {
                "metric": metric,
                "threshold": threshold,
                "block": block,
                "announced": state or silence,
                "permlink": permlink,
            }
            for metric, threshold, block, silence, state, permlink in rows
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
    def mark_sent(self, notification_id: int, parent: CommentKey, now: int) -> bool:
        """Record that the notification is about to be broadcast, replying to ``parent``. False (and
        nothing written) if it is no longer waiting or its account has opted out meanwhile."""
        with self._transaction():
            changed = self._db.execute(
                "UPDATE notifications SET state = ?, parent_author = ?, parent_permlink = ?, sent_time = ?, "
                "attempts = attempts + 1 WHERE id = ? AND state = ? "
                "AND account NOT IN (SELECT account FROM optouts)",
                (State.SENT, parent[0], parent[1], now, notification_id, State.WAITING),
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

    # -- the operator's writes ------------------------------------------------------------------
    def add_optout(self, account: str) -> None:
        with self._transaction():
            _opt_out(self._db, account, None, "operator")

    def remove_optout(self, account: str) -> bool:
        with self._transaction():
            return self._db.execute("DELETE FROM optouts WHERE account = ?", (account,)).rowcount == 1

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
            badges=tuple(Badge(str(account), Metric(m), int(t)) for m, t in badges),
        )


_COLUMNS = "id, account, permlink, state, not_before, parent_author, parent_permlink, attempts, last_error, sent_time"
