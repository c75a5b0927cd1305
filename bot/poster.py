"""Drain the outbox: post the due notifications, one at a time, paced, and never twice.

One :meth:`Poster.step` looks at the chain's head and does at most one thing:

1. sent notifications whose transaction expired unseen go back to waiting (their comment never landed);
2. nothing is sent sooner than ``min_interval`` chain seconds after the bot's previous comment *landed*
   (:func:`may_comment`): the chain, not the head the bot read when it sent it, says when that was;
3. the due notification's account must still be opted in (checked again in the commit that marks it sent);
4. it replies to the account's newest root post (known from the blocks followed, else asked once from a
   node); with none, or one older than ``max_post_age``, it waits for the account's next post;
5. below ``rc_reserve`` percent of its resource credits the bot pauses, with one warning per pause;
6. the notification is marked *sent* in the store, then broadcast. "Delivered" is decided by the follower,
   when the comment is seen in an irreversible block. A refusal waits ``min_interval`` × 2^attempts
   (capped at an hour) and, after ``max_attempts`` failures, parks the notification. A broadcast no node
   answered stays *sent*: the chain tells, by the comment or by the transaction's expiry (step 1).

On a PostgreSQL store with active/standby, the poster is given the process's ``holding``: every write is
fenced by the lease, and the broadcast, which no fence covers, is checked last, just before it is signed
and sent (nothing between the two waits on a node: the chain id signing needs is read before the check): a poster whose lease lapsed after its *sent* was committed broadcasts nothing and raises
:class:`~bot.errors.LeaseLostError` (the daemon stops acting). The notification stays *sent*: the next
active process sends it again once its transaction would have expired (step 1), never twice.

The permlink comes from the notification, so every retry — after a crash between the broadcast and the
next commit, or a lost answer — re-posts the same permlink: at worst an edit, never a second comment.
With ``dry_run`` the text is logged and recorded as dry-run; nothing is broadcast and no key is needed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import structlog

from bot.badges import Ladders, select_announcements
from bot.chain import BroadcastResult, ChainClient, ChainState, PostingKey, Reply
from bot.config import NotificationSettings
from bot.errors import (
    ChainError,
    LeaseLostError,
    NotEnoughRCError,
    PermanentChainError,
    UnconfirmedBroadcastError,
)
from bot.lease import Holding
from bot.notifications import notification_metadata, render_notification
from bot.outbox import Notification, State
from bot.store import Store

log = structlog.get_logger("bot.poster")

MAX_RETRY_WAIT = 3600
EXPIRY_MARGIN = 6  # chain seconds past a transaction's expiration before it is taken as lost


class Outcome(enum.StrEnum):
    """What one post step did with a notification."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"  # "Duplicate transaction": the chain had it
    UNCONFIRMED = "unconfirmed"  # no node answered: the chain settles it
    DRY_RUN = "dry_run"
    NO_POST = "no_post"  # no recent root post to reply to
    FAILED = "failed"  # refused: retried later
    PARKED = "parked"  # refused max_attempts times
    PAUSED = "paused"  # resource credits below the reserve

    @property
    def ends_the_tick(self) -> bool:
        """Whether the post job waits for its next tick rather than try the next notification now."""
        return self in (Outcome.PAUSED, Outcome.FAILED, Outcome.PARKED, Outcome.UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class PostReport:
    notification: Notification
    outcome: Outcome


class Poster:
    """Posts from the outbox. The constructor only assigns."""

    def __init__(
        self,
        chain: ChainClient,
        store: Store,
        settings: NotificationSettings,
        *,
        bot: str,
        ladders: Ladders,
        key: PostingKey | None,
        holding: Holding | None = None,
    ) -> None:
        """``key`` None means dry-run: nothing is signed or broadcast. ``holding``: the lease this process
        must hold for a broadcast to start (active/standby); None: no lease (SQLite)."""
        self.chain = chain
        self.store = store
        self.settings = settings
        self.bot = bot
        self.ladders = ladders
        self.key = key
        self.holding = holding
        self._paused_for_rc = False
        self.resource_credits: float | None = None
        """The bot's resource credits as last read (% of its maximum), for the metrics; None: not yet."""

    def step(self) -> PostReport | None:
        """Post (or log) the next due notification, if any is due; ``None`` when nothing was done."""
        outbox = self.store.outbox
        head = self.chain.fetch_state()
        checkpoint = self.store.load_checkpoint()
        if checkpoint is not None:
            lost = outbox.requeue_expired(checkpoint.block_time, self.settings.expiration + EXPIRY_MARGIN)
            if lost:
                log.warning("notifications_lost", count=lost, action="sending them again")
        last = outbox.load_last_sent_time()
        if last is not None and head.time < last + self.settings.min_interval:
            return None
        notification = outbox.load_next_due(head.time)
        if notification is None:
            return None
        if self.key is not None and not self._previous_comment_landed(head):
            return None
        if self._muted(notification.account):
            log.info("notification_dropped", account=notification.account, reason="the account mutes the bot")
            return None
        parent = notification.parent or self._reply_target(notification.account, head.time)
        if parent is None:
            outbox.mark_no_post(notification.id)
            log.info(
                "notification_waits_for_a_post", account=notification.account, permlink=notification.permlink
            )
            return PostReport(notification, Outcome.NO_POST)
        reply = self._reply(notification, parent)
        if self.key is None:
            outbox.mark_dry_run(notification.id, parent, head.time)
            log.info(
                "notification_dry_run",
                account=notification.account,
                parent=f"@{parent[0]}/{parent[1]}",
                permlink=reply.permlink,
                body=reply.body,
            )
            return PostReport(notification, Outcome.DRY_RUN)
        if not self._enough_resource_credits(head.time):
            return PostReport(notification, Outcome.PAUSED)
        if not outbox.mark_sent(notification.id, parent, head.time, badges=len(notification.badges)):
            return None  # opted out (or handled) since it was read
        return self._broadcast(notification, reply, head, self.key)

    def _previous_comment_landed(self, head: ChainState) -> bool:
        """Whether the chain has applied the bot's previous broadcast long enough ago (:func:`may_comment`)."""
        return may_comment(
            head.time,
            self.store.outbox.load_last_broadcast_time(),
            self.chain.fetch_last_comment_time(self.bot),
            min_interval=self.settings.min_interval,
            expiration=self.settings.expiration,
        )

    def _muted(self, account: str) -> bool:
        """Whether ``account`` mutes the bot: as the store knows (from the blocks since the bot started, or a
        node asked before), else asked of a node once and remembered (a mute drops the notification).

        Every node refusing the question (hivemind refuses it for an account it does not know: the bot's
        own, on a node whose hivemind lags or misses it) is taken as no mute, and remembered so: an outbox
        held back for ever by a question that cannot be answered would silence everyone. A node that does
        not answer (a transient error) is asked again at the next tick."""
        known = self.store.outbox.load_mute(account)
        if known is not None:
            return known
        try:
            muted = self.chain.fetch_mutes(account, self.bot)
        except PermanentChainError as exc:
            log.warning("mute_unknown", account=account, error=str(exc), taken_as="not muted")
            muted = False
        self.store.outbox.remember_asked_mute(account, muted)
        return muted

    def _reply_target(self, account: str, now: int) -> tuple[str, str] | None:
        """The root post to reply to: the account's newest, if younger than ``max_post_age``."""
        newest = self.store.outbox.load_root_post(account)
        if newest is None:
            newest = self.chain.fetch_latest_root_post(account)
            if newest is not None:
                self.store.outbox.remember_root_post(account, *newest)
        if newest is None or now - newest[1] > self.settings.max_post_age:
            return None
        return (account, newest[0])

    def _reply(self, notification: Notification, parent: tuple[str, str]) -> Reply:
        announcements = select_announcements(notification.badges, self.ladders)
        return Reply(
            author=self.bot,
            permlink=notification.permlink,
            parent=parent,
            body=render_notification(notification.account, self.bot, announcements, self.settings.templates),
            json_metadata=notification_metadata(announcements),
            decline_payout=self.settings.decline_payout,
            beneficiaries=self.settings.beneficiaries,
        )

    def _enough_resource_credits(self, now: int) -> bool:
        credits = self.chain.fetch_resource_credits(self.bot, now)
        self.resource_credits = credits.percent
        low = credits.percent < self.settings.rc_reserve
        if low and not self._paused_for_rc:
            log.warning(
                "posting_paused",
                reason="resource credits below the reserve",
                rc_percent=round(credits.percent, 2),
                reserve_percent=self.settings.rc_reserve,
            )
        elif not low and self._paused_for_rc:
            log.info("posting_resumed", rc_percent=round(credits.percent, 2))
        self._paused_for_rc = low
        return not low

    def check_key(self) -> None:
        """Raise :class:`~bot.errors.PostingKeyError` unless the key is the bot account's posting key."""
        if self.key is not None:
            self.chain.check_posting_key(self.bot, self.key)
            log.info("posting_key_checked", account=self.bot, public_key=self.key.public)

    def _check_lease(self, notification: Notification) -> None:
        """Raise :class:`~bot.errors.LeaseLostError` unless this process still holds the lease (if it needs
        one): a broadcast starts only while it does, a margin before another process may act."""
        if self.holding is None:
            return
        self.chain.chain_id()  # read once: the one node call between this check and the broadcast
        if self.holding.fence() is None:
            log.warning(
                "broadcast_withheld",
                account=notification.account,
                permlink=notification.permlink,
                holder=self.holding.holder,
                reason="lease lost",
            )
            raise LeaseLostError(
                f"@{notification.account}/{notification.permlink}: the lease was lost after the notification "
                "was marked sent; not broadcast (the active process sends it once its transaction would have expired)"
            )

    def _broadcast(
        self, notification: Notification, reply: Reply, head: ChainState, key: PostingKey
    ) -> PostReport:
        outbox = self.store.outbox
        self._check_lease(notification)
        try:
            result = self.chain.broadcast_reply(reply, key, head, self.settings.expiration)
        except NotEnoughRCError as exc:
            outbox.mark_not_sent(notification.id, str(exc), head.time + int(self.settings.min_interval))
            self._paused_for_rc = True
            log.warning("posting_paused", reason=str(exc))
            return PostReport(notification, Outcome.PAUSED)
        except UnconfirmedBroadcastError as exc:
            # it may be on chain already: sending again now would at best edit it. It stays sent; if its
            # comment is not in a block by the time the transaction expires, it goes out again then.
            log.warning(
                "notification_unconfirmed",
                account=notification.account,
                permlink=notification.permlink,
                error=str(exc),
                known_within=self.settings.expiration,
            )
            return PostReport(notification, Outcome.UNCONFIRMED)
        except ChainError as exc:
            wait = min(MAX_RETRY_WAIT, self.settings.min_interval * 2**notification.attempts)
            state = outbox.mark_failed(
                notification.id, str(exc), head.time + int(wait), self.settings.max_attempts
            )
            parked = state is State.PARKED
            (log.error if parked else log.warning)(
                "notification_parked" if parked else "notification_failed",
                account=notification.account,
                permlink=notification.permlink,
                attempt=notification.attempts + 1,
                error=str(exc),
                retry_in=None if parked else wait,
            )
            return PostReport(notification, Outcome.PARKED if parked else Outcome.FAILED)
        log.info(
            "notification_sent",
            account=notification.account,
            parent=f"@{reply.parent[0]}/{reply.parent[1]}",
            permlink=reply.permlink,
            badges=[f"{b.metric}:{b.threshold}" for b in notification.badges],
            result=result.value,
        )
        return PostReport(
            notification, Outcome.ALREADY_SENT if result is BroadcastResult.ALREADY_ACCEPTED else Outcome.SENT
        )


def may_comment(
    now: int, last_broadcast: int | None, last_comment: int, *, min_interval: float, expiration: float
) -> bool:
    """Whether a comment sent with the head at chain time ``now`` can be taken: hived refuses a new comment
    unless ``now - last_post >= 3 s`` (an edit: ``last_post_edit``; ``comment_evaluator::do_apply``,
    ``libraries/chain/hive_evaluator_social.cpp``), judged when the transaction is applied: at once in the
    node's pool, and again in the block that takes it. ``last_comment`` is that time as the chain has it now
    (the account's ``last_post_edit``); ``last_broadcast``, the head time the bot's newest broadcast that may
    still land was sent with (None: none).

    Pacing from ``last_broadcast`` alone is not enough: the head can move before the transaction arrives, or
    it can wait in a pool for a block or more, and the next comment then lands in the same block and is
    refused. So: while the previous broadcast has not been applied (the chain's time is older than the
    head it was sent with) and could still be (it has not expired), wait; then wait ``min_interval`` from
    the time the chain recorded. Whatever the node's pool shows, the next comment goes into a later block
    than the previous one."""
    if last_broadcast is not None and last_comment < last_broadcast and now <= last_broadcast + expiration:
        return False  # not applied yet, and it still may be
    return now - last_comment >= min_interval
