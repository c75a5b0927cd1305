"""Vote lanes: how the generator schedules votes so that any block's votes are computable on their own.

A lane is a bijection from "the block a comment was created in" to "the block one vote on it lands in".
Blocks are cut into windows of ``window`` blocks; window ``w`` is mapped onto window ``w + shift`` by an
affine permutation drawn from (seed, lane, w). So every block receives exactly one candidate vote per lane
(for the comments of exactly one earlier block), the delay of lane votes lies in
``[shift * window - window + 1, shift * window + window - 1]``, and both directions are O(1).

A comment gets at most one vote per lane. Voters of one comment come from different strata of the account
pool (one per lane, rotated per comment), so a voter never votes twice on a comment by accident: the only
repeated (voter, comment) pairs are the deliberate ``edit`` and ``unvote`` lanes, which change the vote of
their ``base`` lane later (their delays start after the base lane's delays end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from devnet.rand import affine_permutation, mix

LaneKind = Literal["vote", "self", "edit", "unvote"]

_SALT = 0x1A7E


@dataclass(frozen=True, slots=True)
class VoteLane:
    window: int
    shift: int
    p_root: float
    """Probability that a root post gets this lane's vote."""
    p_reply: float
    """Probability that a reply gets this lane's vote."""
    kind: LaneKind = "vote"
    base: int = -1
    """For ``edit``/``unvote``: index of the lane whose (first) vote this one changes."""
    votes: int = 1
    """Votes per comment (each drawn on its own, voters from distinct strata) — a curation trail."""

    @property
    def min_delay(self) -> int:
        return self.shift * self.window - self.window + 1

    @property
    def max_delay(self) -> int:
        return self.shift * self.window + self.window - 1

    def __post_init__(self) -> None:
        if self.window < 1 or self.shift < 1 or self.votes < 1:
            raise ValueError(f"lane needs window, shift and votes >= 1: {self}")
        if self.kind != "vote" and self.votes != 1:
            raise ValueError(f"only vote lanes carry several votes: {self}")


def check_lanes(lanes: tuple[VoteLane, ...]) -> None:
    """Raise ValueError unless every edit/unvote lane follows a vote lane it always comes after."""
    for index, lane in enumerate(lanes):
        if lane.kind not in ("edit", "unvote"):
            continue
        if not 0 <= lane.base < len(lanes) or lanes[lane.base].kind not in ("vote", "self"):
            raise ValueError(f"lane {index}: base {lane.base} is not a vote lane")
        if lane.min_delay <= lanes[lane.base].max_delay:
            raise ValueError(f"lane {index} may land before the vote it changes (lane {lane.base})")


def forward(seed: int, index: int, lane: VoteLane, created: int) -> int:
    """The block in which lane ``index`` votes on comments created in block ``created``."""
    w, x = divmod(created, lane.window)
    a, b, _ = affine_permutation(lane.window, mix(seed, _SALT, index, w))
    return (w + lane.shift) * lane.window + (a * x + b) % lane.window


def backward(seed: int, index: int, lane: VoteLane, block: int) -> int:
    """The creation block of the comments lane ``index`` votes on in ``block`` (inverse of forward)."""
    target_w, y = divmod(block, lane.window)
    w = target_w - lane.shift
    _, b, a_inv = affine_permutation(lane.window, mix(seed, _SALT, index, w))
    return w * lane.window + (a_inv * (y - b)) % lane.window


def _vote(window: int, shift: int, p_root: float = 0.95, p_reply: float = 0.27, votes: int = 2) -> VoteLane:
    return VoteLane(window, shift, p_root, p_reply, votes=votes)


DAY = 28_800  # blocks

DEFAULT_LANES: tuple[VoteLane, ...] = (
    # 0–10: ordinary votes, from seconds to 7 days after creation (a comment pays out after 201,600 blocks)
    _vote(7, 1), _vote(50, 2), _vote(200, 2), _vote(600, 2), _vote(1600, 2), _vote(4800, 2), _vote(14400, 2),
    _vote(DAY, 1), _vote(DAY, 3), _vote(DAY, 5), _vote(14400, 13, votes=1),
    # 11–12: votes on paid-out comments (7–10 days old): accepted by the chain, without effect
    _vote(DAY, 8, 0.15, 0.03, 1), _vote(14400, 19, 0.15, 0.03, 1),
    # 13: self-votes, within a minute
    VoteLane(7, 1, 0.30, 0.10, "self"),
    # 14–15: the first voter of lane 3 / lane 5 changes their vote later (another weight)
    VoteLane(1200, 3, 0.35, 0.35, "edit", 3), VoteLane(9600, 3, 0.25, 0.25, "edit", 5),
    # 16–17: the first voter of lane 2 / lane 7 removes their vote later (weight 0)
    VoteLane(400, 3, 0.15, 0.15, "unvote", 2), VoteLane(DAY, 3, 0.12, 0.12, "unvote", 7),
)  # fmt: skip
