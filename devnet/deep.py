"""Deep account histories: what an account did before the first served block, up to millions of entries,
served by index without being held in memory.

``DeepHistory(entries=N, since=epoch)`` makes an account's history start with N synthetic entries (indices
0 … N-1) spread over the blocks from ``since`` to just before the first served block; the served chain's
entries follow (see :mod:`devnet.history`). Entry 0 is the account's creation (N ≥ 2), as on mainnet. Every entry is a pure function of (seed, account, N, since,
index): the entries are cut into *episodes* of :data:`EPISODE` entries, each generated alone from its own
random stream over its own share of the blocks (see :mod:`devnet.episodes` for what happens in one).
What one episode needs to know of another — its blocks, its first comment (never deleted, the target of
votes on paid-out posts), the operation types it may hold — comes from its :class:`Plan`, computed in a few
microseconds; so a page of entries costs the few episodes it spans, and a filtered walk skips the episodes
that cannot hold a wanted type.

Others' comments are named ``hist-<base36 creation block>-<tag>``, so a vote's effect can be checked from
the permlink alone; the account's own ones ``hist-<base36 episode>-…``. No generated permlink starts with
``hist-``. Deep histories are self-contained: the counterpart accounts' own histories do not mirror them, and
the node's ``find_comments`` does not know deep comments.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from devnet import names
from devnet.episodes import PAYOUT_TYPES, WORDS, Comment, Episode, b36
from devnet.optypes import (
    ACCOUNT_CREATE,
    CLAIM_REWARD_BALANCE,
    COMMENT,
    COMMENT_OPTIONS,
    CUSTOM_JSON,
    DELETE_COMMENT,
    EFFECTIVE_VOTE,
    OP_IDS,
    TRANSFER,
    VOTE,
    Entry,
    matches,
)
from devnet.rand import derive, mix, rng, unit

EPISODE = 40
"""Entries per episode (the last one may be shorter)."""
_PLAN, _EPISODE = 0xD1, 0xD2  # salts
PAYOUTS = tuple(OP_IDS[f"{name}_operation"] for name in PAYOUT_TYPES)
_CACHED_EPISODES = 64


@dataclass(frozen=True, slots=True)
class DeepHistory:
    """An account's history before the first served block: ``entries`` operations from ``since`` (epoch s)."""

    entries: int
    since: int

    def __post_init__(self) -> None:
        if self.entries < 0:
            raise ValueError("a deep history cannot have a negative number of entries")


@dataclass(frozen=True, slots=True)
class Plan:
    """What any episode can know about another without generating it."""

    episode: int
    lo: int  # its first block: that of its first comment
    hi: int  # one past its last block
    size: int  # entries
    options: bool  # … sent with comment_options
    deletes: bool  # it deletes a comment and creates it again
    creates: bool  # it begins with the account's creation (entry 0)
    mask_low: int  # the operation types it may hold (a superset), as a filter mask
    mask_high: int


