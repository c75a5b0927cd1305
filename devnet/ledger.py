"""A writable chain: transactions broadcast to the node, laid over any read-only chain source.

:class:`Ledger` is itself a :class:`~devnet.source.ChainSource`. A transaction accepted while the head is
``H`` goes into block ``H + 1``, after that block's own transactions, with its real id (beem's
``Signed_Transaction.id``); from the moment the head reaches ``H + 1``, the block carries it and the
comments, edits, votes and deletions it makes are part of the chain state (``comment``, ``root_posts``).
Transactions only ever go into blocks above the head, so a block the node has served never changes — except
when a test moves the head back below a block and transacts into it again (the node forgets that block's
cached JSON then).

Checks are hived's, in hived's order (:mod:`devnet.checks` has those needing no state): the operations'
own rules, duplicate, signatures, TaPoS, expiration (against the head block's time), then the operations
(:mod:`devnet.evaluators`) against the state as of
block ``H + 1``, which is also the time their rules are judged at (one comment per author per block, one root
post per 100 blocks, one edit per block, one vote per block — the generated traffic of that block counts),
then resource credits (at the head block's time). Not thread-safe: the node calls it under its lock.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from diff_match_patch import diff_match_patch

from devnet import checks, rc, signing
from devnet.checks import Rejected, fail
from devnet.evaluators import EVALUATORS, Event, Key, Options, Pending
from devnet.faults import DUPLICATE_MESSAGE, rc_message
from devnet.legacy import canonical_transaction
from devnet.source import AccountState, ChainSource, CommentState, VoteState
from devnet.world import parse_time


@dataclass(frozen=True, slots=True)
class Accepted:
    """A transaction the node accepted: its id, the block it goes into and its place there."""

    id: str
    block: int
    trx_num: int
    transaction: dict[str, Any]  # block_api format, as the block carries it
    expiration: int  # epoch seconds


class Ledger:
    """``source`` plus the transactions broadcast to it (a :class:`~devnet.source.ChainSource`)."""

    def __init__(self, source: ChainSource, *, chain_id: str = signing.MAINNET_CHAIN_ID) -> None:
        self.source = source
        self.chain_id = chain_id
        self.rc = rc.RcBook()
        self._by_block: dict[int, list[Accepted]] = {}
        self._by_id: dict[str, Accepted] = {}
        self._events: dict[Key, list[Event]] = {}
        self._roots: dict[str, list[tuple[int, int, str]]] = {}  # author → (block, seq, permlink), sorted
        self._children: dict[Key, set[Key]] = {}
        self._created_in: dict[int, list[Key]] = {}  # block → comments created there by broadcasts
        self._activity: dict[int, dict[str, set[str]]] = {}  # block → account → kinds, ledger only
        self._posted: dict[str, list[tuple[int, bool]]] = {}  # author → (block, created?), sorted
        self._source_activity: OrderedDict[int, tuple[int, dict[str, set[str]]]] = OrderedDict()
        self._seq = itertools.count()
        self._follows: list[
            tuple[int, str, tuple[str, ...], str]
        ] = []  # (block, follower, following, action)

    # -- ChainSource ------------------------------------------------------------------------------------------
    @property
    def first_block(self) -> int:
        return self.source.first_block

    @property
    def last_block(self) -> int:
        return self.source.last_block

    def block_id(self, num: int) -> str:
        return self.source.block_id(num)

    def block_time(self, num: int) -> int:
        return self.source.block_time(num)

    def witness(self, num: int) -> str:
        return self.source.witness(num)

    def account(self, name: str, head: int) -> AccountState | None:
        """The source's account, with ``last_post`` and ``last_post_edit`` set by the comments broadcast
        to the ledger in blocks up to ``head`` (the source's own traffic does not set them).

        hived sets them to its ``_now``, ``head_block_time()`` (``comment_evaluator::do_apply`` in
        ``libraries/chain/hive_evaluator_social.cpp``), which while a block's transactions are applied is
        still the previous block's time: ``database::_apply_block`` (``libraries/chain/database.cpp``,
        openhive-network/hive 0293e30b) applies them before ``update_global_dynamic_data``. So a comment
        in block B leaves ``last_post`` at the time of block B - 1."""
        state = self.source.account(name, head)
        posted = self._posted.get(name)
        if state is None or not posted:
            return state
        upto = posted[: bisect.bisect_right(posted, (head, True))]
        created = [block for block, create in upto if create]
        return replace(
            state,
            last_post=self.block_time(created[-1] - 1) if created else state.last_post,
            last_post_edit=self.block_time(upto[-1][0] - 1) if upto else state.last_post_edit,
        )

    def block(self, num: int) -> dict[str, Any] | None:
        block = self.source.block(num)
        accepted = self._by_block.get(num)
        if block is None or not accepted:
            return block
        ids = [*block.get("transaction_ids", []), *(a.id for a in accepted)]
        root = block["transaction_merkle_root"]
        return {
            **block,
            "transaction_merkle_root": ids[0][:40] if root == "0" * 40 else root,
            "transactions": [*block["transactions"], *(a.transaction for a in accepted)],
            "transaction_ids": ids,
        }

    def comment(self, author: str, permlink: str, head: int, *, votes: bool = False) -> CommentState | None:
        return self._state((author, permlink), head, votes=votes)

    def deletions(self, key: Key, head: int) -> int:
        """How many times the comment ``key`` was deleted by broadcast transactions up to block ``head``."""
        return sum(1 for event in self._events.get(key, ()) if event.kind == "delete" and event.block <= head)

    def root_posts(self, author: str, head: int, oldest: int) -> Iterator[tuple[int, str]]:
        ours = [
            (block, -seq, permlink)
            for block, seq, permlink in reversed(self._roots.get(author, []))
            if oldest <= block <= head and self._state((author, permlink), head) is not None
        ]
        theirs = ((block, 1, permlink) for block, permlink in self.source.root_posts(author, head, oldest))
        for block, _, permlink in heapq.merge(ours, theirs, key=lambda item: (-item[0], item[1])):
            yield block, permlink

    # -- broadcasts -------------------------------------------------------------------------------------------
    def find(self, transaction_id: str) -> Accepted | None:
        """The accepted transaction with this id (whether or not the head has reached its block yet)."""
        return self._by_id.get(transaction_id)

    def transactions(self, block: int) -> list[Accepted]:
        """The transactions accepted into ``block``, in order."""
        return list(self._by_block.get(block, ()))

    def accept(self, transaction: dict[str, Any], head: int) -> Accepted:
        """Check ``transaction`` (legacy or ``block_api`` JSON) as hived would with ``head`` as its head
        block and put it into block ``head + 1``; :class:`~devnet.checks.Rejected` if hived would refuse it."""
        accepted, pending = self._check(transaction, head)
        self._record(accepted, pending)
        return accepted

    def check(self, transaction: dict[str, Any], head: int) -> Accepted:
        """What :meth:`accept` would answer, without keeping the transaction (it is lost)."""
        return self._check(transaction, head)[0]

    def relationship(self, account1: str, account2: str, head: int) -> dict[str, bool]:
        """hivemind's ``bridge.get_relationship_between_accounts`` answer for the follow operations
        broadcast here up to ``head``: the follow group only (``blog``/``follow``, ``ignore``, ``""`` and
        the resets), as hivemind's ``process_follows`` applies them (openhive-network/hivemind, commit
        cab9e328bfd5bd9da2d228d68db75b07b7ae8f93, ``hive/db/sql_scripts/hafapp_api.sql``); blacklists are
        never set here."""
        follows = ignores = False
        for block, follower, following, action in self._follows:
            if block > head or follower != account1:
                continue
            if action in ("reset_all_lists", "reset_following_list", "reset_muted_list"):
                follows = follows and action == "reset_muted_list"
                ignores = ignores and action == "reset_following_list"
            elif account2 in following and action in ("blog", "follow", "ignore", ""):
                follows, ignores = action in ("blog", "follow"), action == "ignore"
        return {"blacklists": False, "follows": follows, "follows_blacklists": False, "follows_muted": False,
                "ignores": ignores}  # fmt: skip

    def rc_bar(self, account: str, head: int) -> rc.Manabar:
        """``account``'s RC manabar as stored (never-touched accounts: full, updated at the head time)."""
        return self.rc.bar(account, self.block_time(head))

    def set_rc(
        self, account: str, head: int, *, max_rc: int | None = None, current_mana: int | None = None
    ) -> None:
        """Give ``account`` this much RC (maximum and/or current mana) as of the head block's time."""
        self.rc.set(account, self.block_time(head), max_rc=max_rc, mana=current_mana)

    # -- checking ---------------------------------------------------------------------------------------------
    def _check(self, raw: dict[str, Any], head: int) -> tuple[Accepted, Pending]:
        block = head + 1
        transaction = canonical_transaction(raw)
        operations = [
            (str(op["type"]).removesuffix("_operation"), op["value"]) for op in transaction["operations"]
        ]
        if not operations:
            raise fail("!operations.empty()", "A transaction must have at least one operation")
        for name, value in operations:
            checks.validate_operation(name, value)
        try:
            signed = signing.verify(raw, self.chain_id)
        except signing.BadSignature as exc:
            raise Rejected(
                f"Assert Exception:is_canonical( c ): signature is not canonical ({exc})"
            ) from None
        if signed.id in self._by_id:
            raise Rejected(DUPLICATE_MESSAGE)
        needed = checks.required_authorities(operations)
        checks.check_signatures(needed, signed.keys, lambda name: self.account(name, head))
        checks.check_tapos(transaction["ref_block_num"], transaction["ref_block_prefix"], head, self.block_id)
        checks.check_expiration(transaction["expiration"], self.block_time(head))
        if block > self.last_block or self.source.block(block) is None:
            raise Rejected(f"devnet: the chain has no block {block} to put the transaction in")
        pending = Pending(block, self.block_time(block), self.block_time(head), sequence=self._seq)
        for name, value in operations:
            EVALUATORS[name](self, pending, value)
        pending.payer, pending.cost = needed[0][0], rc.transaction_cost(transaction["operations"])
        mana = self.rc.bar(pending.payer, pending.now).at(pending.now)
        if mana < pending.cost:
            raise Rejected(rc_message(pending.payer, mana, pending.cost))
        trx_num = self._source_block_info(block)[0] + len(self._by_block.get(block, ()))
        accepted = Accepted(signed.id, block, trx_num, transaction, parse_time(transaction["expiration"]))
        return accepted, pending

    def _record(self, accepted: Accepted, pending: Pending) -> None:
        self._by_block.setdefault(accepted.block, []).append(accepted)
        self._by_id[accepted.id] = accepted
        for key, event in pending.events:
            bisect.insort(self._events.setdefault(key, []), event, key=lambda e: (e.block, e.seq))
            if event.kind in ("create", "edit"):
                bisect.insort(self._posted.setdefault(key[0], []), (event.block, event.kind == "create"))
            if event.kind == "create":
                self._created_in.setdefault(event.block, []).append(key)
                if event.depth == 0:
                    bisect.insort(self._roots.setdefault(key[0], []), (event.block, event.seq, key[1]))
                else:
                    parent = (event.op["parent_author"], event.op["parent_permlink"])
                    self._children.setdefault(parent, set()).add(key)
        self._follows.extend((accepted.block, *follow) for follow in _follows(accepted.transaction))
        for account, kinds in pending.activity.items():
            self._activity.setdefault(accepted.block, {}).setdefault(account, set()).update(kinds)
        self.rc.spend(pending.payer, pending.cost, pending.now)

    # -- state ------------------------------------------------------------------------------------------------
    def _state(
        self, key: Key, head: int, *, votes: bool = False, pending: Pending | None = None
    ) -> CommentState | None:
        """The comment ``key`` as of block ``head`` (plus a transaction being evaluated into ``head``)."""
        state = self.source.comment(key[0], key[1], head, votes=votes)
        events = [e for e in self._events.get(key, ()) if e.block <= head]
        if pending is not None:
            events += pending.of(key)
        changed: list[VoteState] = []
        for event in events:
            if event.kind == "vote":
                changed.append(VoteState(event.op["voter"], int(event.op["weight"]), event.time))
            elif event.kind != "options":
                state = self._apply(state, key, event, head)
        if votes and state is not None and changed:
            latest = {vote.voter: vote for vote in state.votes}
            latest.update((vote.voter, vote) for vote in changed)
            state = replace(state, votes=tuple(sorted(latest.values(), key=lambda v: v.time)))
        return state

    def _apply(self, state: CommentState | None, key: Key, event: Event, head: int) -> CommentState | None:
        op = event.op
        if event.kind == "delete":
            return None
        if event.kind == "create" or state is None:
            root_title = op["title"] if event.depth == 0 else self._root_title(event.root, head)
            return CommentState(
                key[0], key[1], op["parent_author"], op["parent_permlink"], event.category, op["title"],
                op["body"], op["json_metadata"], event.time, event.time, event.depth, event.root[0],
                event.root[1], root_title,
            )  # fmt: skip
        body = _patched(state.body, op["body"])
        root_title = op["title"] if state.depth == 0 else state.root_title
        return replace(state, title=op["title"], body=body, json_metadata=op["json_metadata"],
                       last_update=event.time, root_title=root_title)  # fmt: skip

    def _root_title(self, root: Key, head: int) -> str:
        state = self._state(root, head)
        return "" if state is None else state.title

    # -- what the evaluators read (evaluators.ChainState) ------------------------------------------------------
    def state(self, key: Key, pending: Pending, *, votes: bool = False) -> CommentState | None:
        return self._state(key, pending.block, votes=votes, pending=pending)

    def made_by_broadcast(self, key: Key, pending: Pending) -> bool:
        return any(event.kind == "create" for event in [*self._events.get(key, ()), *pending.of(key)])

    def replies(self, key: Key) -> set[Key]:
        return set(self._children.get(key, ()))

    def options(self, key: Key, pending: Pending) -> Options:
        return self._options([*self._events.get(key, ()), *pending.of(key)], pending.block)

    def options_at(self, key: Key, head: int) -> Options:
        """The comment's options as set by broadcasts up to block ``head`` (hived's defaults otherwise)."""
        return self._options(self._events.get(key, []), head)

    def touched(self, key: Key) -> bool:
        """Whether any broadcast created, edited, voted on, deleted or set options of the comment ``key``."""
        return key in self._events

    def created_in(self, block: int) -> list[Key]:
        """The comments broadcasts created in ``block``, in order."""
        return list(self._created_in.get(block, ()))

    @staticmethod
    def _options(events: list[Event], head: int) -> Options:
        options = Options()
        for event in events:
            if event.kind == "options" and event.block <= head:
                op = event.op
                options.max_accepted_payout = int(op["max_accepted_payout"]["amount"])
                options.percent_hbd = int(op["percent_hbd"])
                options.allow_votes = bool(op["allow_votes"])
                options.allow_curation_rewards = bool(op["allow_curation_rewards"])
                for extension in op["extensions"]:
                    options.beneficiaries = list(extension["value"]["beneficiaries"])
        return options

    def activity(self, account: str, pending: Pending) -> set[str]:
        """What ``account`` did in the block ``pending`` goes into: its generated traffic, accepted
        transactions and the transaction being evaluated ({"create", "edit", "vote"})."""
        kinds = set(self._source_block_info(pending.block)[1].get(account, ()))
        kinds |= self._activity.get(pending.block, {}).get(account, set())
        return kinds | pending.activity.get(account, set())

    def _source_block_info(self, num: int) -> tuple[int, dict[str, set[str]]]:
        """(number of transactions, account → what it did) of the source's own block ``num``."""
        found = self._source_activity.get(num)
        if found is not None:
            return found
        block = self.source.block(num) or {"transactions": []}
        activity: dict[str, set[str]] = {}
        for transaction in block["transactions"]:
            for operation in transaction["operations"]:
                value = operation["value"]
                if operation["type"] == "vote_operation":
                    activity.setdefault(value["voter"], set()).add("vote")
                elif operation["type"] == "comment_operation":
                    earlier = self.source.comment(value["author"], value["permlink"], num - 1)
                    activity.setdefault(value["author"], set()).add("create" if earlier is None else "edit")
        found = (len(block["transactions"]), activity)
        self._source_activity[num] = found
        if len(self._source_activity) > 64:
            self._source_activity.popitem(last=False)
        return found


def _follows(transaction: dict[str, Any]) -> list[tuple[str, tuple[str, ...], str]]:
    """The follow operations of ``transaction`` as hivemind reads them: (follower, following, action)."""
    found = []
    for op in transaction["operations"]:
        value = op["value"]
        if op["type"] != "custom_json_operation" or value["id"] != "follow" or value["required_auths"]:
            continue
        try:
            kind, body = json.loads(value["json"])
            follower, following, what = body["follower"], body["following"], body["what"]
        except (ValueError, TypeError, KeyError):
            continue
        if kind != "follow" or [follower] != value["required_posting_auths"] or not isinstance(what, list):
            continue
        action = what[0] if what and what[0] not in (False, True) else ""
        found.append((follower, tuple(following) if isinstance(following, list) else (following,), action))
    return found


def _patched(old: str, body: str) -> str:
    """An edit's stored body: a diff-match-patch body (``@@ …``) applied to the old one when it applies
    cleanly (as hivemind does), otherwise the body as sent."""
    if not body.startswith("@@ "):
        return body
    dmp = diff_match_patch()
    try:
        patched, results = dmp.patch_apply(dmp.patch_fromText(body), old)
    except ValueError:
        return body
    return str(patched) if all(results) else body
