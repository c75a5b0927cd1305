"""The nodes a client asks, and what is known of their health: which one to ask next, and how long a node that
failed is left alone. No I/O here: time comes from an injected clock, and nothing is sent.

- A node that failed backs off exponentially (2, 4, 8 … s, capped by ``max_backoff``), or for as long as it
  said (HTTP 429's ``Retry-After``), while its failures are one incident: a failure within
  :data:`INCIDENT_GAP` seconds after its back-off ended continues the incident, a later one starts a new
  incident at 2 s. Only the first failure of an incident is logged as a warning (``node_failed``); the
  others, at debug level, so that an outage is one warning, not one a minute.
- The health of a node is shared by the clones of a pool (one per thread): a node one sets aside, the
  others do not ask, and an incident is one warning between them.
- A pool may have a node budget: calls a second per node (:class:`Budget`, a token bucket, shared by the
  clones like the health). Each call then goes to the node whose budget frees first — a free node with
  budget takes the next call, so calls spread over the nodes — and takes a token of it, waiting for one
  when none is free (:meth:`NodePool.take_turn`). Only the clients that read account history have one: the follower and
  the poster are never held back by it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

INCIDENT_GAP = 60.0
"""Seconds after a node's back-off ends within which a new failure belongs to the same incident."""

_ROUNDING = 1e-9
"""Tokens short of one that count as one: waiting what :meth:`Budget.free_in` said must find a token."""

log = structlog.get_logger("bot.chain")


class Budget:
    """A node's budget of calls a second: a token bucket holding at most ``burst`` tokens, refilled at
    ``rate`` tokens a second; a call takes one, when there is one. A token is taken right before its call
    goes, never ahead of time: a caller who had to wait asks again, so a caller late to wake cannot send
    together with the next one. In any window of ``t`` seconds, at most ``burst + rate * t`` tokens are
    taken. No I/O, no clock of its own: ``now`` is passed in."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a budget needs a rate > 0 and a burst >= 1, got {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated: float | None = None

    def free_in(self, now: float) -> float:
        """Seconds until a token is there (0: now)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return 0.0 if missing <= _ROUNDING else missing / self.rate

    def take(self, now: float) -> float:
        """Take a token if there is one now (0 returned); else take none and return the seconds until
        there is one: the caller waits that long, then asks again."""
        wait = self.free_in(now)
        if wait == 0:
            self._tokens = max(0.0, self._tokens - 1.0)
        return wait

    def _refill(self, now: float) -> None:
        if self._updated is not None and now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now if self._updated is None else max(self._updated, now)


class Health:
    """What is known of a node's health, and its budget; shared by the clones of a pool."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget
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
        budget: float | None = None,
        share: NodePool | None = None,
    ) -> None:
        """``budget``: calls a second per node (None: no limit); ``share``: a pool whose knowledge of the
        nodes' health and budgets this one shares (see :meth:`clone`)."""
        if not urls:
            raise ValueError("at least one node is needed")
        if share is not None:
            health = [node.health for node in share.nodes]
        else:
            health = [Health(None if budget is None else Budget(budget)) for _ in urls]
        self.nodes: tuple[Node, ...] = tuple(Node(url, each) for url, each in zip(urls, health, strict=True))
        self.max_backoff = max_backoff
        self._clock = clock
        self._taking: threading.Lock = threading.Lock() if share is None else share._taking  # one at a time

    def clone(self) -> NodePool:
        """Another pool of the same nodes, sharing their health and budgets."""
        return NodePool(
            [node.url for node in self.nodes], max_backoff=self.max_backoff, clock=self._clock, share=self
        )

    def ready(self) -> list[Node]:
        """The nodes not backing off now, in config order: the first is asked first."""
        now = self._clock()
        return [node for node in self.nodes if node.health.retry_at <= now]

    def is_ready(self, node: Node) -> bool:
        return node.health.retry_at <= self._clock()

    def take_turn(self, candidates: Sequence[Node]) -> tuple[Node, float]:
        """The one of ``candidates`` to call next, and the seconds to wait before asking again (0: call it
        now): without a budget, the first at once; with one, the node whose budget frees first (config
        order among equals), a token of it taken if it is free now."""
        with self._taking:
            now = self._clock()
            node = min(candidates, key=lambda each: _free_in(each, now))
            budget = node.health.budget
            return node, 0.0 if budget is None else budget.take(now)

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


def _free_in(node: Node, now: float) -> float:
    return 0.0 if node.health.budget is None else node.health.budget.free_in(now)
