"""The JSON-RPC methods of the devnet node, answered as hived answers them. No HTTP here: bytes in, bytes out.

Reads (``block_api``, ``database_api``, ``condenser_api``, hivemind's ``bridge``) are answered from any chain
source. Over a :class:`~devnet.ledger.Ledger` the node also takes broadcasts and answers ``rc_api`` and
``transaction_status_api`` (see :mod:`devnet.broadcast`).

Requests come in both forms beem sends: appbase (``{"method": "block_api.get_block", "params": {...}}``)
and ``call`` (``{"method": "call", "params": ["condenser_api", "get_block", [n]]}``), alone or in a batch.
A method the node does not know is an error (``Could not find method …``), as on hived, so a test fails
loudly instead of reading a silent empty answer. Limits are hived's: at most 1000 blocks per
``get_block_range``, 1000 comments or accounts per ``find_*``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any

from devnet.bridge import BridgeApi
from devnet.broadcast import BroadcastApi
from devnet.checks import Rejected
from devnet.faults import AnswerLost, BroadcastFaults
from devnet.head import HeadClock
from devnet.history import DeepHistory, HistoryApi
from devnet.ledger import Ledger
from devnet.legacy import legacy, legacy_block
from devnet.payouts import PRICES
from devnet.payouts import hbd_asset as _hbd
from devnet.payouts import hive_asset as _hive
from devnet.payouts import vests_asset as _vests
from devnet.rawjson import RawJson
from devnet.signing import MAINNET_CHAIN_ID
from devnet.source import AccountState, ChainSource, CommentState
from devnet.virtualops import VirtualOpsApi
from devnet.world import format_time

__all__ = ["MAINNET_CHAIN_ID", "NodeApi", "RawJson", "RpcError"]
QUERY_LIMIT = 1000  # BLOCK_API_SINGLE_QUERY_LIMIT, DATABASE_API_SINGLE_QUERY_LIMIT
_BLOCK_CACHE = 4096  # serialized blocks kept (a few MB per thousand blocks)

Handler = Callable[[Any], Any]
_log = logging.getLogger(__name__)


class RpcError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _assert(condition: bool, text: str) -> None:
    if not condition:
        raise RpcError(-32003, f"Assert Exception:{text}")


CONFIG: dict[str, Any] = {
    "IS_TEST_NET": False,
    "HBD_SYMBOL": {"nai": "@@000000013", "decimals": 3},
    "HIVE_SYMBOL": {"nai": "@@000000021", "decimals": 3},
    "VESTS_SYMBOL": {"nai": "@@000000037", "decimals": 6},
    "HIVE_100_PERCENT": 10000,
    "HIVE_1_PERCENT": 100,
    "HIVE_ADDRESS_PREFIX": "STM",
    "HIVE_BLOCKCHAIN_HARDFORK_VERSION": "1.28.0",
    "HIVE_BLOCKCHAIN_VERSION": "1.28.7",
    "HIVE_BLOCK_INTERVAL": 3,
    "HIVE_BLOCKS_PER_DAY": 28800,
    "HIVE_CASHOUT_WINDOW_SECONDS": 604800,
    "HIVE_CHAIN_ID": MAINNET_CHAIN_ID,
    "HIVE_COMMENT_TITLE_LIMIT": 256,
    "HIVE_GENESIS_TIME": "2016-03-24T16:00:00",
    "HIVE_INIT_MINER_NAME": "initminer",
    "HIVE_IRREVERSIBLE_THRESHOLD": 7500,
    "HIVE_MAX_PERMLINK_LENGTH": 256,
    "HIVE_MAX_TIME_UNTIL_EXPIRATION": 3600,
    "HIVE_MAX_TRANSACTION_SIZE": 65536,
    "HIVE_MIN_ROOT_COMMENT_INTERVAL": 300000000,
    "HIVE_MIN_COMMENT_EDIT_INTERVAL": 3000000,
    "HIVE_NULL_ACCOUNT": "null",
    "HIVE_VOTE_DUST_THRESHOLD": 50000000,
    "HIVE_VOTING_MANA_REGENERATION_SECONDS": 432000,
}


class NodeApi:
    """Answers JSON-RPC requests about ``source`` as of the head that ``head`` gives."""

    def __init__(
        self,
        source: ChainSource,
        head: HeadClock,
        *,
        chain_id: str = MAINNET_CHAIN_ID,
        faults: BroadcastFaults | None = None,
        deep_histories: Mapping[str, DeepHistory] | None = None,
        effective_votes_before_hf24: bool = True,
    ) -> None:
        self.source = source
        self.head = head
        self.config = {**CONFIG, "HIVE_CHAIN_ID": chain_id}
        self._lock = threading.Lock()  # sources keep caches that are not thread-safe
        self._serialized: OrderedDict[int, str] = OrderedDict()
        self.calls: deque[str] = deque(maxlen=100_000)
        """The method of every request answered, in order, as ``api.method``."""
        self.methods: dict[str, Handler] = {
            "database_api.get_config": lambda _: self.config,
            "database_api.get_version": self._version,
            "database_api.get_dynamic_global_properties": lambda _: self._props(),
            "database_api.find_comments": self._find_comments,
            "database_api.find_accounts": self._find_accounts,
            "database_api.get_feed_history": lambda _: self._feed_history(),
            "database_api.get_hardfork_properties": lambda _: self._hardfork_properties(),
            "database_api.get_reward_funds": lambda _: {"funds": [self._reward_fund()]},
            "database_api.get_witness_schedule": lambda _: self._witness_schedule(),
            "block_api.get_block": self._get_block,
            "block_api.get_block_header": self._get_block_header,
            "block_api.get_block_range": self._get_block_range,
            "condenser_api.get_config": lambda _: self.config,
            "condenser_api.get_version": self._version,
            "condenser_api.get_dynamic_global_properties": lambda _: legacy(self._props()),
            "condenser_api.get_block": self._condenser_get_block,
            "condenser_api.get_block_header": self._condenser_get_block_header,
            "condenser_api.get_content": self._get_content,
            "condenser_api.get_accounts": self._get_accounts,
        }
        self.methods.update(BridgeApi(source, head, self._lock).methods())
        self.history = HistoryApi(
            source, head, self._lock, deep_histories, effective_votes_before_hf24=effective_votes_before_hf24
        )
        """``get_account_history`` (see :mod:`devnet.history`)."""
        self.methods.update(self.history.methods())
        self.virtual_ops = VirtualOpsApi(source, head, self._lock)
        """``enum_virtual_ops`` (see :mod:`devnet.virtualops`)."""
        self.methods.update(self.virtual_ops.methods())
        self.faults = faults if faults is not None else BroadcastFaults()
        """What the next broadcasts suffer (see :mod:`devnet.faults`)."""
        if isinstance(source, Ledger):
            writes = BroadcastApi(source, head, self._lock, self._forget_block, self.faults)
            self.methods.update(writes.methods())

    # -- JSON-RPC -------------------------------------------------------------------------------------------
    def handle(self, body: bytes) -> bytes:
        """One HTTP request body (a request or a batch) → the response body."""
        try:
            request = json.loads(body)
        except ValueError as exc:
            return _encode_one(None, RpcError(-32700, f"Parse Error:{exc}")).encode()
        if isinstance(request, list):
            if not request:
                return _encode_one(None, RpcError(-32600, "Invalid Request: empty batch")).encode()
            return ("[" + ",".join(self._answer(item) for item in request) + "]").encode()
        return self._answer(request).encode()

    def _answer(self, request: Any) -> str:
        request_id = request.get("id") if isinstance(request, dict) else None
        try:
            return _encode_one(request_id, self.dispatch(request))
        except RpcError as exc:
            return _encode_one(request_id, exc)
        except AnswerLost:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug of the node: answer it, rather than drop the connection
            _log.exception("devnet: the node failed to answer %r", request)
            error = RpcError(-32000, f"devnet internal error: {type(exc).__name__}: {exc}")
            return _encode_one(request_id, error)

    def dispatch(self, request: Any) -> Any:
        """The result of one request, or :class:`RpcError`."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "method" not in request:
            raise RpcError(-32600, "Invalid Request: a JSON-RPC 2.0 object with a method is needed")
        method, params = request["method"], request.get("params")
        if method == "call":
            if not isinstance(params, list) or len(params) not in (2, 3):
                raise RpcError(-32602, "Invalid parameters: call takes [api, method, args]")
            api, name, params = params[0], params[1], params[2] if len(params) == 3 else []
            method = f"{api}.{name}"
            if api != "condenser_api" and isinstance(params, list):
                params = params[0] if isinstance(params, list) and params else {}
        self.calls.append(str(method))
        if not isinstance(method, str) or "." not in method:
            raise RpcError(-32601, f"Could not find method {method}")
        api, name = method.split(".", 1)
        if not any(known.startswith(api + ".") for known in self.methods):
            raise RpcError(-32601, f"Could not find API {api}")
        handler = self.methods.get(method)
        if handler is None:
            raise RpcError(-32601, f"Could not find method {name}")
        expected = list if api == "condenser_api" else dict
        if params is None:
            params = expected()
        if not isinstance(params, expected):
            raise RpcError(-32602, f"Invalid parameters: {method} takes {expected.__name__} params")
        try:
            return handler(params)
        except Rejected as exc:
            raise RpcError(exc.code, exc.message) from None
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise RpcError(-32602, f"Invalid parameters: {type(exc).__name__}: {exc}") from None

    # -- chain state ----------------------------------------------------------------------------------------
    def _block_json(self, num: int) -> str | None:
        """Block ``num`` as JSON text if the node has it (it exists and is not above the head)."""
        if not self.source.first_block <= num <= self.head.head():
            return None
        with self._lock:
            cached = self._serialized.get(num)
            if cached is not None:
                self._serialized.move_to_end(num)
                return cached
            block = self.source.block(num)
            if block is None:
                return None
            text = json.dumps(block, ensure_ascii=False, separators=(",", ":"))
            self._serialized[num] = text
            if len(self._serialized) > _BLOCK_CACHE:
                self._serialized.popitem(last=False)
            return text

    def _forget_block(self, num: int) -> None:
        """Drop block ``num``'s cached JSON (the caller holds the lock): a transaction went into it. Only
        blocks at or below the head are ever cached, and transactions only go into blocks above it, so this
        matters only after a test moved the head back below a block it had served."""
        self._serialized.pop(num, None)
        self.history.forget_block(num)
        self.virtual_ops.forget_block(num)

    def _block(self, num: int) -> dict[str, Any] | None:
        text = self._block_json(num)
        return None if text is None else json.loads(text)

    def _props(self) -> dict[str, Any]:
        head = self.head.head()
        with self._lock:
            time, block_id, witness = (
                self.source.block_time(head), self.source.block_id(head), self.source.witness(head)
            )  # fmt: skip
        return {
            "id": 0,
            "head_block_number": head,
            "head_block_id": block_id,
            "time": format_time(time),
            "current_witness": witness,
            "total_pow": 514415,
            "num_pow_witnesses": 172,
            "virtual_supply": _hive(490_112_327_921),
            "current_supply": _hive(478_524_905_264),
            "init_hbd_supply": _hbd(0),
            "current_hbd_supply": _hbd(34_578_926_132),
            "total_vesting_fund_hive": _hive(PRICES.vesting_fund),
            "total_vesting_shares": _vests(PRICES.vesting_shares),
            "total_reward_fund_hive": _hive(0),
            "total_reward_shares2": "0",
            "pending_rewarded_vesting_shares": _vests(1_198_742_523_013_116),
            "pending_rewarded_vesting_hive": _hive(684_893_731),
            "hbd_interest_rate": 1500,
            "hbd_print_rate": 10000,
            "maximum_block_size": 65536,
            "current_aslot": head + 1_200_000,
            "recent_slots_filled": "340282366920938463463374607431768211455",
            "participation_count": 128,
            "last_irreversible_block_num": max(self.head.irreversible(), 0),
            "vote_power_reserve_rate": 10,
            "delegation_return_period": 432000,
            "reverse_auction_seconds": 0,
            "available_account_subsidies": 43_150_263,
            "hbd_stop_percent": 2000,
            "hbd_start_percent": 2000,
            "next_maintenance_time": format_time(time - time % 3600 + 3600),
            "last_budget_time": format_time(time - time % 3600),
            "next_daily_maintenance_time": format_time(time - time % 86400 + 86400),
            "content_reward_percent": 6500,
            "vesting_reward_percent": 1500,
            "proposal_fund_percent": 1000,
            "dhf_interval_ledger": _hbd(1_020),
            "downvote_pool_percent": 2500,
            "current_remove_threshold": 200,
            "early_voting_seconds": 86400,
            "mid_voting_seconds": 172800,
            "max_consecutive_recurrent_transfer_failures": 10,
            "max_recurrent_transfer_end_date": 730,
            "min_recurrent_transfers_recurrence": 24,
            "max_open_recurrent_transfers": 255,
        }

    def _version(self, _params: Any) -> dict[str, Any]:
        return {
            "blockchain_version": self.config["HIVE_BLOCKCHAIN_VERSION"],
            "hive_revision": "0" * 40,
            "fc_revision": "0" * 40,
            "chain_id": self.config["HIVE_CHAIN_ID"],
            "node_type": "mainnet",
        }

    def _feed_history(self) -> dict[str, Any]:
        price = {"base": _hbd(PRICES.median_base), "quote": _hive(PRICES.median_quote)}
        return {
            "id": 0,
            "current_median_history": price,
            "market_median_history": price,
            "current_min_history": price,
            "current_max_history": price,
            "price_history": [price],
        }

    def _hardfork_properties(self) -> dict[str, Any]:
        return {
            "id": 0,
            "processed_hardforks": ["2016-03-24T16:00:00"] * 29,
            "last_hardfork": 28,
            "current_hardfork_version": "1.28.0",
            "next_hardfork": "1.28.0",
            "next_hardfork_time": "2025-11-19T14:00:00",
        }

    def _reward_fund(self) -> dict[str, Any]:
        return {
            "id": 0,
            "name": "post",
            "reward_balance": _hive(826_307_152),
            "recent_claims": "602127004066394046",
            "last_update": format_time(self.source.block_time(self.head.head())),
            "content_constant": "2000000000000",
            "percent_curation_rewards": 5000,
            "percent_content_rewards": 10000,
            "author_reward_curve": "linear",
            "curation_reward_curve": "linear",
        }

    def _witness_schedule(self) -> dict[str, Any]:
        return {
            "id": 0,
            "current_virtual_time": "0",
            "next_shuffle_block_num": self.head.head() + 21,
            "current_shuffled_witnesses": [],
            "num_scheduled_witnesses": 21,
            "elected_weight": 1,
            "timeshare_weight": 5,
            "miner_weight": 1,
            "witness_pay_normalization_factor": 25,
            "median_props": {
                "account_creation_fee": _hive(3000),
                "maximum_block_size": 65536,
                "hbd_interest_rate": 1500,
                "account_subsidy_budget": 797,
                "account_subsidy_decay": 347321,
            },
            "majority_version": "1.28.0",
            "max_voted_witnesses": 20,
            "max_miner_witnesses": 0,
            "max_runner_witnesses": 1,
            "hardfork_required_witnesses": 17,
            "account_subsidy_rd": {},
            "account_subsidy_witness_rd": {},
            "min_witness_account_subsidy_decay": 0,
        }

    # -- blocks ---------------------------------------------------------------------------------------------
    def _get_block(self, params: dict[str, Any]) -> Any:
        text = self._block_json(int(params["block_num"]))
        return {} if text is None else RawJson('{"block":' + text + "}")

    def _get_block_header(self, params: dict[str, Any]) -> dict[str, Any]:
        block = self._block(int(params["block_num"]))
        return {} if block is None else {"header": _header(block)}

    def _get_block_range(self, params: dict[str, Any]) -> RawJson:
        start, count = int(params["starting_block_num"]), int(params["count"])
        _assert(count <= QUERY_LIMIT, "args.count <= 1000: count too large")
        _assert(
            start > 0, 'starting_block_num > 0 && "fetch_block_range": Invalid starting block numberrethrow'
        )
        texts = []
        for num in range(start, start + count):
            text = self._block_json(num)
            if text is None:
                break
            texts.append(text)
        return RawJson('{"blocks":[' + ",".join(texts) + "]}")

    def _condenser_get_block(self, params: list[Any]) -> dict[str, Any] | None:
        num = int(params[0])
        block = self._block(num)
        return None if block is None else legacy_block(block, num)

    def _condenser_get_block_header(self, params: list[Any]) -> dict[str, Any] | None:
        block = self._block(int(params[0]))
        return None if block is None else _header(block)

    # -- comments and accounts ------------------------------------------------------------------------------
    def _comment(self, author: str, permlink: str, *, votes: bool = False) -> CommentState | None:
        head = self.head.head()
        with self._lock:
            return self.source.comment(author, permlink, head, votes=votes)

    def _find_comments(self, params: dict[str, Any]) -> dict[str, Any]:
        """As hivemind answers it (API nodes route this call to hivemind): too many pairs is its error,
        a pair that is not ``[author, permlink]`` is skipped."""
        wanted = params["comments"]
        if len(wanted) > QUERY_LIMIT:
            raise RpcError(
                -32602, f"Assert Exception:Parameters count is greather than max allowed ({QUERY_LIMIT})"
            )
        found = []
        for pair in wanted:
            if not isinstance(pair, list) or len(pair) != 2:
                continue
            state = self._comment(str(pair[0]), str(pair[1]))
            if state is not None:
                found.append(_database_comment(state))
        return {"comments": found}

    def _get_content(self, params: list[Any]) -> dict[str, Any]:
        """On public nodes hivemind serves this call, and answers a deleted or unknown comment with an error
        (hived itself would answer an empty comment): see :func:`_no_content`."""
        author, permlink = str(params[0]), str(params[1])
        state = self._comment(author, permlink, votes=True)
        if state is None:
            raise _no_content(author, permlink, self._deletions(author, permlink))
        return legacy(_condenser_comment(state))  # type: ignore[no-any-return]

    def _deletions(self, author: str, permlink: str) -> int:
        """Deletions are known of comments made by broadcasts (a recorded chain's are not counted)."""
        if not isinstance(self.source, Ledger):
            return 0
        head = self.head.head()
        with self._lock:
            return self.source.deletions((author, permlink), head)

    def _account(self, name: str) -> AccountState | None:
        head = self.head.head()
        with self._lock:
            return self.source.account(name, head)

    def _find_accounts(self, params: dict[str, Any]) -> dict[str, Any]:
        names = params["accounts"]
        _assert(len(names) <= QUERY_LIMIT, "args.accounts.size() <= DATABASE_API_SINGLE_QUERY_LIMIT")
        states = [self._account(str(name)) for name in names]
        return {"accounts": [_database_account(s) for s in states if s is not None]}

    def _get_accounts(self, params: list[Any]) -> list[Any]:
        states = [self._account(str(name)) for name in params[0]]
        return [legacy(_database_account(s)) for s in states if s is not None]


