"""Which votes a generated block carries, and what they did to a comment by some head block.

Pure functions of the seed: see :mod:`devnet.lanes` for the scheduling and why voters never repeat on a
comment except through the deliberate ``edit``/``unvote`` lanes.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from devnet.lanes import backward, forward
from devnet.rand import Zipf, derive, mix, rng, unit
from devnet.source import VoteState
from devnet.world import CommentRef, World

if TYPE_CHECKING:
    from devnet.generator import GeneratorParams

_LANE, _VOTER, _WEIGHT, _STRATUM = 0xB3, 0xB4, 0xB5, 0xB6

Vote = tuple[str, int]  # (voter, weight)


class VoteScheduler:
    def __init__(self, world: World, params: GeneratorParams, first_block: int) -> None:
        self.world = world
        self.params = params
        self.seed = world.seed
        self.first_block = first_block

    @cached_property
    def _strata_of(self) -> dict[tuple[int, int], int]:
        """(lane, vote in lane) → voter stratum, for every vote lane."""
        pairs = [
            (i, sub)
            for i, lane in enumerate(self.params.lanes)
            if lane.kind == "vote"
            for sub in range(lane.votes)
        ]
        return {pair: stratum for stratum, pair in enumerate(pairs)}

    @cached_property
    def _stratum_size(self) -> int:
        return self.params.accounts // len(self._strata_of)

    @cached_property
    def _voters(self) -> list[int]:
        """Account indices, cut into strata of ``_stratum_size``."""
        order = list(range(self.params.accounts))
        rng(self.seed, _STRATUM).shuffle(order)
        return order

    @cached_property
    def _zipf(self) -> Zipf:
        return Zipf(self._stratum_size, self.params.voter_zipf)

    def votes_in(self, num: int) -> list[tuple[CommentRef, Vote]]:
        """The votes of block ``num``, lane by lane."""
        out = []
        for index, lane in enumerate(self.params.lanes):
            created = backward(self.seed, index, lane, num)
            for slot in self.world.slots(created):
                ref = CommentRef(created, slot)
                for sub in range(lane.votes):
                    vote = self.vote(index, sub, ref)
                    if vote is not None:
                        out.append((ref, vote))
        return out

    def vote(self, index: int, sub: int, ref: CommentRef) -> Vote | None:
        """Vote ``sub`` of lane ``index`` on comment ``ref``, None if the lane does not vote on it."""
        lane = self.params.lanes[index]
        u = unit(mix(self.seed, _LANE, index, ref.block, ref.slot, sub))
        if u >= max(lane.p_root, lane.p_reply):
            return None
        if u >= min(lane.p_root, lane.p_reply):
            is_root = self.world.is_root(ref.block, ref.slot)
            if u >= (lane.p_root if is_root else lane.p_reply):
                return None
        if lane.kind == "self":
            return self.world.author(ref.block, ref.slot), 10000
        if lane.kind == "vote":
            voter = self._voter(index, sub, ref)
            return None if voter is None else (voter, self._weight(index, sub, ref))
        base = self.vote(lane.base, 0, ref)
        if (
            base is None
            or forward(self.seed, lane.base, self.params.lanes[lane.base], ref.block) < self.first_block
        ):
            return None  # only change votes that the served chain shows
        return base[0], (0 if lane.kind == "unvote" else _changed_weight(base[1]))

    def _voter(self, index: int, sub: int, ref: CommentRef) -> str | None:
        strata, size = len(self._strata_of), self._stratum_size
        stratum = (self._strata_of[index, sub] + mix(self.seed, _STRATUM, ref.block, ref.slot)) % strata
        author = self.world.author_index(ref.block, ref.slot)
        h = mix(self.seed, _VOTER, index, sub, ref.block, ref.slot)
        for attempt in range(2):
            voter = self._voters[stratum * size + self._zipf.rank(derive(h, attempt))]
            if voter != author:
                return self.world.accounts[voter]
        return None

    def _weight(self, index: int, sub: int, ref: CommentRef) -> int:
        h = mix(self.seed, _WEIGHT, index, sub, ref.block, ref.slot)
        size = 100 * (1 + (h >> 40) % 99) if (h >> 32) & 7 else 1 + (h >> 40) % 9999  # mostly whole percents
        if unit(h) < self.params.downvote_share:
            return -size
        if unit(derive(h, 1)) < self.params.full_weight_share:
            return 10000
        return size

    def votes_on(self, ref: CommentRef, head: int) -> tuple[VoteState, ...]:
        """Votes on a comment as of block ``head``: the latest per voter, in order of their last change."""
        landed = []
        for index, lane in enumerate(self.params.lanes):
            block = forward(self.seed, index, lane, ref.block)
            if block > head:
                continue
            for sub in range(lane.votes):
                vote = self.vote(index, sub, ref)
                if vote is not None:
                    landed.append((block, vote))
        latest: dict[str, VoteState] = {}
        for block, (voter, weight) in sorted(landed):
            latest[voter] = VoteState(voter, weight, self.world.block_time(block))
        return tuple(sorted(latest.values(), key=lambda v: v.time))


def _changed_weight(weight: int) -> int:
    """Another weight for an edited vote (the chain rejects a "change" to the same weight)."""
    if weight == 10000:
        return 5000
    if weight < 0:
        return -10000 if weight != -10000 else -5000
    return 10000
