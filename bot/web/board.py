"""What the pages and the API show: an account's board, a ranking page, the bot's status.

``load_`` functions read the store (read-only); the rest is pure: the next target, the progress toward it,
how a badge was announced, whether each family is notified and the reply or custom_json that changes it, the
JSON the API answers (its keys are a contract: see the README).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.badges import Ladders, Silence
from bot.baselines import Baseline, BaselineState
from bot.counts import RankedRow
from bot.manners import Digest
from bot.metrics import FAMILIES, Family, Metric, count_json, unit
from bot.optouts import ALL, OptCommand
from bot.outbox import BadgeRecord, Manners, Since, State
from bot.store import Store

ANNOUNCED = "announced"
PENDING = "pending"
SILENT = "silent"
BASELINE = "baseline"
_PENDING_STATES = frozenset({State.WAITING, State.NO_POST, State.SENT})


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One count on the board, with its next target (``None``: past the last threshold)."""

    metric: Metric
    count: int
    next_target: int | None

    @property
    def percent(self) -> int:
        """How far the count is toward the next target, 0 … 100 (the target in its threshold's unit: HP
        for a payout counted in thousandths, :func:`bot.metrics.unit`)."""
        if self.next_target is None:
            return 100
        return min(100, self.count * 100 // (self.next_target * unit(self.metric)))


@dataclass(frozen=True, slots=True)
class BoardBadge:
    metric: Family
    threshold: int
    earned_block: int
    earned_at: str
    announced: str
    """How the badge was made known: ``announced`` (the notification is on chain), ``pending`` (waiting or
    on its way), ``silent`` (recorded without a notification: ignored, opted out, found late, dry run, given
    up) or ``baseline`` (reached by the account's history before the bot followed it)."""


@dataclass(frozen=True, slots=True)
class BaselineProgress:
    state: BaselineState
    percent: int
    """Of the account's history read (newest first), 0 … 100."""


@dataclass(frozen=True, slots=True)
class Change:
    """How an account turns some notifications off (or on again): the words of a reply to any comment of
    the bot, or the JSON of a ``custom_json`` (id ``notifications.custom_json_id``) signed by the account."""

    reply: str
    custom_json: str


@dataclass(frozen=True, slots=True)
class FamilyLine:
    """One family on the board: the badges earned in it, and whether the account hears of them."""

    metric: Family
    thresholds: tuple[int, ...]
    opt_out: Since | None
    """The opt-out that silences it (of this family, or of every family); None: not opted out."""
    notified: bool
    """Not opted out and not muting the bot: its next badge gets a notification."""
    change: Change
    """A STOP of the family, or its START when opted out of it."""


@dataclass(frozen=True, slots=True)
class Board:
    account: str
    lines: tuple[MetricLine, ...]
    families: tuple[FamilyLine, ...]
    badges: tuple[BoardBadge, ...]
    manners: Manners
    baseline: BaselineProgress | None
    digest_since: str | None = None
    """When the account chose the weekly digest (ISO-8601 UTC, its block's time); None: each notification
    goes out on its own (README, Notifications: digests)."""

    @property
    def opted_out(self) -> bool:
        """Of every family (a STOP naming none)."""
        return self.manners.everything is not None

    @property
    def change_all(self) -> Change:
        """A STOP of every family, or a START of every family once it stopped some."""
        return change(None, not self.manners.opt_state.opted_in)


def load_board(store: Store, account: str, ladders: Ladders) -> Board | None:
    """``account``'s board; ``None`` if the store knows nothing of it."""
    counts = store.load_counts(account)
    badges = store.outbox.load_badge_records(account)
    manners = store.outbox.load_manners(account)
    baseline = store.baselines.load(account)
    digest = store.outbox.load_view_of(account).digests.get(account)
    if counts is None and not badges and manners == Manners() and baseline is None and digest is None:
        return None
    return make_board(account, counts or {}, badges, manners, baseline, ladders, digest=digest)


def make_board(
    account: str,
    counts: Mapping[Metric, int],
    badges: Sequence[BadgeRecord],
    manners: Manners,
    baseline: Baseline | None,
    ladders: Ladders,
    *,
    digest: int | None = None,
) -> Board:
    """``digest``: the chain time the account chose the weekly digest (None: it did not)."""
    return Board(
        account=account,
        lines=tuple(
            MetricLine(m, counts.get(m, 0), next_target(counts.get(m, 0), ladders[m], unit(m)))
            for m in Metric
        ),
        families=tuple(family_line(family, badges, manners) for family in FAMILIES),
        badges=tuple(
            BoardBadge(b.metric, b.threshold, b.block_num, iso_time(b.block_time), announcement(b.announced))
            for b in badges
        ),
        manners=manners,
        baseline=None if baseline is None else baseline_progress(baseline),
        digest_since=None if digest is None else iso_time(digest),
    )


def family_line(metric: Family, badges: Sequence[BadgeRecord], manners: Manners) -> FamilyLine:
    opt_out = manners.opt_out(metric)
    return FamilyLine(
        metric=metric,
        thresholds=tuple(badge.threshold for badge in badges if badge.metric == metric),
        opt_out=opt_out,
        notified=manners.notified(metric),
        change=change(metric, opt_out is not None),
    )


def change(family: Family | None, stopped: bool) -> Change:
    """How to stop ``family``'s notifications (None: every family's), or to start them when ``stopped``:
    ``STOP posts`` and ``{"stop": ["posts"]}``, ``START`` and ``{"start": "all"}``."""
    command = OptCommand.START if stopped else OptCommand.STOP
    if family is None:
        return Change(command.upper(), json.dumps({command.value: ALL}))
    return Change(f"{command.upper()} {family.value}", json.dumps({command.value: [family.value]}))


def next_target(count: int, ladder: Sequence[int], scale: int = 1) -> int | None:
    """The first threshold of ``ladder`` that ``count`` (``scale`` count units to a threshold's unit, see
    :func:`bot.metrics.unit`) has not reached."""
    return next((threshold for threshold in ladder if threshold * scale > count), None)


def announcement(state_or_silence: str | None) -> str:
    """One of :data:`ANNOUNCED`, :data:`PENDING`, :data:`SILENT`, :data:`BASELINE` (see :class:`BoardBadge`)."""
    if state_or_silence == State.DELIVERED:
        return ANNOUNCED
    if state_or_silence in _PENDING_STATES:
        return PENDING
    if state_or_silence == Silence.BASELINE:
        return BASELINE
    return SILENT


def baseline_progress(baseline: Baseline) -> BaselineProgress:
    """The history is read newest first, down to index 0: ``next_start + 1`` entries are left to read."""
    if baseline.state is BaselineState.DONE:
        percent = 100
    elif baseline.next_start is None:
        percent = 0
    else:
        percent = baseline.entries * 100 // (baseline.entries + baseline.next_start + 1)
    return BaselineProgress(baseline.state, percent)


def iso_time(timestamp: int) -> str:
    """A chain time as ISO-8601 UTC, to the second: ``2025-06-15T12:00:00Z``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def board_json(board: Board) -> dict[str, object]:
    """The answer of ``GET /api/v1/accounts/{account}``. A count is a whole number, but a payout's is a
    decimal string in HP, exact (``"1234.567"``: :func:`count_json`); a next target is in the unit of the
    thresholds (HP for a payout), a whole number."""
    return {
        "account": board.account,
        "counts": {line.metric.value: count_json(line.metric, line.count) for line in board.lines},
        "next_targets": {line.metric.value: line.next_target for line in board.lines},
        "badges": [
            {
                "metric": badge.metric.value,
                "threshold": badge.threshold,
                "earned_block": badge.earned_block,
                "earned_at": badge.earned_at,
                "announced": badge.announced,
            }
            for badge in board.badges
        ],
        **manners_json(board),
        "baseline": None
        if board.baseline is None
        else {"state": board.baseline.state.value, "progress": board.baseline.percent / 100},
    }


def manners_json(board: Board) -> dict[str, object]:
    """What the account told the bot, as the API and ``hive-badge-bot account --json`` answer it: opted
    out of every family, each family's opt-out and whether it is notified, the mute, the digest."""
    return {
        "opted_out": board.opted_out,
        "families": {
            family.metric.value: {"notified": family.notified, "opted_out": _since_json(family.opt_out)}
            for family in board.families
        },
        "muted": _since_json(board.manners.mute),
        "digest": None
        if board.digest_since is None
        else {"choice": Digest.WEEKLY.value, "since": board.digest_since},
    }


def _since_json(since: Since | None) -> dict[str, object] | None:
    return None if since is None else {"block": since.block_num, "source": since.source}


def ranking_json(metric: Metric, total: int, rows: Sequence[RankedRow]) -> dict[str, object]:
    """The answer of ``GET /api/v1/ranking/{metric}``: each row's count as :func:`count_json` writes it
    (ranked, and paged by ``offset``, by the stored count: the order is the same)."""
    return {
        "metric": metric.value,
        "total": total,
        "rows": [
            {"rank": row.rank, "account": row.account, "count": count_json(metric, row.count)} for row in rows
        ],
    }


def load_status(store: Store, now: float) -> dict[str, object]:
    """The answer of ``GET /api/v1/status``: the checkpoint, how far its block time is behind ``now``
    (seconds), and totals."""
    checkpoint = store.load_checkpoint()
    outbox = store.outbox.load_summary()
    return {
        "checkpoint": None
        if checkpoint is None
        else {"block": checkpoint.block_num, "time": iso_time(checkpoint.block_time)},
        "lag_seconds": None if checkpoint is None else max(0, round(now - checkpoint.block_time)),
        "totals": {
            "accounts": store.load_summary()["accounts"],
            "badges": outbox["badges"],
            "opted_out": outbox["opted_out"],
            "ranked": {metric.value: store.load_ranked_total(metric) for metric in Metric},
        },
    }
