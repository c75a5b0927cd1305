"""Account history, answered as hived (HAfAH) answers it: ``account_history_api.get_account_history`` and
``condenser_api.get_account_history``.

An account's history is numbered from 0: its deep history first (``DevNode(deep_histories={name:
DeepHistory(entries, since)})``, see :mod:`devnet.deep`), then the served chain's entries in block order
(see :mod:`devnet.chainhistory`: every operation of every transaction, and an
``effective_comment_vote_operation`` after each vote that took effect). Both emit effective operations in
every era, as a node replayed with today's hived does; ``effective_votes_before_hf24=False`` makes the node
an old one, whose history has none before hardfork 24.

- ``account_history_api.get_account_history {"account", "start"=-1, "limit"=1000, "include_reversible"=false,
  "operation_filter_low"?, "operation_filter_high"?}`` → ``{"history": [[index, entry], ...]}``, ascending,
  the ``limit`` entries with index ≤ ``start`` (a negative or huge ``start``: from the newest). With a filter
  (bit n of ``operation_filter_low`` is type id n < 64, bit n - 64 of ``operation_filter_high`` is type id
  n ≥ 64; see :data:`devnet.optypes.OP_IDS`), up to ``limit`` entries of those types, walking back from
  ``start``; a filter of 0 takes nothing. Without ``include_reversible`` only entries in blocks up to the last
  irreversible one exist. An account without history answers ``[]``.
- ``condenser_api.get_account_history [account, start, limit, filter_low?, filter_high?]`` → ``[[index,
  entry], ...]`` with legacy operations (``["vote", {...}]``, assets as strings) and no ``operation_id``.
- Refusals are hived's (-32003): ``limit`` outside 1 … 1000, ``start < limit - 1``, a name over 16 characters.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from devnet import names
from devnet.chainhistory import ChainIndex, pack
from devnet.checks import Rejected
from devnet.deep import DeepHistory, DeepHistoryGenerator
from devnet.generator import ChainGenerator
from devnet.head import HeadClock
from devnet.ledger import Ledger
from devnet.optypes import HF24_TIME, Entry, matches
from devnet.source import ChainSource

__all__ = ["MAX_LIMIT", "DeepHistory", "HistoryApi"]

MAX_LIMIT = 1000
NAME_LIMIT = 16
_UINT64 = 1 << 64
_START_ASSERT = (
    "Assert Exception:args.start >= args.limit-1: "
    "start must be greater than or equal to limit-1 (start is 0-based index)"
)

Handler = Callable[[Any], Any]
Filter = tuple[int, int] | None  # (low, high) bit masks, None: every type


class HistoryApi:
    """The account history of ``source`` as of the head ``head`` gives, with the deep histories configured.
    Deep histories are checked here (ValueError); nothing is scanned before the first request."""

    def __init__(
        self,
        source: ChainSource,
        head: HeadClock,
        lock: threading.Lock,
        deep_histories: Mapping[str, DeepHistory] | None = None,
        *,
        effective_votes_before_hf24: bool = True,
    ) -> None:
        self.source = source
        self.head = head
        self._lock = lock
        effective_from = 0 if effective_votes_before_hf24 else HF24_TIME
        self.chain = ChainIndex(source, effective_from=effective_from)
        seed, counterparts = _seed_and_accounts(source)
        first_time = source.block_time(source.first_block)
        where = {
            "seed": seed,
            "first_block": source.first_block,
            "first_time": first_time,
            "effective_from": effective_from,
        }
        self.deep: dict[str, DeepHistoryGenerator] = {
            name: DeepHistoryGenerator(name, config, counterparts=counterparts, **where)
            for name, config in (deep_histories or {}).items()
        }
        """The deep history of each account that has one (``.episodes_built`` counts the work done)."""

    def methods(self) -> dict[str, Handler]:
        return {
            "account_history_api.get_account_history": self._get_account_history,
            "condenser_api.get_account_history": self._condenser_get_account_history,
        }

    def forget_block(self, num: int) -> None:
        """A transaction went into block ``num`` (the caller holds the lock): scan it again if it was."""
        self.chain.forget(num)

    # -- the history --------------------------------------------------------------------------------------
    def history(
        self,
        account: str,
        start: int = -1,
        limit: int = MAX_LIMIT,
        *,
        include_reversible: bool = False,
        filter_low: int | None = None,
        filter_high: int | None = None,
    ) -> list[tuple[int, Entry]]:
        """What ``get_account_history`` answers, as ``(index, entry)`` pairs, ascending; :class:`Rejected`
        with hived's message for arguments hived refuses."""
        start, limit, flt = _checked(account, start, limit, filter_low, filter_high)
        with self._lock:
            head = self.head.head()
            self.chain.advance(head)
            last = head if include_reversible else head - self.head.irreversible_lag
            return self._select(account, start, limit, last, flt)

    def count(self, account: str, *, include_reversible: bool = False) -> int:
        """How many entries the account's history has now."""
        newest = self.history(account, -1, 1, include_reversible=include_reversible)
        return newest[-1][0] + 1 if newest else 0

    def full_history(self, account: str, *, include_reversible: bool = False) -> Iterator[tuple[int, Entry]]:
        """Every entry of the account's history, oldest first, as the node serves them (for recounts)."""
        total = self.count(account, include_reversible=include_reversible)
        for first in range(0, total, MAX_LIMIT):
            top = min(first + MAX_LIMIT, total) - 1
            yield from self.history(account, top, top - first + 1, include_reversible=include_reversible)

    def _select(
        self, account: str, start: int, limit: int, last_block: int, flt: Filter
    ) -> list[tuple[int, Entry]]:
        deep = self.deep.get(account)
        deep_count = deep.count if deep is not None else 0
        refs = self.chain.refs(account)
        total = deep_count + bisect.bisect_left(refs, pack(last_block + 1, 0, 0))
        if not total:
            return []
        top = min(start, total - 1)
        if flt is None:
            first = max(0, top - limit + 1)
            found = (
                [] if deep is None else list(enumerate(deep.entries(first, min(top + 1, deep_count)), first))
            )
            for index in range(max(first, deep_count), top + 1):
                found.append((index, self.chain.entry(refs[index - deep_count])))
            return found
        low, high = flt
        newest_first: list[tuple[int, Entry]] = []
        index = top
        while index >= deep_count and len(newest_first) < limit:
            ref = refs[index - deep_count]
            if matches(ref & 0xFF, low, high):
                newest_first.append((index, self.chain.entry(ref)))
            index -= 1
        if deep is not None and index >= 0 and len(newest_first) < limit:
            newest_first += deep.matching(index, limit - len(newest_first), low, high)
        return newest_first[::-1]

    # -- JSON-RPC -----------------------------------------------------------------------------------------
    def _get_account_history(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.history(
            str(params["account"]),
            params.get("start", -1),
            params.get("limit", MAX_LIMIT),
            include_reversible=_flag(params.get("include_reversible")),
            filter_low=params.get("operation_filter_low"),
            filter_high=params.get("operation_filter_high"),
        )
        return {"history": [[index, entry.json()] for index, entry in found]}

    def _condenser_get_account_history(self, params: list[Any]) -> list[Any]:
        if not 1 <= len(params) <= 5:
            raise ValueError("condenser_api.get_account_history takes [account, start, limit, low?, high?]")
        padded: list[Any] = [*params, None, None, None, None][:5]
        account, start, limit, low, high = padded
        start = -1 if start is None else start
        limit = MAX_LIMIT if limit is None else limit
        found = self.history(str(account), start, limit, filter_low=low, filter_high=high)
        return [[index, entry.json(legacy_format=True)] for index, entry in found]


def _checked(account: str, start: Any, limit: Any, low: Any, high: Any) -> tuple[int, int, Filter]:
    """``(start, limit, filter)`` as hived reads them (uint64 start: -1 is the newest; a negative limit is
    read as uint32), or hived's refusal."""
    if len(account) > NAME_LIMIT:
        raise Rejected(
            f"Assert Exception:in_len <= sizeof(data): Input too large: `{account}` ({len(account)}) "
            f"for fixed size string: ({NAME_LIMIT})"
        )
    start, limit = _integer(start, 64), _integer(limit, 32)
    if limit > MAX_LIMIT:
        raise Rejected(
            f"Assert Exception:args.limit <= {MAX_LIMIT}: limit of {limit} is greater than maxmimum allowed"
        )
    if limit == 0 or start < limit - 1:
        raise Rejected(_START_ASSERT)
    if low is None and high is None:
        return start, limit, None
    return start, limit, (_integer(low or 0, 64), _integer(high or 0, 64))


def _integer(value: Any, bits: int) -> int:
    """An unsigned integer argument (negative values wrap, as hived reads them); ValueError if not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not an integer")
    number = int(value)
    if not -(1 << (bits - 1)) <= number < 1 << bits:
        raise ValueError(f"{value!r} does not fit in {bits} bits")
    return number % (1 << bits)


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"include_reversible must be a boolean, not {value!r}")
    return value


def _seed_and_accounts(source: ChainSource) -> tuple[int, tuple[str, ...]]:
    """The seed and accounts deep histories draw from: the generated chain's, else a pool of names."""
    inner = source.source if isinstance(source, Ledger) else source
    if isinstance(inner, ChainGenerator):
        return inner.seed, inner.accounts
    return 0, names.account_names(0, 1000)
