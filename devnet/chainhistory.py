"""The served chain's account history: which entries of blocks ``first_block`` … head go to which account.

Each block's entries are every operation of every transaction, in order, with an
``effective_comment_vote_operation`` (virtual, same transaction, the next ``op_in_trx``) right after each
vote that took effect: a vote whose block time is less than 7 days after the comment's creation (as the
source knows the comment at that block: a comment deleted and created again dates from its new creation), in
every era, as a node replayed with today's hived emits them (an old node's, from hardfork 24 on only:
``effective_from``). A vote on a paid-out comment is in the history without one. Their rshares follow
hived's sign rule (:func:`devnet.optypes.vote_rshares`: 0 for an unvote or a dust voter's upvote), without the
last 12 hours' scaling (the comment's age is not kept per vote here; the deep histories model it).

:class:`ChainIndex` scans each block once, as the head grows (~0.8 ms a generated block), and keeps per
account only packed references (block, place in the block, type id: 8 bytes an entry and account) and per
block which votes took effect; the entries themselves are rebuilt from the block when asked (~0.5 ms a
block), the most recent ones kept. A generated comment's creation comes from its name (the generator's
``comment_created``) unless a scanned block deleted it; other comments are asked of the source. A broadcast
goes into the block after the head; when that block was scanned already (a test moved the head back), it
and the blocks after it are scanned again. Memory grows with the served range (a live chain's 10 days of
history: ~300,000 blocks, a few minutes to scan on the first request).
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections import OrderedDict
from typing import Any

from devnet.generator import ChainGenerator
from devnet.ledger import Ledger
from devnet.optypes import Entry, effective_vote, impacted, op_id
from devnet.payouts import block_vops
from devnet.rand import mix
from devnet.source import PAYOUT_SECONDS, ChainSource

_CACHED_BLOCKS = 2048
_REMEMBERED_COMMENTS = 500_000  # creation times kept while scanning (votes come within 10 days)
_EFFECTIVE = 0xEC  # salt of the effective operations' numbers
NO_TRANSACTION = "0" * 40
NO_TRX_IN_BLOCK = 4_294_967_295  # a virtual operation of the block, in no transaction


def pack(block: int, place: int, type_id: int) -> int:
    """A reference to an entry: ordered like the entries (block, then place in the block)."""
    return block << 32 | place << 8 | type_id


def unpack(ref: int) -> tuple[int, int, int]:
    """``(block, place, type_id)`` of a reference."""
    return ref >> 32, ref >> 8 & 0xFF_FFFF, ref & 0xFF


class ChainIndex:
    """Per-account references to the history entries of ``source``'s blocks, built incrementally. Not
    thread-safe: the node calls it under its lock."""

    def __init__(self, source: ChainSource, *, effective_from: int = 0) -> None:
        self.source = source
        self.effective_from = effective_from
        """Votes from this time on get their effective operation (0: every era; an old node: HF24)."""
        self.tip = source.first_block - 1
        """The last block scanned."""
        self.blocks_built = 0
        """How many times a block's entries were computed (scans and cache misses): the work done."""
        self._refs: dict[str, array[int]] = {}
        self._effective: list[int] = []  # per scanned block: bit i set if its i-th vote took effect
        self._created: OrderedDict[tuple[str, str], int] = OrderedDict()  # comment → creation, while scanning
        self._deleted: set[tuple[str, str]] = set()  # comments deleted in a scanned block
        inner = source.source if isinstance(source, Ledger) else source
        self._generator = inner if isinstance(inner, ChainGenerator) else None
        self._cache: OrderedDict[int, list[Entry]] = OrderedDict()

    def advance(self, head: int) -> None:
        """Scan the blocks up to ``head`` (again from there, if the head moved back below the tip)."""
        if head < self.tip:
            self._truncate(head)
        for num in range(self.tip + 1, min(head, self.source.last_block) + 1):
            for place, entry in enumerate(self.entries_of(num)):
                ref = pack(num, place, entry.type_id)
                for account in impacted(entry.op):
                    self._refs.setdefault(account, array("Q")).append(ref)
            self.tip = num

    def forget(self, num: int) -> None:
        """Block ``num`` changed (a transaction went into it): scan it, and the blocks after it, again."""
        if num <= self.tip:
            self._truncate(num - 1)

    def refs(self, account: str) -> array[int]:
        """The account's references, oldest first (empty for an account the chain never mentions)."""
        return self._refs.get(account, _EMPTY)

    def count(self, account: str, last_block: int) -> int:
        """How many of the account's entries are in blocks up to ``last_block``."""
        return bisect.bisect_left(self.refs(account), pack(last_block + 1, 0, 0))

    def entry(self, ref: int) -> Entry:
        block, place, _ = unpack(ref)
        return self.entries_of(block)[place]

    def entries_of(self, num: int) -> list[Entry]:
        """The history entries of block ``num`` (scanned already, or the next one), in order."""
        cached = self._cache.get(num)
        if cached is not None:
            self._cache.move_to_end(num)
            return cached
        block = self.source.block(num)
        scanned = num - self.source.first_block < len(self._effective)
        effective = (
            self._effective[num - self.source.first_block] if scanned else self._scan_votes(num, block)
        )
        entries = [] if block is None else self._build(num, block, effective)
        self.blocks_built += 1
        self._cache[num] = entries
        if len(self._cache) > _CACHED_BLOCKS:
            self._cache.popitem(last=False)
        return entries

    def _build(self, num: int, block: dict[str, Any], effective: int) -> list[Entry]:
        stamp, ids = str(block["timestamp"]), block.get("transaction_ids", [])
        entries: list[Entry] = []
        votes = 0
        for trx_in_block, transaction in enumerate(block["transactions"]):
            trx_id = ids[trx_in_block] if trx_in_block < len(ids) else NO_TRANSACTION
            op_in_trx = 0  # virtual operations count too: a vote at 0 is followed by its effective op at 1
            for op in transaction["operations"]:
                op_id(op)  # an operation of unknown type fails here, loudly
                entries.append(Entry(trx_id, num, trx_in_block, op_in_trx, False, stamp, op))
                op_in_trx += 1
                if op["type"] != "vote_operation":
                    continue
                if effective >> votes & 1:
                    r = random.Random(mix(_EFFECTIVE, num, trx_in_block, op_in_trx))
                    follows = effective_vote(op["value"], r, time=self.source.block_time(num), age=None)
                    entries.append(Entry(trx_id, num, trx_in_block, op_in_trx, True, stamp, follows))
                    op_in_trx += 1
                votes += 1
        for op_in_trx, op in enumerate(block_vops(self.source, num), 1):
            entries.append(Entry(NO_TRANSACTION, num, NO_TRX_IN_BLOCK, op_in_trx, True, stamp, op))
        return entries

    def _scan_votes(self, num: int, block: dict[str, Any] | None) -> int:
        """Which votes of the next block took effect (bit i: its i-th vote), remembered for good."""
        effective, votes = 0, 0
        when = self.source.block_time(num)
        for transaction in [] if block is None else block["transactions"]:
            for op in transaction["operations"]:
                value = op["value"]
                if op["type"] in ("comment_operation", "delete_comment_operation"):
                    self._created.pop((value["author"], value["permlink"]), None)  # may be (re)created now
                    if op["type"] == "delete_comment_operation":
                        self._deleted.add((value["author"], value["permlink"]))
                elif op["type"] == "vote_operation":
                    created = self._creation(value["author"], value["permlink"], num)
                    young = created is not None and when - created < PAYOUT_SECONDS
                    if young and when >= self.effective_from:
                        effective |= 1 << votes
                    votes += 1
        self._effective.append(effective)
        return effective

    def _creation(self, author: str, permlink: str, num: int) -> int | None:
        """When the comment was created, as the source knows it at block ``num``: from the generator's names
        for a generated comment never deleted, else asked (and remembered while scanning: a comment or
        delete operation on it makes it asked again)."""
        key = (author, permlink)
        if self._generator is not None and key not in self._deleted:
            generated = self._generator.comment_created(author, permlink)
            if generated is not None and generated <= self.source.block_time(num):
                return generated
        created = self._created.get(key)
        if created is None:
            state = self.source.comment(author, permlink, num)
            if state is None:
                return None
            created = self._created[key] = state.created
            if len(self._created) > _REMEMBERED_COMMENTS:
                self._created.popitem(last=False)
        return created

    def _truncate(self, head: int) -> None:
        limit = pack(head + 1, 0, 0)
        for refs in self._refs.values():
            while refs and refs[-1] >= limit:
                refs.pop()
        for num in [num for num in self._cache if num > head]:
            del self._cache[num]
        del self._effective[max(0, head + 1 - self.source.first_block) :]
        self._created.clear()
        self.tip = head


_EMPTY: array[int] = array("Q")