def _no_content(author: str, permlink: str, deletions: int) -> RpcError:
    """hivemind's answer to ``condenser_api.get_content`` for a comment it does not have, from its pattern
    tests (openhive-network/hivemind, commit cab9e328, ``tests/api_tests/hivemind/tavern/
    condenser_api_negative/get_content/``): ``deleted_post.pat.json`` for a deleted one,
    ``nonexisting_post.pat.json`` for one that never was (its ``assert_hash`` is a hash hivemind makes of
    the assertion: here one of the same length, made of its text)."""
    if deletions:
        return RpcError(
            -31999, "Invalid parameters", f"Post {author}/{permlink} was deleted {deletions} time(s)"
        )
    text = f"Post {author}/{permlink} does not exist"
    context = {"level": "error", "file": "", "line": 0, "method": "", "hostname": "", "thread_name": ""}
    data = {
        "code": 10,
        "name": "assert_exception",
        "message": "Assert Exception",
        "stack": [
            {
                "context": {**context, "timestamp": format_time(int(time.time()))},
                "format": "",
                "data": {"category": "hivemind"},
            }
        ],
        "extension": {"assertion_expression": text},
        "assert_hash": hashlib.sha256(text.encode()).hexdigest()[:20],
    }
    return RpcError(-32602, f"Assert Exception:{text}", data)


