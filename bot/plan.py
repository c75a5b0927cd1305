"""One batch's decision: from what it counted and what the store knows, what the store writes. Pure.

The README's flow, chain → operations → tallies → badges → outbox, runs here as two steps, each a pure
function over facts the store reads inside its write transaction (so nothing changes between the read
and the write):

1. :func:`plan_counts` — the increments that stand once the seam with the baselines is settled, the seam
   marks to write, the accounts to give a baseline, and the thresholds the counts cross (from
   :class:`CountsView`);
2. :func:`plan_batch` — for those crossings, which badges are announced and which stay silent, the
   notifications they open or join, the opt-outs, root posts and deliveries (from :class:`OutboxView`,
   read for the accounts that crossed only: most accounts cross nothing, and reading their outbox
   would cost every batch).

The store then writes the :class:`BatchPlan` with the checkpoint (:meth:`bot.store.Store.commit_batch`).
The baseline job's page records its badges by the same rule (:func:`plan_baseline`) and the same writer
(:func:`bot.outbox.record_badges`). A second store backend implements those reads and writes, never these
rules.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from bot.badges import Badge, BadgeRules, EarnedBadge, Quiet, Silence, find_crossings
from bot.birthdays import Birthday
from bot.history import Side
from bot.manners import Digest
from bot.metrics import Family, Metric
from bot.notifications import notification_permlink
from bot.operations import CommentKey
from bot.optouts import Opt, OptState, apply_opts
from bot.tallies import CountedVote, Tally

SeamSide = tuple[str, str, str, Side]
"""One side of a pair on the seam: (author, permlink, voter, side)."""
SIDE_METRICS = {Side.AUTHOR: Metric.UPVOTES_RECEIVED, Side.VOTER: Metric.UPVOTES_GIVEN}


@dataclass(frozen=True, slots=True)
class OutboxChanges:
    """What one batch of blocks read for the outbox, besides its counts (see :func:`plan_batch`)."""

    rules: BadgeRules | None = None
    """Find the badges the batch's counts earn (in the commit, from the counts as they are there), by these
    rules; None: find none."""
    age: float = 0.0
    """How long ago, in chain seconds, the batch's last block was made (stale badges are not announced)."""
    opt_commands: Mapping[str, Sequence[Opt]] = field(default_factory=dict)
    """Each account's STOPs and STARTs in the batch, in the order they apply (replies, then custom_json)."""
    mutes: Mapping[str, bool] = field(default_factory=dict)
    """Accounts whose follow operations in the batch mute the bot (True) or end a mute (False): the last."""
    digests: Mapping[str, Digest] = field(default_factory=dict)
    """Accounts that chose a digest or left it in the batch: their last digest command."""
    reply_texts: Mapping[CommentKey, str | None] = field(default_factory=dict)
    """The texts of replies to the bot's comments, as the batch left them, to keep for later edits sent as
    patches (None: forget the reply's); kept by the store, see :func:`bot.optouts.texts_to_keep`."""
    delivered: Mapping[str, int] = field(default_factory=dict)
    """Permlinks of the bot's own comments in the batch, with the block each was seen in."""


@dataclass(frozen=True, slots=True)
class CountsView:
    """What the counting half of the plan needs from the store, for the accounts the batch counts."""

    before: Mapping[str, Mapping[Metric, int]] = field(default_factory=dict)
    """The accounts' counts before the batch (absent accounts: zeros)."""
    baseline_sides: Set[SeamSide] = frozenset()
    """Sides of the batch's seam pairs that a baseline counted already."""
    done: Set[str] | None = None
    """Accounts whose baseline is done: only they may earn badges; None: no baselines, all may."""


