"""One episode of a deep history (:mod:`devnet.deep`): :data:`~devnet.deep.EPISODE` entries generated
event by event in time order from their own random stream, keeping what later events of the episode refer to.

An episode starts with one of the account's comments (a root post or a reply, sometimes with
``comment_options``) — the first episode (of at least 2 entries) with the account's creation before it, entry 0
of its history, as on mainnet (hived's pattern ``get_account_history/camilla``: ``start`` 0, ``limit`` 1 answers
@camilla's ``account_create_operation``), of a type no counting filter takes —, then draws events:

- votes others cast on the account's comments (mostly upvotes at 100 %, some partial, a few downvotes),
  votes the account casts on others' comments (~1 % downvotes), self-votes, vote changes and unvotes
  (the same voter, author and permlink again), votes on comments older than 7 days (no effective op): an
  older episode's first comment, or another account's old comment;
- replies by others to the account's comments (in its history, not its comments), the account's own
  replies, edits of its comments (the same permlink again);
- unrelated operations a filter must drop: ``custom_json``, ``transfer``, ``claim_reward_balance``.

When its plan says so, it also tells a story at fixed places: a reply created, deleted a few blocks later
(before any vote or reply could stop that), created again with the same permlink, and voted on. Votes that
took effect (less than 7 days after the comment's (re)creation, in every era as on a replayed node; an old
node's from hardfork 24 on only) are followed by their ``effective_comment_vote_operation``, in the same
transaction. Each event has its own block (one comment and
one vote per account every 3 s), 60 % of them in the 5 days after the first comment when the episode is
longer, and the episode always keeps a block for each entry still to come.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devnet import names
from devnet.chainhistory import NO_TRANSACTION, NO_TRX_IN_BLOCK
from devnet.evaluators import Options
from devnet.keys import public_key
from devnet.optypes import Entry, effective_vote, impacted
from devnet.payouts import PRICES, Cashout, cashout_vops
from devnet.source import PAYOUT_SECONDS, VoteState
from devnet.world import format_time

if TYPE_CHECKING:
    from devnet.deep import DeepHistoryGenerator, Plan

WEEK_BLOCKS = PAYOUT_SECONDS // 3  # a vote this many blocks after the comment's creation finds it paid out
_BURST = 5 * 28_800  # in a long episode, 60 % of the events fall in the 5 days after its first comment
WORDS = tuple(word for word in names.WORDS if word.isascii())


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment of a deep history: where it hangs, and the block that created it (last)."""

    author: str
    permlink: str
    parent_author: str
    parent_permlink: str
    title: str
    created: int  # block


def b36(n: int) -> str:
    return names.base36(n)


# The events of an episode, and how often each is drawn (forced steps aside).
_KINDS = ("vote_in", "vote_out", "vote_change", "self_vote", "vote_paid_out", "reply_in", "reply_out", "edit",
          "custom_json", "transfer", "claim", "payout")  # fmt: skip
_WEIGHTS = (28, 26, 3, 3, 4, 6, 5, 3, 12, 4, 4, 6)
PAYOUT_TYPES = ("author_reward", "curation_reward", "comment_reward", "comment_payout_update",
                "comment_benefactor_reward")  # fmt: skip
"""The cashout operations an account's history holds (``producer_reward`` aside: deep accounts are no
witnesses)."""


