"""``account_history_api.enum_virtual_ops``, answered as hived's account history (rocksdb) plugin answers it.

openhive-network/hive at 1584099c: ``libraries/plugins/apis/account_history_api/account_history_api.cpp``
(``enum_virtual_ops``: ``limit`` defaults to and may not exceed 150000, nor be 0 or less) and
``libraries/plugins/account_history_rocksdb/account_history_rocksdb_plugin.cpp``
(``enumVirtualOperationsFromBlockRange``):

- params ``block_range_begin`` (1), ``block_range_end`` (2, exclusive, above the begin, at most 2000 more),
  ``operation_begin`` (an ``operation_id`` to resume from, inclusive), ``limit``, ``filter`` (bit ``n - 50``
  for the virtual operation of type id ``n``: ``enum enum_vops_filter``; none: every one),
  ``include_reversible`` (false: only blocks up to the last irreversible one), ``group_by_block``;
- ``limit`` counts the operations the filter takes; once it is reached, the next virtual operation (of any
  type) gives ``next_block_range_begin`` (its block) and ``next_operation_begin`` (its id; in the reversible
  blocks, 0 when it starts a new block); a range read to its end answers ``next_block_range_begin`` =
  ``block_range_end`` when the node has that block irreversible, else 0, and ``next_operation_begin`` 0;
- ``group_by_block``: the operations in ``ops_by_block`` (``block``, ``timestamp``, ``irreversible``, ``ops``)
  instead of ``ops``; both keys are always there.

``operation_id`` is ``block << 32 | position`` as the patterns show (``curation_reward_operation.pat.json``:
a block without transactions, position = ``op_in_trx - 1``), written as a JSON string when large, like
hived's. The devnet serves the virtual operations a block pushes outside its transactions
(:mod:`devnet.payouts`: ``producer_reward`` and the cashouts), numbered ``op_in_trx`` 1, 2, … as hived does,
at positions 0, 1, …; the ``effective_comment_vote_operation`` inside transactions is in account history
only (numbering around it would mean generating every block of the range: ~1 ms each).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devnet.chainhistory import NO_TRANSACTION, NO_TRX_IN_BLOCK
from devnet.checks import Rejected
from devnet.head import HeadClock
from devnet.optypes import OP_IDS, fc_int
from devnet.payouts import block_vops
from devnet.rawjson import RawJson
from devnet.source import ChainSource
from devnet.world import format_time

MAX_LIMIT = 150_000
RANGE_LIMIT = 2_000
FIRST_VIRTUAL = OP_IDS["fill_convert_request_operation"]  # bit 0 of the filter
_CACHED_BLOCKS = 4_096

Handler = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class VirtualOp:
    """One virtual operation of a block, as ``enum_virtual_ops`` lists it."""

    block: int
    position: int  # 0, 1, … in the block
    timestamp: str
    op: dict[str, Any]

    @property
    def id(self) -> int:
        return self.block << 32 | self.position

    @property
    def bit(self) -> int:
        return filter_bit(self.op["type"])

    def text(self) -> str:
        return json.dumps(self.json(), ensure_ascii=False, separators=(",", ":"))

    def json(self) -> dict[str, Any]:
        return {
            "trx_id": NO_TRANSACTION, "block": self.block, "trx_in_block": NO_TRX_IN_BLOCK,
            "op_in_trx": self.position + 1, "virtual_op": True, "timestamp": self.timestamp, "op": self.op,
            "operation_id": fc_int(self.id),
        }  # fmt: skip


def filter_bit(op_type: str) -> int:
    """The ``enum_virtual_ops`` filter bit of a virtual operation type (``"producer_reward_operation"``)."""
    return 1 << (OP_IDS[op_type] - FIRST_VIRTUAL)


class VirtualOpsApi:
    """The virtual operations of ``source``'s blocks up to the head ``head`` gives."""

    def __init__(self, source: ChainSource, head: HeadClock, lock: threading.Lock) -> None:
        self.source = source
        self.head = head
        self._lock = lock
        self._cache: OrderedDict[int, list[tuple[VirtualOp, str]]] = OrderedDict()
        self._capacity = _CACHED_BLOCKS
        self.blocks_built = 0
        """How many times a block's virtual operations were computed: the work done."""

    def methods(self) -> dict[str, Handler]:
        return {"account_history_api.enum_virtual_ops": self._enum_virtual_ops}

    def forget_block(self, num: int) -> None:
        """A transaction went into block ``num`` (the caller holds the lock): its votes, deletions and
        options may change the cashouts of the blocks after it."""
        for cached in [cached for cached in self._cache if cached >= num]:
            del self._cache[cached]

    def prepare(self, first: int, last: int) -> None:
        """Compute blocks ``first`` … ``last`` now and keep them (a benchmark's node: answers then cost only
        the joining of their JSON, ~10 ms for 1000 blocks, instead of ~400 ms)."""
        with self._lock:
            self._capacity = max(self._capacity, last - first + 1 + _CACHED_BLOCKS)
            for num in range(first, last + 1):
                self.of_block(num)

    def operations(self, first: int, last: int) -> list[dict[str, Any]]:
        """Every virtual operation of blocks ``first`` … ``last``, as ``enum_virtual_ops`` lists them (with
        no head or range limit): what a test's recount reads of what the node paid to whom."""
        with self._lock:
            return [vop.json() for num in range(first, last + 1) for vop, _ in self.of_block(num)]

    def of_block(self, num: int) -> list[tuple[VirtualOp, str]]:
        """Block ``num``'s virtual operations and their JSON (the caller holds the lock)."""
        cached = self._cache.get(num)
        if cached is not None:
            self._cache.move_to_end(num)
            return cached
        stamp = format_time(self.source.block_time(num))
        vops = [VirtualOp(num, place, stamp, op) for place, op in enumerate(block_vops(self.source, num))]
        found = [(vop, vop.text()) for vop in vops]
        self.blocks_built += 1
        self._cache[num] = found
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return found

    def _enum_virtual_ops(self, params: dict[str, Any]) -> RawJson:
        begin, end = (
            _uint(params.get("block_range_begin", 1), 32),
            _uint(params.get("block_range_end", 2), 32),
        )
        limit = _int(params.get("limit", MAX_LIMIT))
        if limit <= 0:
            raise Rejected(f"Assert Exception:limit > 0: limit of {limit} is lesser or equal 0")
        if limit > MAX_LIMIT:
            raise Rejected(
                f"Assert Exception:limit <= max_limit: limit of {limit} is greater than maxmimum allowed"
            )
        if end <= begin:
            raise Rejected("Assert Exception:blockRangeEnd > blockRangeBegin: Block range must be upward")
        if end - begin > RANGE_LIMIT:
            raise Rejected(
                "Assert Exception:blockRangeEnd - blockRangeBegin <= block_range_limit: "
                f"Block range distance must be less than or equal to {RANGE_LIMIT}"
            )
        start = _uint(params.get("operation_begin", 0), 64)
        flt = params.get("filter")
        mask = None if flt is None else _uint(flt, 64)
        reversible = _flag(params.get("include_reversible"))
        with self._lock:
            return self._enumerate(
                begin, end, start, limit, mask, reversible, _flag(params.get("group_by_block"))
            )

    def _enumerate(
        self, begin: int, end: int, start: int, limit: int, mask: int | None, reversible: bool, grouped: bool
    ) -> RawJson:
        head = self.head.head()
        irreversible = self.head.irreversible()
        last = min(head if reversible else irreversible, self.source.last_block, end - 1)
        taken: list[tuple[VirtualOp, str]] = []
        previous_block = 0
        for num in range(max(begin, self.source.first_block), last + 1):
            for vop, text in self.of_block(num):
                if vop.id < start:
                    continue
                if len(taken) >= limit:
                    after = vop.id if num <= irreversible or num == previous_block else 0
                    return _answer(taken, num, after, grouped, irreversible)
                if mask is None or mask & vop.bit:
                    taken.append((vop, text))
                previous_block = num
        following = end if end <= min(irreversible, self.source.last_block) else 0
        return _answer(taken, following, 0, grouped, irreversible)


