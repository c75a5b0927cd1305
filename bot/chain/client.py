"""The chain adapter: the one module that talks to Hive nodes, and the only one that imports beem.

It calls JSON-RPC methods through beem's RPC client (``beemapi.noderpc.NodeRPC``), one client per
configured node, with beem's own retries and sleeps switched off: this module decides failover and
back-off itself, so that a failing node costs one attempt and one log line, never a hidden sleep.

- A call goes to the first node that is not backing off (in config order); on a failure it logs one
  line and moves on to the next node. A failed node backs off exponentially (2, 4, 8 … s, capped by
  ``max_backoff``).
- When every node failed or is backing off, the call raises :class:`~bot.errors.TransientChainError`;
  if every node refused the call itself (unknown method, invalid parameters), it raises
  :class:`~bot.errors.PermanentChainError`. Retrying is the caller's decision.
- Every request has a timeout (``timeout`` seconds).

beem keeps a SQLite wallet/config file under ``$XDG_DATA_HOME/beem``; the only beem object that opens it,
``beem.Hive``, is given ``data_dir`` (inside the bot's state directory) when signing is needed.
The RPC client used for reading never opens it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from beemapi import exceptions as beem_errors
from beemapi.noderpc import NodeRPC

from bot.errors import ChainError, PermanentChainError, TransientChainError
from bot.operations import CommentKey, parse_timestamp

MAX_BLOCK_RANGE = 1000
"""hived answers ``block_api.get_block_range`` with at most this many blocks."""
MAX_FIND_COMMENTS = 1000
"""hived's limit of comments asked in one ``database_api.find_comments`` call."""

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
    irreversible_block: int
    time: int  # the head block's time, seconds since the epoch


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
        data_dir: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not nodes:
            raise ValueError("at least one node is needed")
        self._nodes = [_Node(url) for url in nodes]
        self._timeout = timeout
        self._max_backoff = max_backoff
        self.data_dir = data_dir
        self._clock = clock

    # -- what the bot asks ----------------------------------------------------------------------

    def fetch_state(self) -> ChainState:
        props = self.call("database_api", "get_dynamic_global_properties", {})
        try:
            return ChainState(
                head_block=int(props["head_block_number"]),
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

    # -- failover -------------------------------------------------------------------------------

    def call(self, api: str, method: str, params: Mapping[str, Any]) -> Any:
        """Call ``api.method(params)`` on the first healthy node, failing over to the others."""
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
        raise TransientChainError(f"{api}.{method}: no node answered ({len(ready)} tried)")

    def _call_node(self, node: _Node, api: str, method: str, params: Mapping[str, Any]) -> Any:
        if node.rpc is None:
            rpc = NodeRPC(
                node.url, num_retries=0, num_retries_call=0, timeout=self._timeout, autoconnect=False
            )
            rpc.rpcconnect()  # one database_api.get_config: beem learns the node speaks appbase
            node.rpc = rpc
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


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["ChainClient", "ChainError", "ChainState"]