class Episode:
    """Generates one episode, event by event in time order, keeping what later events refer to."""

    def __init__(self, history: DeepHistoryGenerator, plan: Plan, r: random.Random) -> None:
        self.h = history
        self.plan = plan
        self.r = r
        self.account = history.account
        self.entries: list[Entry] = []
        self.block = plan.lo - 1  # of the last event
        self.own: list[Comment] = []  # the account's comments that exist now, oldest first
        # (voter, author, permlink) → (weight, creation block of the comment), for vote changes
        self.votes: dict[tuple[str, str, str], tuple[int, int]] = {}
        self.deleted: Comment | None = None
        # (from which entry, step) of the delete-and-create-again story, in order
        self.forced: list[tuple[int, str]] = []
        if plan.deletes:
            quarter, half = plan.size // 4, plan.size // 2
            self.forced = [(quarter, "create"), (quarter, "delete"), (half, "recreate"), (half, "vote_again")]

    def run(self) -> list[Entry]:
        self._first_comment()
        while len(self.entries) < self.plan.size:
            position, room = len(self.entries), self.plan.size - len(self.entries)
            block = self._next_block(position)
            if self.forced and (position >= self.forced[0][0] or room <= len(self.forced)):
                done = getattr(self, "_step_" + self.forced.pop(0)[1])(block, room - len(self.forced))
            else:
                kind = self.r.choices(_KINDS, _WEIGHTS)[0]
                done = getattr(self, "_" + kind)(block, room - len(self.forced))
            if not done:
                self._custom_json(block, 1)
        return self.entries

    def _next_block(self, position: int) -> int:
        """Events spread over the episode's blocks, denser after its first comment, each in its own block,
        leaving a block for every entry still to come."""
        plan, span = self.plan, self.plan.hi - self.plan.lo
        frac = position / plan.size
        if span > 2 * _BURST:
            offset = (
                int(frac / 0.6 * _BURST) if frac < 0.6 else _BURST + int((frac - 0.6) / 0.4 * (span - _BURST))
            )
        else:
            offset = int(frac * span)
        target = plan.lo + offset + self.r.randrange(max(1, span // (2 * plan.size)))
        return min(max(self.block + 1, target), plan.hi - plan.size + position)

    # -- emitting -----------------------------------------------------------------------------------------
    def _emit(
        self, block: int, *ops: dict[str, Any], virtual_last: bool = False, after_trx: int = -1
    ) -> None:
        """``ops`` as one transaction of ``block``, placed after its transaction ``after_trx``."""
        trx_id, trx_in_block = (
            f"{self.r.getrandbits(160):040x}",
            self.r.randrange(after_trx + 1, after_trx + 41),
        )
        stamp = format_time(self.h.block_time(block))
        for op_in_trx, op in enumerate(ops):
            virtual = virtual_last and op_in_trx == len(ops) - 1
            self.entries.append(Entry(trx_id, block, trx_in_block, op_in_trx, virtual, stamp, op))
        self.block = block

    def _takes_effect(self, block: int, created: int) -> bool:
        return self.h.block_time(block) >= self.h.effective_from and block - created < WEEK_BLOCKS

    def _vote(self, block: int, voter: str, target: tuple[str, str, int], weight: int, free: int) -> bool:
        author, permlink, created = target
        effective = self._takes_effect(block, created)
        if effective and free < 2:
            return False
        value = {"voter": voter, "author": author, "permlink": permlink, "weight": weight}
        vote = {"type": "vote_operation", "value": value}
        if effective:
            when, age = self.h.block_time(block), 3 * (block - created)
            self._emit(block, vote, effective_vote(value, self.r, time=when, age=age), virtual_last=True)
        else:
            self._emit(block, vote)
        self.votes[voter, author, permlink] = (weight, created)
        return True

    def _comment(self, block: int, comment: Comment, body: str) -> dict[str, Any]:
        metadata = '{"app":"peakd/2025.7.1","format":"markdown"}'
        return {"type": "comment_operation", "value": {
            "parent_author": comment.parent_author, "parent_permlink": comment.parent_permlink,
            "author": comment.author, "permlink": comment.permlink, "title": comment.title, "body": body,
            "json_metadata": metadata,
        }}  # fmt: skip

    def _text(self, low: int, high: int) -> str:
        return " ".join(self.r.choices(WORDS, k=self.r.randint(low, high))).capitalize()

    def _other(self) -> str:
        return self.h.others[self.r.randrange(len(self.h.others))]

    def _others_comment(self, block: int, *, paid_out: bool = False) -> tuple[str, str, int]:
        """Another account's comment, created within the last 6 days (or 7–10 days ago)."""
        age = (
            WEEK_BLOCKS + self.r.randrange(86_400) if paid_out else 1 + self.r.randrange(WEEK_BLOCKS - 28_800)
        )
        created = max(1, block - age)
        return self._other(), f"hist-{b36(created)}-{b36(self.r.getrandbits(20))}", created

    # -- events -------------------------------------------------------------------------------------------
    def _first_comment(self) -> None:
        first = self.h.first_comment(self.plan.episode)
        after = -1
        if self.plan.creates:
            self._emit(first.created, self._creation())
            after = self.entries[-1].trx_in_block
        op = self._comment(first.created, first, self._text(8, 60))
        if self.plan.options:
            options = {"type": "comment_options_operation", "value": {
                "author": self.account, "permlink": first.permlink,
                "max_accepted_payout": {"amount": "1000000000", "precision": 3, "nai": "@@000000013"},
                "percent_hbd": 10000, "allow_votes": True, "allow_curation_rewards": True, "extensions": [],
            }}  # fmt: skip
            self._emit(first.created, op, options, after_trx=after)
        else:
            self._emit(first.created, op, after_trx=after)
        self.own.append(first)

    def _creation(self) -> dict[str, Any]:
        """The account's creation by another account, as @camilla's reads in hived's pattern (its keys
        derived from the account's name)."""

        def authority(role: str) -> dict[str, Any]:
            return {
                "weight_threshold": 1,
                "account_auths": [],
                "key_auths": [[public_key(self.account, role, "deep"), 1]],
            }

        return {"type": "account_create_operation", "value": {
            "fee": {"amount": "3000", "precision": 3, "nai": "@@000000021"}, "creator": self._other(),
            "new_account_name": self.account, "owner": authority("owner"), "active": authority("active"),
            "posting": authority("posting"), "memo_key": public_key(self.account, "memo", "deep"),
            "json_metadata": "",
        }}  # fmt: skip

    def _target(self) -> Comment:
        """One of the account's comments: mostly the newest."""
        return self.own[-1] if self.r.random() < 0.7 else self.own[self.r.randrange(len(self.own))]

    def _vote_in(self, block: int, free: int) -> bool:
        target = self._target()
        voter = self._other()
        if (voter, self.account, target.permlink) in self.votes:
            return False
        u = self.r.random()
        weight = (
            10000 if u < 0.8 else -100 * self.r.randint(1, 100) if u < 0.84 else 100 * self.r.randint(1, 99)
        )
        return self._vote(block, voter, (self.account, target.permlink, target.created), weight, free)

    def _vote_out(self, block: int, free: int) -> bool:
        u = self.r.random()
        weight = 10000 if u < 0.85 else -10000 if u < 0.86 else 100 * self.r.randint(1, 99)
        return self._vote(block, self.account, self._others_comment(block), weight, free)

    def _vote_change(self, block: int, free: int) -> bool:
        if not self.votes:
            return False
        key = list(self.votes)[self.r.randrange(len(self.votes))]
        weight, created = self.votes[key]
        changed = 0 if weight and self.r.random() < 0.35 else 5000 if weight == 10000 else 10000
        return self._vote(block, key[0], (key[1], key[2], created), changed, free)

    def _self_vote(self, block: int, free: int) -> bool:
        target = self.own[-1]
        if (self.account, self.account, target.permlink) in self.votes:
            return False
        return self._vote(block, self.account, (self.account, target.permlink, target.created), 10000, free)

    def _vote_paid_out(self, block: int, free: int) -> bool:
        before = block - WEEK_BLOCKS - 1 - self.r.randrange(28_800)
        if before >= self.h.start_block and self.r.random() < 0.5:
            old, voter = self.h.first_comment(self.h.episode_of(before)), self._other()
            if (voter, self.account, old.permlink) in self.votes:
                return False
            return self._vote(block, voter, (self.account, old.permlink, old.created), 10000, free)
        return self._vote(block, self.account, self._others_comment(block, paid_out=True), 10000, free)

    def _reply_in(self, block: int, free: int) -> bool:
        target = self._target()
        permlink = f"hist-{b36(block)}-re-{b36(self.r.getrandbits(20))}"
        reply = Comment(self._other(), permlink, self.account, target.permlink, "", block)
        self._emit(block, self._comment(block, reply, self._text(1, 30)))
        return True

    def _reply_out(self, block: int, free: int) -> bool:
        parent_author, parent_permlink, _ = self._others_comment(block)
        permlink = f"hist-{b36(self.plan.episode)}-r{len(self.entries)}"
        reply = Comment(self.account, permlink, parent_author, parent_permlink, "", block)
        self._emit(block, self._comment(block, reply, self._text(1, 30)))
        self.own.append(reply)
        return True

    def _edit(self, block: int, free: int) -> bool:
        target = self.own[self.r.randrange(len(self.own))]
        self._emit(block, self._comment(block, target, self._text(8, 40) + "\n\nEdit: " + self._text(2, 8)))
        return True

    def _custom_json(self, block: int, free: int) -> bool:
        ident, payload = self.r.choice((
            ("follow", f'["follow",{{"follower":"{self.account}","following":"{self._other()}","what":["blog"]}}]'),
            ("community", '["subscribe",{"community":"hive-174578"}]'),
            ("sm_claim_reward", f'{{"type":"quest","n":"{self.r.getrandbits(40):010x}"}}'),
        ))  # fmt: skip
        value = {"required_auths": [], "required_posting_auths": [self.account], "id": ident, "json": payload}
        self._emit(block, {"type": "custom_json_operation", "value": value})
        return True

    def _transfer(self, block: int, free: int) -> bool:
        sender, receiver = (
            (self.account, self._other()) if self.r.random() < 0.5 else (self._other(), self.account)
        )
        amount = {"amount": str(self.r.randint(1, 100_000)), "precision": 3, "nai": "@@000000021"}
        value = {"from": sender, "to": receiver, "amount": amount, "memo": self.r.choice(("", "thanks!"))}
        self._emit(block, {"type": "transfer_operation", "value": value})
        return True

    def _payout(self, block: int, free: int) -> bool:
        """A cashout 7 days after a comment's creation, in the amounts :mod:`devnet.payouts` pays: of one of
        the account's comments (with the votes this episode cast on it), of a comment it upvoted
        (curation), or of another's comment naming it beneficiary. Only the operations hived puts in this
        account's history, as the block's own virtual operations."""
        latest = self.plan.hi - self.plan.size + len(self.entries)  # leaves a block for each entry to come
        own = [c for c in self.own if block <= c.created + WEEK_BLOCKS <= latest]
        curated = [(a, p, c) for (v, a, p), (w, c) in self.votes.items()
                   if v == self.account and w > 0 and block <= c + WEEK_BLOCKS <= latest]  # fmt: skip
        u = self.r.random()
        if own and u < 0.5:
            comment = own[self.r.randrange(len(own))]
            votes = tuple(VoteState(v, w, 0) for (v, a, p), (w, _) in self.votes.items()
                          if (a, p) == (self.account, comment.permlink))  # fmt: skip
            cashout = Cashout(self.account, comment.permlink, votes)
            when = comment.created + WEEK_BLOCKS
        elif curated and u < 0.8:
            author, permlink, created = curated[self.r.randrange(len(curated))]
            votes = (VoteState(self._other(), 10000, 0), VoteState(self.account, 10000, 0))
            cashout, when = Cashout(author, permlink, votes), created + WEEK_BLOCKS
        else:
            author, permlink, _ = self._others_comment(block, paid_out=True)
            options = Options(
                beneficiaries=[{"account": self.account, "weight": self.r.choice((500, 1000, 2500))}]
            )
            cashout, when = Cashout(author, permlink, (VoteState(self._other(), 10000, 0),), options), block
        ops = [op for op in cashout_vops(cashout, self.h.seed, PRICES) if self.account in impacted(op)]
        if not ops or len(ops) > free:
            return False
        stamp, first = format_time(self.h.block_time(when)), 2 + self.r.randrange(40)
        for place, op in enumerate(ops):
            self.entries.append(Entry(NO_TRANSACTION, when, NO_TRX_IN_BLOCK, first + place, True, stamp, op))
        self.block = when
        return True

    def _claim(self, block: int, free: int) -> bool:
        value = {
            "account": self.account,
            "reward_hive": {"amount": "0", "precision": 3, "nai": "@@000000021"},
            "reward_hbd": {"amount": str(self.r.randint(0, 5_000)), "precision": 3, "nai": "@@000000013"},
            "reward_vests": {
                "amount": str(self.r.randint(1, 50_000_000)),
                "precision": 6,
                "nai": "@@000000037",
            },
        }
        self._emit(block, {"type": "claim_reward_balance_operation", "value": value})
        return True

    # -- the delete-and-create-again story ------------------------------------------------------------------
    def _step_create(self, block: int, free: int) -> bool:
        parent_author, parent_permlink, _ = self._others_comment(block)
        permlink = f"hist-{b36(self.plan.episode)}-d"
        self.deleted = Comment(self.account, permlink, parent_author, parent_permlink, "", block)
        self._emit(block, self._comment(block, self.deleted, self._text(1, 20)))
        return True

    def _step_delete(self, block: int, free: int) -> bool:
        if self.deleted is None:  # the steps run in order: never
            return False
        block = max(self.block + 1, min(block, self.deleted.created + 2_000))  # before it could be paid out
        value = {"author": self.account, "permlink": self.deleted.permlink}
        self._emit(block, {"type": "delete_comment_operation", "value": value})
        return True

    def _step_recreate(self, block: int, free: int) -> bool:
        if self.deleted is None:
            return False
        again = Comment(self.account, self.deleted.permlink, self.deleted.parent_author,
                         self.deleted.parent_permlink, "", block)  # fmt: skip
        self._emit(block, self._comment(block, again, self._text(1, 20)))
        self.own.append(again)
        return True

    def _step_vote_again(self, block: int, free: int) -> bool:
        again = self.own[-1]
        return self._vote(block, self._other(), (self.account, again.permlink, again.created), 10000, free)
