"""A seeded generator of realistic modern Hive blocks (``block_api.get_block`` format), random access.

``ChainGenerator(seed, first_block, genesis_time).block(n)`` is a pure function of ``(seed, n)``: it never
computes the blocks before ``n``. Comments are named from the block that creates them (see
:mod:`devnet.world`) and votes are scheduled by lanes (see :mod:`devnet.lanes`), so a block can say
which earlier comments it votes on, edits or replies to without any history. Votes reach back up to 10 days,
so the first blocks served already vote on comments created before ``first_block``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from devnet import keys, ops
from devnet.lanes import DEFAULT_LANES, VoteLane, check_lanes
from devnet.posts import RootPostIndex
from devnet.rand import affine_permutation, mix, rng
from devnet.source import AccountState, CommentState
from devnet.votes import VoteScheduler
from devnet.world import CommentRef, World, format_time

_BLOCK, _ID, _WITNESS, _ACCOUNT = 0xB0, 0xB1, 0xB2, 0xB7


@dataclass(frozen=True)
class GeneratorParams:
    """Rates of the generated chain. Defaults follow mainnet 2020–2025 (rates measured on real blocks):
    ~12 transactions a block, ~10 of them votes, ~1 comment (25 % root posts)."""

    accounts: int = 3000
    author_zipf: float = 1.0  # skew of authorship: the top author writes ~11 % of comments
    voter_zipf: float = 1.0  # skew of voting inside each voter stratum
    comment_slots: tuple[float, ...] = (0.92, 0.08)  # P(a block creates a comment in slot j)
    root_share: float = 0.25  # share of new comments that are root posts
    edit_share: float = 0.07  # share of slot-0 comments edited 1–2399 blocks later
    patch_edit_share: float = 0.5  # share of edits that send a diff-match-patch ("@@ -…") body
    comment_options_share: float = 0.3  # share of new comments sent with a comment_options_operation
    lanes: tuple[VoteLane, ...] = DEFAULT_LANES
    full_weight_share: float = 0.86  # share of ordinary upvotes at 100 %
    downvote_share: float = 0.01  # share of ordinary votes that are downvotes
    custom_json_rate: float = 0.6  # custom_json transactions per block
    transfer_rate: float = 0.1
    claim_rate: float = 0.2
    extra_accounts: tuple[str, ...] = ()  # accounts that exist but never act (e.g. the bot's own)
    password: str = "devnet"  # every account's keys derive from (name, role, password)
    witnesses: int = 21

    def __post_init__(self) -> None:
        check_lanes(self.lanes)
        strata = sum(lane.votes for lane in self.lanes if lane.kind == "vote")
        if self.accounts < 2 * max(strata, self.witnesses):
            raise ValueError(f"need at least {2 * max(strata, self.witnesses)} accounts")


class ChainGenerator:
    """A generated chain (a :class:`~devnet.source.ChainSource`). The constructor only assigns; the
    account pools are built on first use (~30 ms)."""

    def __init__(
        self,
        seed: int,
        first_block: int,
        genesis_time: int,
        params: GeneratorParams | None = None,
        *,
        blocks: int = 10_000_000,
    ) -> None:
        self.seed = seed
        self.params = params if params is not None else GeneratorParams()
        self.world = World(seed, first_block, genesis_time, self.params)
        self.votes = VoteScheduler(self.world, self.params, first_block)
        self.posts = RootPostIndex(self.world)
        self._first_block = first_block
        self._last_block = first_block + blocks - 1

    @property
    def first_block(self) -> int:
        return self._first_block

    @property
    def last_block(self) -> int:
        return self._last_block

    @property
    def accounts(self) -> tuple[str, ...]:
        """The accounts that act on this chain (extra_accounts exist too, but never act)."""
        return self.world.accounts

    @cached_property
    def witnesses(self) -> tuple[str, ...]:
        picks = rng(self.seed, _WITNESS).sample(range(self.params.accounts), self.params.witnesses)
        return tuple(self.world.accounts[i] for i in picks)

    @cached_property
    def _signing_keys(self) -> dict[str, str]:
        return {w: keys.public_key(w, "witness", self.params.password) for w in self.witnesses}

    # -- blocks -------------------------------------------------------------------------------------------
    def block_id(self, num: int) -> str:
        return f"{num & 0xFFFFFFFF:08x}{mix(self.seed, _ID, num):016x}{mix(self.seed, _ID, num, 1):016x}"

    def block_time(self, num: int) -> int:
        return self.world.block_time(num)

    def witness(self, num: int) -> str:
        count = len(self.witnesses)
        a, b, _ = affine_permutation(count, mix(self.seed, _WITNESS, num // count))
        return self.witnesses[(a * (num % count) + b) % count]

    def block(self, num: int) -> dict[str, Any] | None:
        if not self._first_block <= num <= self._last_block:
            return None
        r = rng(self.seed, _BLOCK, num)
        groups = self._comment_groups(num, r) + self._vote_groups(num) + self._other_groups(r)
        r.shuffle(groups)
        when = self.block_time(num)
        refs = [ops.TaposRef.of(ref, self.block_id(ref)) for ref in range(max(1, num - 3), num)]
        transactions = [ops.transaction(r, refs, when, group) for group in groups]
        ids = [f"{r.getrandbits(160):040x}" for _ in transactions]
        witness = self.witness(num)
        return {
            "previous": self.block_id(num - 1),
            "timestamp": format_time(when),
            "witness": witness,
            "transaction_merkle_root": f"{r.getrandbits(160):040x}" if ids else "0" * 40,
            "extensions": [],
            "witness_signature": ops.signature(r),
            "transactions": transactions,
            "block_id": self.block_id(num),
            "signing_key": self._signing_keys[witness],
            "transaction_ids": ids,
        }

    def _comment_groups(self, num: int, r: random.Random) -> list[list[dict[str, Any]]]:
        groups = []
        for slot in self.world.slots(num):
            ref = CommentRef(num, slot)
            head, text = self.world.head(ref), self.world.text(ref)
            group = [ops.comment(text.parent_author, text.parent_permlink, head.author, head.permlink,
                                 text.title, text.body, text.json_metadata)]  # fmt: skip
            if r.random() < self.params.comment_options_share:
                group.append(ops.comment_options(r, head.author, head.permlink, self.world.accounts))
            groups.append(group)
        edited = self.world.edited_in(num)
        if edited is not None:
            head, text = self.world.head(edited), self.world.text(edited)
            sent, _ = self.world.edit_text(edited)
            groups.append([ops.comment(text.parent_author, text.parent_permlink, head.author, head.permlink,
                                       text.title, sent, text.json_metadata)])  # fmt: skip
        return groups

    def _vote_groups(self, num: int) -> list[list[dict[str, Any]]]:
        groups = []
        for ref, (voter, weight) in self.votes.votes_in(num):
            head = self.world.head(ref)
            groups.append([ops.vote(voter, head.author, head.permlink, weight)])
        return groups

    def _other_groups(self, r: random.Random) -> list[list[dict[str, Any]]]:
        accounts = self.world.accounts
        groups = [[ops.custom_json(r, accounts)] for _ in range(_count(r, self.params.custom_json_rate))]
        groups += [[ops.transfer(r, accounts)] for _ in range(_count(r, self.params.transfer_rate))]
        groups += [[ops.claim_reward_balance(r, accounts)] for _ in range(_count(r, self.params.claim_rate))]
        return groups

    # -- state at a head block ----------------------------------------------------------------------------
    def comment_created(self, author: str, permlink: str) -> int | None:
        """Creation time (epoch s) of any comment this chain ever creates, even before first_block."""
        ref = self.world.locate(author, permlink)
        return None if ref is None else self.world.block_time(ref.block)

    def comment(self, author: str, permlink: str, head: int, *, votes: bool = False) -> CommentState | None:
        ref = self.world.locate(author, permlink)
        if ref is None or ref.block > head:
            return None
        text, created = self.world.text(ref), self.world.block_time(ref.block)
        body, updated = text.body, created
        edited = self.world.edit_block(ref)
        if edited is not None and edited <= head:
            body, updated = self.world.edit_text(ref)[1], self.world.block_time(edited)
        root, depth = self.world.root_of(ref)
        root_head = self.world.head(root)
        return CommentState(
            author, permlink, text.parent_author, text.parent_permlink, text.category, text.title, body,
            text.json_metadata, created, updated, depth, root_head.author, root_head.permlink,
            self.world.text(root).title, self.votes.votes_on(ref, head) if votes else (),
        )  # fmt: skip

    def account(self, name: str, head: int) -> AccountState | None:
        if name not in self._account_set:
            return None
        days = 30 + mix(self.seed, _ACCOUNT, *name.encode()) % 2000
        created = self.block_time(self._first_block) - 86_400 * days
        password = self.params.password
        owner, active, posting, memo = (keys.public_key(name, role, password) for role in keys.ROLES)
        return AccountState(name, created, owner, active, posting, memo)

    def root_posts(self, author: str, head: int, oldest: int) -> Iterator[tuple[int, str]]:
        index = self._author_index.get(author)  # extra_accounts never act: None
        if index is None:
            return
        for ref in self.posts.newest_first(index, head, oldest):
            yield ref.block, self.world.head(ref).permlink

    @cached_property
    def _account_set(self) -> frozenset[str]:
        return frozenset(self.world.accounts) | frozenset(self.params.extra_accounts)

    @cached_property
    def _author_index(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.world.accounts)}


def _count(r: random.Random, rate: float) -> int:
    whole = int(rate)
    return whole + (1 if r.random() < rate - whole else 0)


LIVE_FIRST_BLOCK = 90_000_000
"""Where a live generated chain starts: a mainnet-like height (mainnet passed block 90 M in October 2024)."""
LIVE_HISTORY_DAYS = 10
"""The history a live chain already has: enough for every vote lane to reach back."""


def live_chain(seed: int, now: float, extra_accounts: tuple[str, ...] = ()) -> tuple[ChainGenerator, int]:
    """A generated chain whose head block is ``now`` (epoch seconds), with ten days of history behind it, and
    that head block's number."""
    genesis = int(now) - LIVE_HISTORY_DAYS * 86_400
    chain = ChainGenerator(seed, LIVE_FIRST_BLOCK, genesis, GeneratorParams(extra_accounts=extra_accounts))
    return chain, LIVE_FIRST_BLOCK + LIVE_HISTORY_DAYS * 28_800