@dataclass(frozen=True, slots=True)
class CountPlan:
    """What the batch adds to the counts and the baselines, and the thresholds it crosses."""

    increments: Mapping[tuple[str, Metric], int]
    live_sides: tuple[SeamSide, ...] = ()
    """Seam sides counted live: marked so that a baseline does not count them again."""
    queue: tuple[str, ...] = ()
    """Accounts to give a baseline (those without one get it, waiting)."""
    crossings: tuple[Badge, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxView:
    """What the outbox half of the plan needs from the store, for the accounts that crossed a threshold."""

    opted_out: Set[str] = frozenset()
    """Accounts opted out of every family before the batch (its STOP and START apply on top)."""
    stopped: Mapping[str, frozenset[Family]] = field(default_factory=dict)
    """Accounts opted out of some families before the batch, with those families."""
    muted: Set[str] = frozenset()
    """Accounts muting the bot before the batch, as the store knows (its mutes apply on top)."""
    open_notifications: Mapping[str, int] = field(default_factory=dict)
    """Each account's open notification (waiting or no_post), by id: badges announced join it."""
    last_sent: Mapping[str, int] = field(default_factory=dict)
    """Chain time of each account's latest notification sent: the next waits the per-account interval."""
    open_due: Mapping[str, int] = field(default_factory=dict)
    """When each open notification is due (its ``not_before``), by account."""
    digests: Mapping[str, int] = field(default_factory=dict)
    """Accounts on a digest before the batch, with the chain time they chose it."""

    def opt_state(self, account: str) -> OptState:
        return OptState(account in self.opted_out, self.stopped.get(account, frozenset()))


@dataclass(frozen=True, slots=True)
class Pace:
    """How long an account's notifications wait (from the config)."""

    interval: float = 0.0
    """``per_account_interval``: everyone's floor."""
    digest_interval: float = 7 * 86_400

    def due(self, now: int, last_sent: int | None, digest_since: int | None) -> int:
        """When an account's notification opened at chain time ``now`` is due (never before ``now``).

        Everyone's waits ``interval`` after the account's last notification sent (``last_sent``, None:
        none). One on a digest since chain time ``digest_since`` (None: not on one) also waits
        ``digest_interval`` after the later of the last one sent and the choice of the digest: its first
        period starts when it is chosen, so choosing it never brings a comment sooner nor sends the very
        next badge alone; each later one waits a whole period after the one before. Badges earned meanwhile
        join it; the wait does not make them late (a badge is stale or not when it is found, see
        :meth:`bot.badges.Quiet.silence`)."""
        due = now if last_sent is None else max(now, math.ceil(last_sent + self.interval))
        if digest_since is None:
            return due
        anchor = digest_since if last_sent is None else max(last_sent, digest_since)
        return max(due, math.ceil(anchor + self.digest_interval))


@dataclass(frozen=True, slots=True)
class NewNotification:
    account: str
    permlink: str
    not_before: int


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """Everything one batch writes besides what the counting rules remember, with its block."""

    block_num: int
    block_time: int
    counts: CountPlan
    badges: tuple[EarnedBadge, ...] = ()
    notifications: tuple[NewNotification, ...] = ()
    """To open, one per account announced without an open notification; its announced badges join it."""
    joined: Mapping[str, int] = field(default_factory=dict)
    """Accounts whose announced badges join their open notification, by its id."""
    opt_states: Mapping[str, tuple[OptState, str]] = field(default_factory=dict)
    """What the accounts that sent STOP or START in the batch are opted out of after it, and where their
    last command was read."""
    mutes: Mapping[str, bool] = field(default_factory=dict)
    digests: Mapping[str, Digest] = field(default_factory=dict)
    """Accounts whose digest the batch turned on (chosen at ``block_time``) or off; a repeated choice is
    none (its first time stands)."""
    rescheduled: Mapping[int, int] = field(default_factory=dict)
    """Open notifications whose due time the batch's digest commands moved, by id: the new ``not_before``."""
    root_posts: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    deleted: frozenset[CommentKey] = frozenset()
    """Comments deleted in the batch: a root post among them is no longer the account's newest."""
    delivered: Mapping[str, int] = field(default_factory=dict)


def seam_sides(pairs: Iterable[CountedVote]) -> list[SeamSide]:
    """Both sides of each pair (what :attr:`CountsView.baseline_sides` is read for)."""
    return [
        (author, permlink, voter, side)
        for (author, permlink), voter in pairs
        for side in (Side.AUTHOR, Side.VOTER)
    ]


def plan_counts(
    tally: Tally, known: CountsView, rules: BadgeRules | None, *, with_baselines: bool
) -> CountPlan:
    """The batch's increments less the seam sides a baseline counted; with ``with_baselines`` (``bootstrap:
    history``) the accounts it counts are queued for a baseline; the thresholds crossed by eligible ones."""
    settled = Counter(tally.increments)
    live: list[SeamSide] = []
    for key in seam_sides(tally.seam_pairs):
        author, _, voter, side = key
        if key in known.baseline_sides:
            settled[(author if side is Side.AUTHOR else voter, SIDE_METRICS[side])] -= 1
        else:
            live.append(key)
    increments = +settled
    accounts = sorted({account for account, _ in increments})
    eligible = {key: n for key, n in increments.items() if known.done is None or key[0] in known.done}
    crossings = () if rules is None else tuple(find_crossings(known.before, eligible, rules.ladders))
    return CountPlan(increments, tuple(live), tuple(accounts) if with_baselines else (), crossings)


def plan_batch(
    counted: CountPlan,
    tally: Tally,
    changes: OutboxChanges,
    known: OutboxView,
    block_num: int,
    block_time: int,
    birthdays: Sequence[Birthday] = (),
) -> BatchPlan:
    """Which crossings and ``birthdays`` are announced (the batch's STOP, START and mutes apply first),
    the notifications they open or join, and the outbox's other changes. A birthday's age is counted from
    its day's start, a crossing's from the batch's last block."""
    rules = changes.rules
    states = {
        account: apply_opts(known.opt_state(account), opts) for account, opts in changes.opt_commands.items()
    }
    badges: tuple[EarnedBadge, ...] = ()
    if rules is not None:
        quiet = _quiet(rules, known, changes, states)
        ages = {birthday.badge: block_time - birthday.reached for birthday in birthdays}
        badges = tuple(
            EarnedBadge(badge, quiet.silence(badge, changes.age + ages.get(badge, 0), rules.max_crossing_age))
            for badge in (*counted.crossings, *ages)
        )
    pace = Pace() if rules is None else Pace(rules.per_account_interval, rules.digest_interval)
    digests = _changed_digests(changes.digests, known)
    since = {
        **known.digests,
        **{account: block_time for account, on in digests.items() if on is Digest.WEEKLY},
    }
    since = {account: time for account, time in since.items() if digests.get(account) is not Digest.OFF}
    notifications, joined = _plan_notifications(badges, known, pace, since, block_time)
    return BatchPlan(
        block_num=block_num,
        block_time=block_time,
        counts=counted,
        badges=badges,
        notifications=notifications,
        joined=joined,
        opt_states={
            account: (state, changes.opt_commands[account][-1].source) for account, state in states.items()
        },
        mutes=changes.mutes,
        digests=digests,
        rescheduled=_rescheduled(digests, known, pace, block_time),
        root_posts=tally.root_posts,
        deleted=frozenset(tally.deleted),
        delivered=changes.delivered,
    )


def _changed_digests(commands: Mapping[str, Digest], known: OutboxView) -> dict[str, Digest]:
    """The batch's digest commands that change an account's digest (a repeated choice changes nothing)."""
    return {
        account: digest
        for account, digest in commands.items()
        if (digest is Digest.WEEKLY) != (account in known.digests)
    }


def _rescheduled(digests: Mapping[str, Digest], known: OutboxView, pace: Pace, now: int) -> dict[int, int]:
    """The open notifications of accounts whose digest the batch turned on or off, with their new due time:
    on, pushed back to the digest's (never earlier than it was); off, brought forward to everyone's rule
    (never later than it was: a retry's back-off stands)."""
    moved: dict[int, int] = {}
    for account, digest in digests.items():
        if account not in known.open_notifications:
            continue
        current, last = known.open_due[account], known.last_sent.get(account)
        if digest is Digest.WEEKLY:
            due = max(current, pace.due(now, last, now))
        else:
            due = min(current, pace.due(now, last, None))
        if due != current:
            moved[known.open_notifications[account]] = due
    return moved


def _quiet(
    rules: BadgeRules, known: OutboxView, changes: OutboxChanges, states: Mapping[str, OptState]
) -> Quiet:
    """Who hears of which badges after the batch's opt commands and mutes."""
    after = {
        **{account: known.opt_state(account) for account in known.opted_out | known.stopped.keys()},
        **states,
    }
    muted = (set(known.muted) - changes.mutes.keys()) | {
        account for account, on in changes.mutes.items() if on
    }
    return Quiet(
        rules.bot,
        rules.ignore,
        {account for account, state in after.items() if state.everything},
        {account: state.families for account, state in after.items()},
        muted,
    )


def _plan_notifications(
    badges: Iterable[EarnedBadge], known: OutboxView, pace: Pace, digests: Mapping[str, int], block_time: int
) -> tuple[tuple[NewNotification, ...], dict[str, int]]:
    """At most one open notification per account: announced badges join the open one, else open one,
    named after its first badge and due when :meth:`Pace.due` says (``digests``: the accounts on a digest
    after the batch, since when)."""
    opened: dict[str, NewNotification] = {}
    joined: dict[str, int] = {}
    for earned in badges:
        account = earned.badge.account
        if earned.silence is not None or account in opened or account in joined:
            continue
        if account in known.open_notifications:
            joined[account] = known.open_notifications[account]
            continue
        not_before = pace.due(block_time, known.last_sent.get(account), digests.get(account))
        opened[account] = NewNotification(account, notification_permlink(earned.badge), not_before)
    return tuple(opened.values()), joined


def plan_baseline(
    account: str,
    live: Mapping[Metric, int],
    baseline: Mapping[Metric, int],
    ladders: Mapping[Metric, tuple[int, ...]],
) -> tuple[EarnedBadge, ...]:
    """A finished baseline's badges: every threshold its counts and the live ones reach together, silent
    (reached before the bot followed the account)."""
    totals = {(account, metric): live.get(metric, 0) + baseline.get(metric, 0) for metric in Metric}
    return tuple(EarnedBadge(badge, Silence.BASELINE) for badge in find_crossings({}, totals, ladders))