def account_key(name: str) -> int:
    """A 64-bit number for an account name, the same in every process (``hash(str)`` is salted)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


class DeepHistoryGenerator:
    """The deep history of one account: :meth:`entry`, :meth:`entries` and :meth:`matching` by index.
    Episodes are generated on demand (~0.3 ms each) and the last few kept; nothing grows with N."""

    def __init__(
        self,
        account: str,
        config: DeepHistory,
        *,
        seed: int,
        first_block: int,
        first_time: int,
        counterparts: tuple[str, ...],
        effective_from: int = 0,
    ) -> None:
        self.account = account
        self.config = config
        self.seed = seed
        self.first_block = first_block
        self.first_time = first_time
        self.count = config.entries
        self.effective_from = effective_from
        """Votes from this time on get their effective operation (0: every era; an old node: HF24)."""
        self.others = tuple(name for name in counterparts if name != account)
        self.start_block = first_block - (first_time - config.since) // 3
        self.episodes_built = 0
        """How many episodes were generated (the work done: a page costs about limit / EPISODE + 1)."""
        self._key = account_key(account)
        self._episodes = -(-self.count // EPISODE)
        self._span = first_block - self.start_block
        self._cache: OrderedDict[int, list[Entry]] = OrderedDict()
        self._check()

    def _check(self) -> None:
        if not self.count:
            return
        if not self.others:
            raise ValueError("a deep history needs counterpart accounts")
        if self.config.since >= self.first_time:
            raise ValueError("a deep history must start before the first served block")
        if self.start_block < 1:
            raise ValueError(f"since {self.config.since} is before block 1 of this chain")
        needed = 3 * EPISODE * self._episodes  # a root post at most every 100 blocks (5 minutes)
        if self._span < needed:
            raise ValueError(
                f"{self.count} entries need at least {needed} blocks ({needed * 3 // 86_400 + 1} days) between "
                f"since and the first block; there are {self._span}"
            )

    # -- time -------------------------------------------------------------------------------------------
    def block_time(self, block: int) -> int:
        return self.first_time - 3 * (self.first_block - block)

    def lo(self, episode: int) -> int:
        """The first block of an episode (``lo(episodes)`` is the first served block)."""
        return self.start_block + self._span * episode // self._episodes

    def episode_of(self, block: int) -> int:
        """The episode whose blocks include ``block`` (a block of the deep range)."""
        e = (block - self.start_block) * self._episodes // self._span
        while e > 0 and self.lo(e) > block:
            e -= 1
        while e < self._episodes - 1 and self.lo(e + 1) <= block:
            e += 1
        return e

    # -- plans and episodes -------------------------------------------------------------------------------
    def plan(self, episode: int) -> Plan:
        lo, hi = self.lo(episode), self.lo(episode + 1)
        size = EPISODE if episode < self._episodes - 1 else self.count - EPISODE * episode
        h = mix(self.seed, _PLAN, self._key, episode)
        options = size >= 2 and unit(derive(h, 1)) < 0.3
        deletes = size >= 12 and (episode + self._key) % 4 == 0
        low = sum(1 << t for t in (VOTE, COMMENT, TRANSFER, CUSTOM_JSON, CLAIM_REWARD_BALANCE, *PAYOUTS))
        creates = episode == 0 and size >= 2
        low |= (1 << COMMENT_OPTIONS if options else 0) | (1 << DELETE_COMMENT if deletes else 0)
        low |= 1 << ACCOUNT_CREATE if creates else 0
        high = 1 << (EFFECTIVE_VOTE - 64) if self.block_time(hi - 1) >= self.effective_from else 0
        return Plan(episode, lo, hi, size, options, deletes, creates, low, high)

    def first_comment(self, episode: int) -> Comment:
        """The comment an episode starts with (never deleted): the target of later votes on paid-out posts."""
        h = mix(self.seed, _PLAN, self._key, episode)
        words = [WORDS[derive(h, 2 + i) % len(WORDS)] for i in range(2 + h % 4)]
        permlink = f"hist-{b36(episode)}-p-{'-'.join(words)}"
        lo = self.lo(episode)
        if unit(h) < 0.4:  # a root post
            tag = names.TAGS[derive(h, 9) % len(names.TAGS)]
            return Comment(self.account, permlink, "", tag, " ".join(words).capitalize(), lo)
        parent_author = self.others[derive(h, 10) % len(self.others)]
        parent_created = max(1, lo - 1 - derive(h, 11) % 86_400)
        parent = f"hist-{b36(parent_created)}-{b36(derive(h, 12) % 36**4)}"
        return Comment(self.account, permlink, parent_author, parent, "", lo)

    def episode(self, episode: int) -> list[Entry]:
        cached = self._cache.get(episode)
        if cached is not None:
            self._cache.move_to_end(episode)
            return cached
        r = rng(self.seed, _EPISODE, self._key, episode)
        entries = Episode(self, self.plan(episode), r).run()
        self.episodes_built += 1
        self._cache[episode] = entries
        if len(self._cache) > _CACHED_EPISODES:
            self._cache.popitem(last=False)
        return entries

    # -- by index ---------------------------------------------------------------------------------------
    def entry(self, index: int) -> Entry:
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.episode(index // EPISODE)[index % EPISODE]

    def entries(self, lo: int, hi: int) -> list[Entry]:
        """Entries ``lo`` … ``hi - 1``."""
        out: list[Entry] = []
        for episode in range(lo // EPISODE, (hi - 1) // EPISODE + 1) if lo < hi else ():
            first = episode * EPISODE
            out += self.episode(episode)[max(lo, first) - first : hi - first]
        return out

    def matching(self, top: int, limit: int, low: int, high: int) -> list[tuple[int, Entry]]:
        """Up to ``limit`` entries with index ≤ ``top`` whose type the filter ``(low, high)`` takes, newest
        first. Episodes that cannot hold such a type are skipped without being generated."""
        found: list[tuple[int, Entry]] = []
        episode = min(top, self.count - 1) // EPISODE
        while episode >= 0 and len(found) < limit:
            plan = self.plan(episode)
            if plan.mask_low & low or plan.mask_high & high:
                entries, first = self.episode(episode), episode * EPISODE
                for offset in range(min(len(entries) - 1, top - first), -1, -1):
                    if matches(entries[offset].type_id, low, high):
                        found.append((first + offset, entries[offset]))
                        if len(found) == limit:
                            break
            episode -= 1
        return found
