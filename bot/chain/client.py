"""Talking to Hive nodes: reads, and broadcasts of signed transactions, with failover between nodes."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from beemapi import exceptions as beem_errors
from beemapi.noderpc import NodeRPC

from bot.chain.transactions import PostingKey, Reply, TaposBlock, sign_reply
from bot.errors import (
    NotEnoughRCError,
    PermanentChainError,
    PostingKeyError,
    TransientChainError,
    UnconfirmedBroadcastError,
)
from bot.operations import CommentKey, parse_timestamp

MAX_BLOCK_RANGE = 1000
"""hived answers ``block_api.get_block_range`` with at most this many blocks."""
MAX_FIND_COMMENTS = 1000
"""hived's limit of comments asked in one ``database_api.find_comments`` call."""
RC_REGENERATION = 432_000
"""Seconds in which resource credits regenerate from empty to full (5 days)."""

_PERMANENT = (
    beem_errors.NoMethodWithName,
    beem_errors.NoApiWithName,
    beem_errors.ApiNotSupported,
    beem_errors.InvalidParameters,
    beem_errors.UnauthorizedError,
)

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


class _Node:
    """One node's client and health. A failed node's client is dropped and built afresh later."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rpc: NodeRPC | None = None
        self.failures = 0
        self.retry_at = 0.0


class ChainClient:
    """Reads the chain from a list of nodes, failing over between them. No I/O until the first call."""

    def __init__(
        self,
        nodes: Sequence[str],
        *,
        timeout: float,
        max_backoff: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not nodes:
            raise ValueError("at least one node is needed")
        self._nodes = [_Node(url) for url in nodes]
        self._timeout = timeout
        self._max_backoff = max_backoff
        self._clock = clock
        self._chain_id: str | None = None

    # -- what the bot asks ----------------------------------------------------------------------

    def fetch_state(self) -> ChainState:
        props = self.call("database_api", "get_dynamic_global_properties", {})
        try:
            return ChainState(
                head_block=int(props["head_block_number"]),
                head_block_id=str(props["head_block_id"]),
                irreversible_block=int(props["last_irreversible_block_num"]),
                time=parse_timestamp(props["time"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientChainError(f"get_dynamic_global_properties: malformed answer ({exc!r})") from None

    def fetch_blocks(self, start: int, count: int) -> list[dict[str, Any]]:
        """Blocks ``start`` … ``start + count - 1`` as ``block_api`` JSON (fewer if the node has fewer)."""
        if not 1 <= count <= MAX_BLOCK_RANGE:
            raise ValueError(f"count must be 1..{MAX_BLOCK_RANGE}, got {count}")
        answer = self.call("block_api", "get_block_range", {"starting_block_num": start, "count": count})
        blocks = answer.get("blocks") if isinstance(answer, Mapping) else None
        if not isinstance(blocks, list):
            raise TransientChainError(f"get_block_range({start}, {count}): the answer has no 'blocks' list")
        return blocks

    def fetch_comment_times(self, keys: Iterable[CommentKey]) -> dict[CommentKey, int | None]:
        """The creation time of each comment as the chain has it now; ``None`` for one it does not have."""
        wanted = sorted(set(keys))
        found: dict[CommentKey, int | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), MAX_FIND_COMMENTS):
            chunk = [list(key) for key in wanted[start : start + MAX_FIND_COMMENTS]]
            answer = self.call("database_api", "find_comments", {"comments": chunk})
            try:
                for comment in answer["comments"]:
                    key = (comment["author"], comment["permlink"])
                    if key in found:
                        found[key] = parse_timestamp(comment["created"])
            except (KeyError, TypeError, ValueError) as exc:
                raise TransientChainError(f"find_comments: malformed answer ({exc!r})") from None
        return found

    def fetch_contents(self, keys: Iterable[CommentKey]) -> dict[CommentKey, str | None]:
        """The stored text (edits applied) of each comment; ``None`` for one the chain no longer has."""
        found: dict[CommentKey, str | None] = {}
        for author, permlink in sorted(set(keys)):
            answer = self.call("condenser_api", "get_content", [author, permlink])
            try:
                found[(author, permlink)] = str(answer["body"]) if answer.get("author") == author else None
            except (AttributeError, KeyError, TypeError) as exc:
                raise TransientChainError(f"get_content: malformed answer ({exc!r})") from None
        return found

    def fetch_account_history(
        self, account: str, start: int, limit: int, *, filter_low: int, filter_high: int
    ) -> list[Any]:
        """One page of ``account``'s irreversible history: ``[[index, entry], …]``, ascending, the entries
        with index ≤ ``start`` (-1: the newest) that pass the operation filter, ``limit`` at most."""
        answer = self.call(
            "account_history_api",
            "get_account_history",
            {
                "account": account,
                "start": start,
                "limit": limit,
                "include_reversible": False,
                "operation_filter_low": filter_low,
                "operation_filter_high": filter_high,
            },
        )
        history = answer.get("history") if isinstance(answer, Mapping) else None
        if not isinstance(history, list):
            raise TransientChainError(f"get_account_history(@{account}): the answer has no 'history' list")
        return history

    def fetch_latest_root_post(self, account: str) -> tuple[str, int] | None:
        """The permlink and creation time of ``account``'s newest root post, ``None`` if it has none."""
        answer = self.call("bridge", "get_account_posts", {"account": account, "sort": "posts", "limit": 1})
        try:
            posts = [post for post in answer if post["author"] == account and post["depth"] == 0]
            return None if not posts else (str(posts[0]["permlink"]), parse_timestamp(posts[0]["created"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientChainError(f"get_account_posts: malformed answer ({exc!r})") from None

    def fetch_resource_credits(self, account: str, now: int) -> ResourceCredits:
        """``account``'s resource credits at chain time ``now`` (regenerated linearly since last used)."""
        answer = self.call("rc_api", "find_rc_accounts", {"accounts": [account]})
        try:
            rc = next(item for item in answer["rc_accounts"] if item["account"] == account)
            maximum = int(rc["max_rc"])
            mana, since = int(rc["rc_manabar"]["current_mana"]), int(rc["rc_manabar"]["last_update_time"])
        except StopIteration:
            raise PermanentChainError(f"find_rc_accounts: the chain has no account {account!r}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientChainError(f"find_rc_accounts: malformed answer ({exc!r})") from None
        regenerated = mana + max(0, now - since) * maximum // RC_REGENERATION
        return ResourceCredits(min(maximum, regenerated), maximum)

    def check_posting_key(self, account: str, key: PostingKey) -> None:
        """Raise :class:`PostingKeyError` unless ``key`` is one of ``account``'s posting keys. An active or
        owner key is refused: it is more than the bot needs, and since HF28 posting operations signed
        with it are rejected."""
        answer = self.call("database_api", "find_accounts", {"accounts": [account]})
        try:
            found = [item for item in answer["accounts"] if item["name"] == account]
            roles = {
                role: {k for k, _ in found[0][role]["key_auths"]} for role in ("owner", "active", "posting")
            }
        except IndexError:
            raise PostingKeyError(f"the account @{account} (account in the config) does not exist") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientChainError(f"find_accounts: malformed answer ({exc!r})") from None
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
            self.call("condenser_api", "broadcast_transaction", [transaction], answered=True)
        except _Answered as answer:
            return _broadcast_verdict(answer.message)
        except _NoAnswer as exc:
            raise UnconfirmedBroadcastError(f"broadcast unconfirmed: {exc}") from None
        return BroadcastResult.ACCEPTED

    def chain_id(self) -> str:
        """The chain id, as the node reports it (``database_api.get_config``), read once."""
        if self._chain_id is None:
            config = self.call("database_api", "get_config", {})
            try:
                self._chain_id = str(config["HIVE_CHAIN_ID"])
            except (KeyError, TypeError) as exc:
                raise TransientChainError(f"get_config: malformed answer ({exc!r})") from None
        return self._chain_id

    # -- failover -------------------------------------------------------------------------------

    def call(
        self, api: str, method: str, params: Mapping[str, Any] | list[Any], *, answered: bool = False
    ) -> Any:
        """Call ``api.method(params)`` on the first healthy node, failing over to the others.

        ``params`` is a list for ``condenser_api``. With ``answered``, an error answer from a node is
        raised as :class:`_Answered` at once (the node is healthy: it said no).
        """
        now = self._clock()
        ready = [node for node in self._nodes if node.retry_at <= now]
        if not ready:
            wait = min(node.retry_at for node in self._nodes) - now
            raise TransientChainError(
                f"{api}.{method}: every node is backing off, the first is back in {wait:.1f} s"
            )
        refused: list[str] = []
        for node in ready:
            try:
                answer = self._call_node(node, api, method, params)
            except beem_errors.UnhandledRPCError as exc:
                if not answered:
                    self._failed(node, _describe(exc), api, method)
                    continue
                node.failures = 0
                raise _Answered(str(exc)) from None
            except _PERMANENT as exc:
                refused.append(f"{node.url}: {_describe(exc)}")
                self._failed(node, f"refused: {_describe(exc)}", api, method)
            except Exception as exc:  # noqa: BLE001 - beem raises anything from requests and json alike
                self._failed(node, _describe(exc), api, method)
            else:
                node.failures = 0
                return answer
        if len(refused) == len(ready):
            raise PermanentChainError(f"{api}.{method} refused by every node: {'; '.join(refused)}")
        raise _NoAnswer(f"{api}.{method}: no node answered ({len(ready)} tried)")

    def _call_node(self, node: _Node, api: str, method: str, params: Mapping[str, Any] | list[Any]) -> Any:
        if node.rpc is None:
            rpc = NodeRPC(
                node.url, num_retries=0, num_retries_call=0, timeout=self._timeout, autoconnect=False
            )
            rpc.rpcconnect()  # one database_api.get_config: beem learns the node speaks appbase
            node.rpc = rpc
        if isinstance(params, list):
            return getattr(node.rpc, method)(*params, api=api)
        return getattr(node.rpc, method)(dict(params), api=api)

    def _failed(self, node: _Node, reason: str, api: str, method: str) -> None:
        node.rpc = None
        node.failures += 1
        backoff = min(self._max_backoff, 2.0**node.failures)
        node.retry_at = self._clock() + backoff
        log.warning("node_failed", node=node.url, call=f"{api}.{method}", reason=reason, retry_in=backoff)

    def close(self) -> None:
        for node in self._nodes:
            node.rpc = None


class _NoAnswer(TransientChainError):
    """Nodes were asked and none answered: the request may or may not have done its work."""


class _Answered(Exception):
    """A node answered the call with an error message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_ALREADY_THERE = (
    "Duplicate transaction",  # this very transaction was accepted before
    # a re-post of a reply that is already on chain, refused only for its payout options:
    "Comment already has beneficiaries specified",
    "requires the comment to have no rshares allocated",
)
_NOT_NOW = (
    "once every 3 seconds",
    "once every 5 minutes",
    "one comment edit per block",
)


def _broadcast_verdict(message: str) -> BroadcastResult:
    """What a node's error answer to a broadcast means (raises unless the chain has the transaction)."""
    text = message.strip().splitlines()[0][:300] if message.strip() else "no message"
    if any(sign in message for sign in _ALREADY_THERE):
        return BroadcastResult.ALREADY_ACCEPTED
    if " RC, needs " in message or "not enough RC" in message.lower():
        raise NotEnoughRCError(f"broadcast refused: {text}")
    if any(sign in message for sign in _NOT_NOW):
        raise TransientChainError(f"broadcast refused for now: {text}")
    raise PermanentChainError(f"broadcast refused: {text}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["BroadcastResult", "ChainClient", "ChainState", "ResourceCredits"]