def _encode_one(request_id: Any, result: Any) -> str:
    if isinstance(result, RpcError):
        fields = {"code": result.code, "message": result.message}
        if result.data is not None:
            fields["data"] = result.data
        error = json.dumps(fields, ensure_ascii=False)
        return f'{{"jsonrpc":"2.0","error":{error},"id":{json.dumps(request_id)}}}'
    text = result if isinstance(result, RawJson) else json.dumps(result, ensure_ascii=False)
    return f'{{"jsonrpc":"2.0","result":{text},"id":{json.dumps(request_id)}}}'


def _header(block: dict[str, Any]) -> dict[str, Any]:
    keys = ("previous", "timestamp", "witness", "transaction_merkle_root", "extensions")
    return {key: block[key] for key in keys}


def _authority(key: str) -> dict[str, Any]:
    return {"weight_threshold": 1, "account_auths": [], "key_auths": [[key, 1]]}


def _database_account(state: AccountState) -> dict[str, Any]:
    return {
        "id": 0,
        "name": state.name,
        "owner": _authority(state.owner_key),
        "active": _authority(state.active_key),
        "posting": _authority(state.posting_key),
        "memo_key": state.memo_key,
        "json_metadata": state.json_metadata,
        "posting_json_metadata": state.posting_json_metadata,
        "proxy": "",
        "created": format_time(state.created),
        "balance": _hive(1_000),
        "hbd_balance": _hbd(0),
        "vesting_shares": _vests(10_000_000_000),
        "delegated_vesting_shares": _vests(0),
        "received_vesting_shares": _vests(0),
        "post_count": 0,
        "last_post": format_time(state.last_post),
        "last_post_edit": format_time(state.last_post_edit),
        "can_vote": True,
        "voting_manabar": {"current_mana": 10_000_000_000, "last_update_time": state.created},
        "downvote_manabar": {"current_mana": 2_500_000_000, "last_update_time": state.created},
    }


