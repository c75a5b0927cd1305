"""The nodes a client asks, and what is known of their health: which one to ask next, and how long a node that
failed is left alone. No I/O here: time comes from an injected clock, and nothing is sent.

- A node that failed backs off exponentially (2, 4, 8 … s, capped by ``max_backoff``), or for as long as it
  said (HTTP 429's ``Retry-After``), while its failures are one incident: a failure within
  :data:`INCIDENT_GAP` seconds after its back-off ended continues the incident, a later one starts a new
  incident at 2 s. Only the first failure of an incident is logged as a warning (``node_failed``); the
  others, at debug level, so that an outage is one warning, not one a minute.
- The health of a node is shared by the clones of a pool (one per thread): a node one sets aside, the
  others do not ask, and an incident is one warning between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

INCIDENT_GAP = 60.0
"""Seconds after a node's back-off ends within which a new failure belongs to the same incident."""

log = structlog.get_logger("bot.chain")


class Health:
    """What is known of a node's health; shared by the clones of a pool."""

    def __init__(self) -> None:
        self.failures = 0  # in its current (or last) incident
        self.total_failures = 0  # since start-up, every incident: the metrics count them
        self.retry_at = 0.0
        self.batch_limit: int | None = None  # requests a JSON-RPC batch may hold; None: no limit seen


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    url: str
    health: Health


class NodePool:
    """The configured nodes, in config order, and their back-off."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        max_backoff: float,
        clock: Callable[[], float],
        share: NodePool | None = None,
    ) -> None:
        """``share``: a pool whose knowledge of the nodes' health this one shares (see :meth:`clone`)."""
        if not urls:
            raise ValueError("at least one node is needed")
        health = [node.health for node in share.nodes] if share else [Health() for _ in urls]
        self.nodes: tuple[Node, ...] = tuple(Node(url, each) for url, each in zip(urls, health, strict=True))
        self.max_backoff = max_backoff
        self._clock = clock

    def clone(self) -> NodePool:
        """Another pool of the same nodes, sharing their health."""
        return NodePool(
            [node.url for node in self.nodes], max_backoff=self.max_backoff, clock=self._clock, share=self
        )

    def ready(self) -> list[Node]:
        """The nodes not backing off now, in config order: the first is asked first."""
        now = self._clock()
        return [node for node in self.nodes if node.health.retry_at <= now]

    def failed(self, node: Node, reason: str, call: str, *, wait: float | None = None) -> None:
        """Set ``node`` aside: it backs off — ``wait`` seconds if it said how long (already capped) — and the
        failure is logged (a warning only if it starts an incident)."""
        now = self._clock()
        health = node.health
        ongoing = health.failures > 0 and now - health.retry_at <= INCIDENT_GAP
        health.failures = health.failures + 1 if ongoing else 1
        health.total_failures += 1
        backoff = min(self.max_backoff, 2.0**health.failures) if wait is None else wait
        health.retry_at = now + backoff
        (log.debug if ongoing else log.warning)(
            "node_failed", node=node.url, call=call, reason=reason, retry_in=backoff, failures=health.failures
        )
