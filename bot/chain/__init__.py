"""The chain adapter: the one module that talks to Hive nodes, and the only one that imports beem.

It calls JSON-RPC methods through a transport — by default beem's RPC client (``beemapi.noderpc.NodeRPC``),
one per configured node — with beem's own retries and sleeps switched off: this module decides failover and
back-off itself, so that a failing node costs one attempt and one log line, never a hidden sleep.

- A call goes to the first node that is not backing off (in config order); on a failure it logs one
  line and moves on to the next node. A failed node backs off exponentially (2, 4, 8 … s, capped by
  ``max_backoff``).
- When every node failed or is backing off, the call raises :class:`~bot.errors.TransientChainError`;
  if every node refused the call itself (unknown method, invalid parameters), it raises
  :class:`~bot.errors.PermanentChainError`. Retrying is the caller's decision.
- Every request has a timeout (``timeout`` seconds).

Answers are read here, not by beem: beem only sends the request (its session, headers, timeout). An HTTP
error, an HTML page or a body cut short is the node's failure; HTTP 429 backs the node off for its
``Retry-After``; a batch a proxy refuses is sent again smaller, and the node's limit is remembered.
A node's error answer to a broadcast is the chain's verdict when hived's words or shape say so
(:mod:`bot.chain.verdicts`): "Duplicate transaction" means the chain took it before (success); "not enough
RC" is :class:`~bot.errors.NotEnoughRCError`; the comment pacing rules are transient; any other refusal is
permanent for that transaction; a proxy's words are no verdict, the next node is asked.

beem keeps a SQLite wallet/config file under ``$XDG_DATA_HOME/beem``; nothing here opens it: reads go
through ``NodeRPC`` and transactions are signed by :mod:`bot.chain.transactions` without ``beem.Hive``.

- :mod:`bot.chain.client` — :class:`ChainClient`: the Hive API (reads, blocks, broadcasts) and failover
- :mod:`bot.chain.pool` — which node to ask: health, back-off, incidents (no I/O)
- :mod:`bot.chain.jsonrpc` — one JSON-RPC request (or batch) to one node, and its answer read
- :mod:`bot.chain.transport` — the :class:`~bot.chain.transport.Transport` protocol, and HTTP through beem
- :mod:`bot.chain.transactions` — :class:`PostingKey` and signing the bot's replies
- :mod:`bot.chain.verdicts` — pure rules: a broadcast's error answer, ``Retry-After``, batch limits
"""

from bot.chain.client import (
    MAX_BLOCK_RANGE,
    BroadcastResult,
    ChainClient,
    ChainState,
    ResourceCredits,
)
from bot.chain.transactions import PostingKey, Reply

__all__ = [
    "MAX_BLOCK_RANGE",
    "BroadcastResult",
    "ChainClient",
    "ChainState",
    "PostingKey",
    "Reply",
    "ResourceCredits",
]
