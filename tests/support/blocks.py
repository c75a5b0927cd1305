"""Build small block_api-format blocks by hand, for tests of the pure rules."""

from __future__ import annotations

import json
from typing import Any

from bot.operations import format_timestamp

GENESIS = 1_750_000_000  # chain time of block 1 in hand-made chains
DAY = 86_400


def block_id(num: int) -> str:
    return f"{num:08x}" + "ab" * 16


def block(num: int, *operations: dict[str, Any], time: int | None = None) -> dict[str, Any]:
    """Block ``num`` at ``GENESIS + 3 * (num - 1)`` unless ``time`` is given, one transaction per operation."""
    return {
        "block_id": block_id(num),
        "previous": block_id(num - 1),
        "timestamp": format_timestamp(GENESIS + 3 * (num - 1) if time is None else time),
        "witness": "someone",
        "transactions": [
            {
                "ref_block_num": 1,
                "ref_block_prefix": 2,
                "expiration": "",
                "operations": [op],
                "signatures": [],
            }
            for op in operations
        ],
        "transaction_ids": [],
        "extensions": [],
    }


def vote(voter: str, author: str, permlink: str, weight: int = 10000) -> dict[str, Any]:
    value = {"voter": voter, "author": author, "permlink": permlink, "weight": weight}
    return {"type": "vote_operation", "value": value}


def post(author: str, permlink: str, body: str = "hello") -> dict[str, Any]:
    return reply(author, permlink, "", "hive-123", body)


def reply(
    author: str, permlink: str, parent_author: str, parent_permlink: str, body: str = "hi"
) -> dict[str, Any]:
    value = {
        "parent_author": parent_author,
        "parent_permlink": parent_permlink,
        "author": author,
        "permlink": permlink,
        "title": "",
        "body": body,
        "json_metadata": "{}",
    }
    return {"type": "comment_operation", "value": value}


def delete(author: str, permlink: str) -> dict[str, Any]:
    return {"type": "delete_comment_operation", "value": {"author": author, "permlink": permlink}}


def time_of(num: int) -> int:
    return GENESIS + 3 * (num - 1)


def custom_json(op_id: str, payload: object, signer: str) -> dict[str, Any]:
    """A ``custom_json`` signed by ``signer``'s posting authority, its payload JSON-encoded."""
    value = {
        "id": op_id,
        "json": json.dumps(payload),
        "required_auths": [],
        "required_posting_auths": [signer],
    }
    return {"type": "custom_json_operation", "value": value}
