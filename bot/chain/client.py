"""The Hive API the bot uses — reads, and broadcasts of signed transactions — with failover between nodes.

The layers below: :mod:`bot.chain.pool` (which node to ask, back-off, incidents), :mod:`bot.chain.jsonrpc`
(a request and its answer), :mod:`bot.chain.transport` (the bytes on the wire), :mod:`bot.chain.verdicts`
(what an error answer means). Here: which nodes a call goes to, and what each answer says.

- A call goes to the first node, in config order, that is not backing off; a node that fails (no answer in
  time, HTTP error, an answer that is not JSON, a JSON-RPC error) is set aside and the next one is asked.
- A node whose answer arrived but is wrong is set aside the same way: a malformed answer to any read, and
  blocks that are missing, do not link to the block before them, or cannot be parsed
  (:meth:`ChainClient.fetch_blocks`); the next node is asked within the same call.
- A node rate-limited (HTTP 429) backs off for its ``Retry-After`` instead (capped at
  :data:`~bot.chain.verdicts.MAX_RETRY_AFTER`). A JSON-RPC batch a node (its proxy) refuses — jussi's
  "JSONRPC batch size of 60 exceeds 50", an HTTP 4xx, a single answer — is sent again in batches of the
  size it names, else one call at a time; the limit is remembered for that node (shared by clones).
- When no node is left to ask, reads raise :class:`~bot.errors.TransientChainError` with one message
  (:data:`NO_NODE_LEFT`) whether the nodes were just asked or were all backing off already, so that the
  daemon, which logs a repeated job error at debug level, logs one warning per outage.

A stale node: :meth:`ChainClient.fetch_state` asks the first two nodes that are not backing off. The first
one's state is used — the blocks, lookups and broadcasts that follow go to that same node, which has the
blocks it says are irreversible and knows the head block a transaction refers to — unless its irreversible
block is more than :data:`MAX_NODE_LAG` blocks behind the second's: then it is set aside (one line) and the
second's state is used, so a node that fell behind cannot hold the bot back. A second node that far behind
the first is set aside too. With a single node, one call, as before. The price is one more
``get_dynamic_global_properties`` per batch, the cheapest call there is.
"""

from __future__ import annotations

import copy
import enum
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import structlog

from bot.chain.jsonrpc import Batch, ErrorAnswer, RateLimited, Unauthorized, decode, first_line, request
from bot.chain.pool import Node, NodePool
from bot.chain.transactions import PostingKey, Reply, TaposBlock, sign_reply
from bot.chain.transport import HttpTransport, Transport
from bot.chain.verdicts import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    Judge,
    Verdict,
    classify_error_answer,
    classify_read_error,
)
from bot.errors import (
    ChainDataError,
    ChainError,
    NotEnoughRCError,
    PermanentChainError,
    PostingKeyError,
    TransientChainError,
    UnconfirmedBroadcastError,
)
from bot.operations import Block, CommentKey, check_continuity, parse_block_range, parse_timestamp
from bot.payouts import VOPS_FILTER, Payout, Prices, parse_prices, parse_virtual_ops

MAX_BLOCK_RANGE = 1000
"""hived answers ``block_api.get_block_range`` with at most this many blocks."""
MAX_FIND_COMMENTS = 1000
"""hived's limit of comments asked in one ``database_api.find_comments`` call."""
MAX_VOPS_RANGE = 2000
"""hived's limit of blocks in one ``account_history_api.enum_virtual_ops`` range ("Block range distance must
be less than or equal to 2000", the rocksdb plugin)."""
VOPS_PAGE = 5000
"""Operations asked per ``enum_virtual_ops`` call (hived allows 150,000): a mainnet day pays ~300,000
curation rewards, ~10 a block, so a 1000-block batch is two or three calls of ~2 MB each."""
MAX_FIND_ACCOUNTS = 1000
"""hived's limit of accounts asked in one ``database_api.find_accounts`` call (DATABASE_API_SINGLE_QUERY_LIMIT)."""
RC_REGENERATION = 432_000
"""Seconds in which resource credits regenerate from empty to full (5 days)."""
MAX_NODE_LAG = 20
"""Blocks (one minute) a node's irreversible block may trail another node's before it is set aside."""
NO_NODE_LEFT = "no node answered; each is set aside for a while"
"""What a read says, after its ``api.method``, when no node is left to ask."""