def _database_comment(state: CommentState) -> dict[str, Any]:
    """A comment as ``database_api.find_comments`` returns it (hived keeps no body in its state)."""
    return {
        "author": state.author,
        "permlink": state.permlink,
        "category": state.category,
        "parent_author": state.parent_author,
        "parent_permlink": state.parent_permlink,
        "created": format_time(state.created),
        "last_update": format_time(state.last_update),
        "last_payout": "1970-01-01T00:00:00",
        "depth": state.depth,
        "children": 0,
        "cashout_time": format_time(state.created + 604_800),
        "max_cashout_time": "1969-12-31T23:59:59",
        "root_author": state.root_author,
        "root_permlink": state.root_permlink,
        "allow_replies": True,
        "allow_votes": True,
        "allow_curation_rewards": True,
    }


def _condenser_comment(state: CommentState) -> dict[str, Any]:
    """A comment as ``condenser_api.get_content`` returns it: with its text and its active votes."""
    votes = [
        {"voter": v.voter, "weight": 0, "rshares": 0, "percent": v.weight, "reputation": 0,
         "time": format_time(v.time)}
        for v in state.votes
    ]  # fmt: skip
    return {
        **_database_comment(state),
        "title": state.title,
        "body": state.body,
        "json_metadata": state.json_metadata,
        "root_title": state.root_title,
        "url": f"/{state.category}/@{state.root_author}/{state.root_permlink}",
        "active_votes": votes,
        "net_votes": sum(1 if v.weight > 0 else -1 if v.weight < 0 else 0 for v in state.votes),
    }