def _answer(
    taken: list[tuple[VirtualOp, str]], next_block: int, next_op: int, grouped: bool, irreversible: int
) -> RawJson:
    """The answer as JSON text (each operation's JSON is made once per block and joined here)."""
    by_block: list[str] = []
    if grouped:
        for block, group in itertools.groupby(taken, key=lambda item: item[0].block):
            items = list(group)
            head = {"block": block, "timestamp": items[0][0].timestamp, "irreversible": block <= irreversible}
            by_block.append(json.dumps(head)[:-1] + ',"ops":[' + ",".join(text for _, text in items) + "]}")
    ops = "" if grouped else ",".join(text for _, text in taken)
    tail = json.dumps({"next_block_range_begin": next_block, "next_operation_begin": fc_int(next_op)})[1:]
    return RawJson('{"ops":[' + ops + '],"ops_by_block":[' + ",".join(by_block) + "]," + tail)


def _int(value: Any) -> int:
    """A signed integer argument, as hived parses it (a number, or a string of digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Rejected("Parse Error:Couldn't parse int64_t", code=-32000)
    try:
        return int(value)
    except ValueError:
        raise Rejected("Parse Error:Couldn't parse int64_t", code=-32000) from None


def _uint(value: Any, bits: int) -> int:
    """An unsigned integer argument (negative values wrap, as hived reads them)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Rejected("Parse Error:Couldn't parse uint64_t", code=-32000)
    try:
        number = int(value)
    except ValueError:
        raise Rejected("Parse Error:Couldn't parse uint64_t", code=-32000) from None
    return number % (1 << bits)


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if value in ("true", "false"):
        return bool(value == "true")
    raise Rejected(
        'Bad Cast:Cannot convert string to bool (only "true" or "false" can be converted)', code=-32000
    )