_REFUSED_CALL = (METHOD_NOT_FOUND, INVALID_PARAMS)
"""JSON-RPC codes of a call the node refuses itself: no such method or API, invalid parameters."""

_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)
"""What reading a node's answer raises when the answer is not shaped as hived's."""

T = TypeVar("T")

log = structlog.get_logger("bot.chain")


@dataclass(frozen=True, slots=True)
class ChainState:
    head_block: int
    head_block_id: str
    irreversible_block: int
    time: int  # the head block's time, seconds since the epoch


@dataclass(frozen=True, slots=True)
class ResourceCredits:
    current: int  # regenerated up to the time asked for
    maximum: int

    @property
    def percent(self) -> float:
        return 100.0 * self.current / self.maximum if self.maximum else 0.0


class BroadcastResult(enum.Enum):
    ACCEPTED = "accepted"
    ALREADY_ACCEPTED = "already accepted"  # "Duplicate transaction": the chain took it before


class ChainClient:
    """Reads the chain from a list of nodes, failing over between them. No I/O until the first call."""

    def __init__(
        self,
        nodes: Sequence[str],
        *,
        timeout: float,
        max_backoff: float,
        clock: Callable[[], float] = time.monotonic,
        transport: Transport | None = None,
        budget: float | None = None,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        """``transport``: how requests reach the nodes (default: HTTP through beem, ``timeout`` seconds each);
        ``budget``: calls a second per node, shared with the clones (None: no limit; see
        :mod:`bot.chain.pool`); ``wait``: how a call waits for its node's budget."""
        self._pool = NodePool(nodes, max_backoff=max_backoff, clock=clock, budget=budget)
        self._transport = transport or HttpTransport(timeout)
        self._wait = wait
        self._chain_id: str | None = None
        self._last: Node | None = None  # the node that answered the last call
        self._last_call = ""  # its "api.method"

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(node.url for node in self._pool.nodes)

    def node_failures(self) -> dict[str, int]:
        """Failures of each node since start-up (shared with this client's clones), for the metrics."""
        return {node.url: node.health.total_failures for node in self._pool.nodes}

    def clone(self, *, wait: Callable[[float], None] | None = None) -> ChainClient:
        """Another client for the same nodes, with its own connections (for another thread: a client is
        used by one thread at a time) and the same knowledge of their health and budgets: a node one sets
        aside, the other does not ask, and an incident is one warning between them. ``wait``: how its
        calls wait for a node's budget (default: as this client's do)."""
        twin = copy.copy(self)
        twin._pool = self._pool.clone()
        twin._transport = self._transport.fork()
        twin._last, twin._last_call = None, ""
        twin._wait = wait or self._wait
        return twin

    # -- what the bot asks ----------------------------------------------------------------------

    def fetch_state(self) -> ChainState:
        """The chain's state as the first node not backing off sees it, unless that node is stale (see the
        module docstring)."""
        state = self._read("database_api", "get_dynamic_global_properties", {}, _chain_state)
        first = self._last
        second = next((node for node in self._pool.ready() if node is not first), None)
        if first is None or second is None:
            return state
        call = "database_api.get_dynamic_global_properties"
        try:
            other = _chain_state(self._call([second], "database_api", "get_dynamic_global_properties", {}))
        except ChainError:
            return self._answered_by(first, state)  # the second node failed (set aside, logged)
        except _MALFORMED as exc:
            self._failed(second, f"malformed answer ({exc!r})", call)
            return self._answered_by(first, state)
        if other.irreversible_block - state.irreversible_block > MAX_NODE_LAG:
            self._failed(first, _behind(state, other), call)
            return self._answered_by(second, other)
        if state.irreversible_block - other.irreversible_block > MAX_NODE_LAG:
            self._failed(second, _behind(other, state), call)
        return self._answered_by(first, state)

    def fetch_blocks(self, first: int, count: int, previous_id: str | None = None) -> list[Block]:
        """Blocks ``first`` … ``first + count - 1``, parsed, each linked to the one before and the first to
        ``previous_id`` (``None``: unknown), from the first node whose blocks fit; a node may send fewer
        than asked (its last irreversible blocks). A node whose blocks do not fit — none, malformed, not
        linked — is set aside and the next one asked; when none is left, the last misfit is raised as
        :class:`ChainDataError`. A node that sent fewer than ``count - MAX_NODE_LAG`` blocks is set aside
        too, once its blocks are taken: the next batch asks another one.

        This call is the bulk of what the bot reads, so the answer skips any generic decoding: the
        ``result``'s bytes go straight to :func:`bot.operations.parse_block_range`."""
        if not 1 <= count <= MAX_BLOCK_RANGE:
            raise ValueError(f"count must be 1..{MAX_BLOCK_RANGE}, got {count}")
        params = {"starting_block_num": first, "count": count}
        last = first + count - 1
        for _ in self._pool.nodes:  # each node at most once
            raw = self._read("block_api", "get_block_range", params, _blocks, raw=True)
            try:
                blocks = parse_block_range(raw, first)
                if not blocks:
                    raise ChainDataError(f"no block {first} although block {last} is irreversible")
                check_continuity(blocks, first, previous_id)
            except ChainDataError as exc:
                if not self._set_aside(str(exc)):
                    raise
                continue
            if count - len(blocks) > MAX_NODE_LAG:
                self._set_aside(f"sent {len(blocks)} of blocks {first} … {last}, all irreversible")
            return blocks
        raise ChainDataError(f"no node sent blocks {first} … {last} that fit the chain")

    def fetch_payouts(self, first: int, count: int) -> list[Payout]:
        """The payouts (author, curation and beneficiary rewards) of blocks ``first`` … ``first + count -
        1``, in chain order, from ``account_history_api.enum_virtual_ops`` with a filter, page after page.

        Each block has a ``producer_reward_operation`` (asked too): a node whose answer lacks the last
        block's has not got the range in its history yet — a history index trails the node's irreversible
        block a little, more on an API node whose history is served by another program (HAfAH) — and
        would leave payouts out without a word. It is set aside and the next node asked; with none left,
        :class:`TransientChainError` (the batch is done again later). Reversible blocks are included:
        the bot asks only for blocks it took as irreversible, which a node whose index trails holds as
        reversible still."""
        if not 1 <= count <= MAX_VOPS_RANGE:
            raise ValueError(f"count must be 1..{MAX_VOPS_RANGE}, got {count}")
        last = first + count - 1
        reason = ""
        for _ in self._pool.nodes:  # each node at most once
            payouts, covered = self._payout_pages(first, last)
            if covered:
                return payouts
            reason = f"enum_virtual_ops: no virtual operations of block {last} yet (its history trails)"
            if not self._set_aside(reason):
                break
        raise TransientChainError(reason)

    def _payout_pages(self, first: int, last: int) -> tuple[list[Payout], bool]:
        """Every page of the payouts of ``first`` … ``last``, and whether they showed ``last``'s producer
        reward (the last page, too, is read: the limit may cut a block's operations in two). A page that
        does not move on is a malformed answer (the node set aside)."""
        params: dict[str, Any] = {
            "block_range_begin": first,
            "block_range_end": last + 1,
            "filter": VOPS_FILTER,
            "limit": VOPS_PAGE,
            "include_reversible": True,
        }
        payouts: list[Payout] = []
        covered = False
        at = (first, 0)
        while True:
            page = self._read("account_history_api", "enum_virtual_ops", params, parse_virtual_ops, raw=True)
            payouts += page.payouts
            covered = covered or last in page.produced
            if page.next_operation == 0 or not first <= page.next_block <= last:
                return payouts, covered
            if (page.next_block, page.next_operation) <= at:
                self._set_aside(f"enum_virtual_ops: the next page does not move on from {at}")
                raise TransientChainError("enum_virtual_ops: a node's pages do not move on")
            at = (page.next_block, page.next_operation)
            params.update(block_range_begin=page.next_block, operation_begin=page.next_operation)

    def fetch_prices(self) -> Prices:
        """The figures that turn VESTS and HBD into HIVE now (see :class:`bot.payouts.Prices`): the vesting
        fund and shares of ``get_dynamic_global_properties``, the median of ``get_feed_history``."""
        props = self._read("database_api", "get_dynamic_global_properties", {}, dict)
        return self._read("database_api", "get_feed_history", {}, lambda feed: parse_prices(props, feed))

    def fetch_comment_times(self, keys: Iterable[CommentKey]) -> dict[CommentKey, int | None]:
        """The creation time of each comment as the chain has it now; ``None`` for one it does not have."""
        wanted = sorted(set(keys))
        found: dict[CommentKey, int | None] = dict.fromkeys(wanted)
        chunks = Batch(
            {"comments": [list(key) for key in wanted[start : start + MAX_FIND_COMMENTS]]}
            for start in range(0, len(wanted), MAX_FIND_COMMENTS)
        )  # hived takes 1000 a call: the calls go in one request (a JSON-RPC batch), one round trip

        def times(answers: list[bytes]) -> list[tuple[CommentKey, int]]:
            return [pair for answer in answers for pair in _comment_times(answer)]

        if chunks:
            comments = self._read("database_api", "find_comments", chunks, times, raw=True)
            found.update((key, created) for key, created in comments if key in found)
        return found

    def fetch_account_creations(self, accounts: Iterable[str]) -> dict[str, int]:
        """When each of ``accounts`` the chain has was created: ``created`` of ``database_api.find_accounts``
        (hived's pattern test ``database_api_patterns/find_accounts/find``: ``"2016-06-30T17:22:18"``, UTC),
        the calls of 1000 accounts each in one JSON-RPC batch."""
        wanted = sorted(set(accounts))
        chunks = Batch(
            {"accounts": wanted[start : start + MAX_FIND_ACCOUNTS]}
            for start in range(0, len(wanted), MAX_FIND_ACCOUNTS)
        )

        def creations(answers: list[bytes]) -> dict[str, int]:
            return {
                str(item["name"]): parse_timestamp(item["created"])
                for answer in answers
                for item in json.loads(answer)["accounts"]
            }

        if not chunks:
            return {}
        found = self._read("database_api", "find_accounts", chunks, creations, raw=True)
        asked = set(wanted)
        return {name: created for name, created in found.items() if name in asked}

    def fetch_contents(self, keys: Iterable[CommentKey]) -> dict[CommentKey, str | None]:
        """The stored text (edits applied) of each comment; ``None`` for one the node does not have.

        On public nodes hivemind serves ``condenser_api.get_content``, and answers a deleted or unknown
        comment with an error — -31999 "Invalid parameters", "Post a/p was deleted 1 time(s)"; -32602
        "Assert Exception:Post a/p does not exist" (hivemind's ``condenser_api_negative/get_content``
        pattern tests) — where hived answers an empty comment. Any error answer is about that comment, not
        the node: ``None``, logged once, the node kept. A node that does not answer fails over as for any
        read."""
        found: dict[CommentKey, str | None] = {}
        for author, permlink in sorted(set(keys)):

            def body(answer: Any, author: str = author) -> str | None:
                return str(answer["body"]) if answer.get("author") == author else None

            try:
                found[(author, permlink)] = self._read(
                    "condenser_api", "get_content", [author, permlink], body, judge=classify_read_error
                )
            except _Answered as answer:
                log.info("content_unavailable", author=author, permlink=permlink, answer=answer.message)
                found[(author, permlink)] = None
        return found

    def fetch_account_history(
        self, account: str, start: int, limit: int, *, filter_low: int, filter_high: int
    ) -> list[Any]:
        """One page of ``account``'s irreversible history: ``[[index, entry], …]``, ascending, the entries
        with index ≤ ``start`` (-1: the newest) that pass the operation filter, ``limit`` at most."""
        params = {
            "account": account,
            "start": start,
            "limit": limit,
            "include_reversible": False,
            "operation_filter_low": filter_low,
            "operation_filter_high": filter_high,
        }
        return self._read("account_history_api", "get_account_history", params, _history)

    def fetch_latest_root_post(self, account: str) -> tuple[str, int] | None:
        """The permlink and creation time of ``account``'s newest root post, ``None`` if it has none."""

        def newest(answer: Any) -> tuple[str, int] | None:
            posts = [post for post in answer if post["author"] == account and post["depth"] == 0]
            return None if not posts else (str(posts[0]["permlink"]), parse_timestamp(posts[0]["created"]))

        params = {"account": account, "sort": "posts", "limit": 1}
        return self._read("bridge", "get_account_posts", params, newest)

    def fetch_mutes(self, account: str, target: str) -> bool:
        """Whether ``account`` mutes ``target``: hivemind's ``bridge.get_relationship_between_accounts``
        ``{"account1", "account2"}`` answers ``{"follows", "ignores", "blacklists", "follows_blacklists",
        "follows_muted"}`` (its pattern tests ``get_relationship_between_accounts/ignores``, ``none``)."""
        params = {"account1": account, "account2": target}
        return self._read(
            "bridge", "get_relationship_between_accounts", params, lambda answer: bool(answer["ignores"])
        )

    def fetch_resource_credits(self, account: str, now: int) -> ResourceCredits:
        """``account``'s resource credits at chain time ``now`` (regenerated linearly since last used)."""

        def manabar(answer: Any) -> tuple[int, int, int]:
            found = [item for item in answer["rc_accounts"] if item["account"] == account]
            if not found:
                raise PermanentChainError(f"find_rc_accounts: the chain has no account {account!r}")
            bar = found[0]["rc_manabar"]
            return int(found[0]["max_rc"]), int(bar["current_mana"]), int(bar["last_update_time"])

        maximum, mana, since = self._read("rc_api", "find_rc_accounts", {"accounts": [account]}, manabar)
        regenerated = mana + max(0, now - since) * maximum // RC_REGENERATION
        return ResourceCredits(min(maximum, regenerated), maximum)

    def check_posting_key(self, account: str, key: PostingKey) -> None:
        """Raise :class:`PostingKeyError` unless ``key`` is one of ``account``'s posting keys. An active or
        owner key is refused: it is more than the bot needs, and since HF28 posting operations signed
        with it are rejected."""

        def key_roles(answer: Any) -> dict[str, set[str]]:
            found = [item for item in answer["accounts"] if item["name"] == account]
            if not found:
                raise PostingKeyError(f"the account @{account} (account in the config) does not exist")
            return {
                role: {k for k, _ in found[0][role]["key_auths"]} for role in ("owner", "active", "posting")
            }

        roles = self._read("database_api", "find_accounts", {"accounts": [account]}, key_roles)
        if key.public in roles["posting"]:
            return
        for role in ("active", "owner"):
            if key.public in roles[role]:
                raise PostingKeyError(
                    f"the key given is @{account}'s {role} key; the bot must have the POSTING key only "
                    "(since HF28 posting operations signed with another key are rejected)"
                )
        raise PostingKeyError(f"the key given ({key.public}) is not a posting key of @{account}")

    def broadcast_reply(
        self, reply: Reply, key: PostingKey, head: ChainState, expiration: float
    ) -> BroadcastResult:
        """Sign ``reply`` referring to the ``head`` block, valid for ``expiration`` chain seconds, and
        broadcast it. A node's error answer decides the outcome (see the package docstring)."""
        transaction = sign_reply(
            reply,
            key,
            TaposBlock(head.head_block, head.head_block_id, head.time),
            expiration,
            self.chain_id(),
        )
        try:
            self.call("condenser_api", "broadcast_transaction", [transaction], judge=classify_error_answer)
        except _Answered as answer:
            return _broadcast_outcome(answer)
        except _NoAnswer as exc:
            raise UnconfirmedBroadcastError(f"broadcast unconfirmed: {exc}") from None
        return BroadcastResult.ACCEPTED

    def chain_id(self) -> str:
        """The chain id, as the node reports it (``database_api.get_config``), read once."""
        if self._chain_id is None:
            self._chain_id = self._read(
                "database_api", "get_config", {}, lambda config: str(config["HIVE_CHAIN_ID"])
            )
        return self._chain_id

    def fetch_last_comment_time(self, account: str) -> int:
        """When ``account``'s latest comment or edit was applied, as the chain judges its next one:
        hived's ``last_post_edit`` (``database_api.find_accounts``), which both a new comment and an edit
        set (a new comment also sets ``last_post``, never later); 0 if it never posted."""

        def last_post_edit(answer: Any) -> int:
            found = [item for item in answer["accounts"] if item["name"] == account]
            if not found:
                raise PermanentChainError(f"find_accounts: the chain has no account {account!r}")
            return max(parse_timestamp(found[0][field]) for field in ("last_post", "last_post_edit"))

        return self._read("database_api", "find_accounts", {"accounts": [account]}, last_post_edit)

    # -- failover -------------------------------------------------------------------------------

    def call(
        self, api: str, method: str, params: Mapping[str, Any] | list[Any], *, judge: Judge | None = None
    ) -> Any:
        """Call ``api.method(params)`` on the first healthy node, failing over to the others.

        ``params`` is a list for ``condenser_api``. With ``judge``, an error answer that it finds to be the
        node's word about what was asked (any verdict but unconfirmed) is raised as :class:`_Answered` at
        once: the node is healthy, it said no. Without, every error answer is the node's failure.
        """
        return self._call(self._pool.ready(), api, method, params, judge=judge)

    def _set_aside(self, reason: str) -> bool:
        """Set aside the node that answered the last call: its answer was wrong although it came. It backs
        off as a failed node does, logged as a failure is. Returns whether another node can be asked now."""
        if self._last is not None:
            self._failed(self._last, reason, self._last_call)
            self._last = None
        return bool(self._pool.ready())

    def _answered_by(self, node: Node, state: ChainState) -> ChainState:
        self._last = node
        return state

    def _failed(self, node: Node, reason: str, call: str, *, wait: float | None = None) -> None:
        """``node`` backs off (see :mod:`bot.chain.pool`); its connection is dropped, made afresh later."""
        self._pool.failed(node, reason, call, wait=wait)
        self._transport.drop(node.url)

    def close(self) -> None:
        for node in self._pool.nodes:
            self._transport.drop(node.url)

    def _read(
        self,
        api: str,
        method: str,
        params: Mapping[str, Any] | list[Any],
        parse: Callable[[Any], T],
        *,
        raw: bool = False,
        judge: Judge | None = None,
    ) -> T:
        """``parse`` of the answer to a read. A node whose answer ``parse`` finds malformed (it raises
        KeyError, TypeError, ValueError or AttributeError) is set aside and the next node is asked.
        ``judge``: as for :meth:`call`."""
        reason = ""
        for _ in self._pool.nodes:  # each node at most once
            try:
                answer = self._call(self._pool.ready(), api, method, params, raw=raw, judge=judge)
            except _NoAnswer:
                raise TransientChainError(f"{api}.{method}: {NO_NODE_LEFT}") from None
            try:
                return parse(answer)
            except _MALFORMED as exc:
                reason = f"{api}.{method}: malformed answer ({exc!r})"
                if not self._set_aside(reason):
                    break
        raise TransientChainError(reason)

    def _call(
        self,
        nodes: list[Node],
        api: str,
        method: str,
        params: Mapping[str, Any] | list[Any],
        *,
        judge: Judge | None = None,
        raw: bool = False,
    ) -> Any:
        """Ask ``nodes`` in turn until one answers (see :meth:`call`); ``raw``: the result's JSON bytes."""
        if not nodes:
            raise TransientChainError(f"{api}.{method}: {NO_NODE_LEFT}")
        call = self._last_call = f"{api}.{method}"
        refused: list[str] = []
        for node in self._turns(nodes):
            try:
                answer = request(self._transport, node, call, params)
            except ErrorAnswer as exc:
                verdict = None if judge is None else judge(exc.code, exc.message, exc.data)
                if verdict not in (None, Verdict.UNCONFIRMED):
                    self._last = node
                    raise _Answered(exc.message, verdict) from None
                if exc.code in _REFUSED_CALL:
                    refused.append(f"{node.url}: {exc}")
                    self._failed(node, f"refused: {exc}", call)
                else:
                    self._failed(node, str(exc), call)
            except RateLimited as exc:
                self._failed(node, str(exc), call, wait=exc.seconds)
            except Unauthorized as exc:
                refused.append(f"{node.url}: {exc}")
                self._failed(node, f"refused: {exc}", call)
            except Exception as exc:  # noqa: BLE001 - a transport raises anything from requests and json alike
                self._failed(node, _describe(exc), call)
            else:
                self._last = node
                return answer if raw else decode(answer)
        if len(refused) == len(nodes):
            raise PermanentChainError(f"{call} refused by every node: {'; '.join(refused)}")
        if judge is not None:
            raise _NoAnswer(f"{call}: no node answered ({len(nodes)} tried)")
        raise TransientChainError(f"{call}: {NO_NODE_LEFT}")

    def _turns(self, nodes: list[Node]) -> Iterator[Node]:
        """``nodes`` in the order a call asks them: config order; with a node budget, the node whose
        budget frees first, each ask taking a token of its node, after waiting for one if none is free.
        A node set aside meanwhile (by another thread) is not asked."""
        remaining = list(nodes)
        while remaining := [node for node in remaining if self._pool.is_ready(node)]:
            node, wait = self._pool.take_turn(remaining)
            if wait > 0:
                self._wait(wait)
                continue
            remaining.remove(node)
            yield node


class _NoAnswer(TransientChainError):
    """Nodes were asked and none answered: the request may or may not have done its work."""


class _Answered(Exception):
    """A node answered the call with an error that is the chain's verdict."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.message = message
        self.verdict = verdict


def _broadcast_outcome(answer: _Answered) -> BroadcastResult:
    """What the chain's verdict on a broadcast means for the bot (raises unless the chain has it)."""
    text = answer.message.strip().splitlines()[0][:300] if answer.message.strip() else "no message"
    if answer.verdict is Verdict.ALREADY_ACCEPTED:
        return BroadcastResult.ALREADY_ACCEPTED
    if answer.verdict is Verdict.NOT_ENOUGH_RC:
        raise NotEnoughRCError(f"broadcast refused: {text}")
    if answer.verdict is Verdict.NOT_NOW:
        raise TransientChainError(f"broadcast refused for now: {text}")
    raise PermanentChainError(f"broadcast refused: {text}")


def _chain_state(props: Any) -> ChainState:
    return ChainState(
        head_block=int(props["head_block_number"]),
        head_block_id=str(props["head_block_id"]),
        irreversible_block=int(props["last_irreversible_block_num"]),
        time=parse_timestamp(props["time"]),
    )


def _behind(stale: ChainState, best: ChainState) -> str:
    return (
        f"stale: its irreversible block is {stale.irreversible_block}, another node's is "
        f"{best.irreversible_block} ({best.irreversible_block - stale.irreversible_block} blocks ahead)"
    )


def _blocks(answer: bytes) -> bytes:
    if answer.strip() in (b"", b"null"):
        raise ValueError("no result")
    return answer  # parsed and checked by fetch_blocks, which sets the node aside if it must


class _FoundComment(msgspec.Struct):
    author: str
    permlink: str
    created: str


class _FoundComments(msgspec.Struct):
    comments: list[_FoundComment]


_FIND_COMMENTS = msgspec.json.Decoder(_FoundComments)


def _comment_times(answer: bytes) -> list[tuple[CommentKey, int]]:
    """Only the three fields the bot needs of each comment are decoded (a comment object has ~30)."""
    try:
        found = _FIND_COMMENTS.decode(answer)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(str(exc)) from None
    return [((c.author, c.permlink), parse_timestamp(c.created)) for c in found.comments]


def _history(answer: Any) -> list[Any]:
    history = answer["history"]
    if not isinstance(history, list):
        raise TypeError("'history' is not a list")
    return history


def _describe(exc: BaseException) -> str:
    """The exception, as one short line. beem wraps the cause in exceptions without a message
    (``CallRetriesReached``, ``NumRetriesReached``) and turns a body that is not JSON into a guess from its
    text ("Internal Server Error" for any body with "500" in it): name the first exception that says
    something, and add that the body was not JSON when it was not."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    telling = next((item for item in chain if str(item).strip()), exc)
    text = first_line(telling)
    described = f"{type(telling).__name__}: {text}" if text else type(telling).__name__
    not_json = next((item for item in chain if isinstance(item, json.JSONDecodeError)), None)
    if not_json is not None and not_json is not telling:
        described += f" (the answer is not JSON: {first_line(not_json)})"
    return described


__all__ = ["BroadcastResult", "ChainClient", "ChainState", "ResourceCredits"]
