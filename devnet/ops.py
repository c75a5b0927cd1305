"""Operations and transactions in ``block_api`` (new, NAI) format, filled from a block's private RNG."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devnet import names
from devnet.world import format_time

HIVE, HBD, VESTS = ("@@000000021", 3), ("@@000000013", 3), ("@@000000037", 6)
_HIVE_ENGINE_TOKENS = ("SPS", "DEC", "LEO", "BEE", "SWAP.HIVE", "DCORE")


def asset(amount: int, kind: tuple[str, int]) -> dict[str, Any]:
    return {"amount": str(amount), "precision": kind[1], "nai": kind[0]}


def op(kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind + "_operation", "value": value}


def vote(voter: str, author: str, permlink: str, weight: int) -> dict[str, Any]:
    return op("vote", {"voter": voter, "author": author, "permlink": permlink, "weight": weight})


def comment(parent_author: str, parent_permlink: str, author: str, permlink: str, title: str, body: str,
            json_metadata: str) -> dict[str, Any]:  # fmt: skip
    return op("comment", {
        "parent_author": parent_author, "parent_permlink": parent_permlink, "author": author,
        "permlink": permlink, "title": title, "body": body, "json_metadata": json_metadata,
    })  # fmt: skip


def comment_options(r: random.Random, author: str, permlink: str, accounts: Sequence[str]) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = []
    if r.random() < 0.3:
        chosen = sorted({r.choice(accounts) for _ in range(r.randint(1, 3))} - {author})
        if chosen:
            beneficiaries = [{"account": a, "weight": r.choice((100, 500, 1000, 2500))} for a in chosen]
            extensions.append(
                {"type": "comment_payout_beneficiaries", "value": {"beneficiaries": beneficiaries}}
            )
    return op("comment_options", {
        "author": author, "permlink": permlink,
        "max_accepted_payout": asset(r.choice((1_000_000_000, 1_000_000_000, 0)), HBD),
        "percent_hbd": r.choice((10000, 10000, 0)), "allow_votes": True, "allow_curation_rewards": True,
        "extensions": extensions,
    })  # fmt: skip


def custom_json(r: random.Random, accounts: Sequence[str]) -> dict[str, Any]:
    who, other = r.choice(accounts), r.choice(accounts)
    style = r.random()
    active = False
    if style < 0.45:
        ident = r.choice(("sm_stake_tokens", "sm_claim_reward", "sm_find_match", "sm_submit_team"))
        payload: Any = {"token": "SPS", "qty": r.randint(0, 500), "app": "splinterlands/0.7.139",
                        "n": f"{r.getrandbits(40):010x}"}  # fmt: skip
    elif style < 0.7:
        ident, active = "ssc-mainnet-hive", r.random() < 0.5
        payload = {"contractName": "tokens", "contractAction": "transfer", "contractPayload": {
            "symbol": r.choice(_HIVE_ENGINE_TOKENS), "to": other, "quantity": f"{r.uniform(0, 1000):.3f}",
            "memo": ""}}  # fmt: skip
    elif style < 0.85:
        ident = "follow"
        payload = ["follow", {"follower": who, "following": other, "what": [r.choice(("blog", ""))]}]
    elif style < 0.93:
        ident, payload = "community", ["subscribe", {"community": r.choice(names.TAGS[:5])}]
    else:
        ident, payload = "notify", ["setLastRead", {"date": "2025-07-16T10:29:18"}]
    return op("custom_json", {
        "required_auths": [who] if active else [], "required_posting_auths": [] if active else [who],
        "id": ident, "json": json.dumps(payload, separators=(",", ":")),
    })  # fmt: skip


def transfer(r: random.Random, accounts: Sequence[str]) -> dict[str, Any]:
    sender, receiver = r.sample(accounts, 2)
    memo = r.choice(("", "", "thanks!", "payment for order", f"#encrypted{r.getrandbits(64):x}"))
    kind = r.choice((HIVE, HBD))
    return op("transfer", {"from": sender, "to": receiver, "amount": asset(r.randint(1, 500_000), kind),
                           "memo": memo})  # fmt: skip


def claim_reward_balance(r: random.Random, accounts: Sequence[str]) -> dict[str, Any]:
    return op("claim_reward_balance", {
        "account": r.choice(accounts), "reward_hive": asset(0, HIVE),
        "reward_hbd": asset(r.choice((0, 0, r.randint(1, 5000))), HBD),
        "reward_vests": asset(r.randint(1, 50_000_000), VESTS),
    })  # fmt: skip


def signature(r: random.Random) -> str:
    bits = r.getrandbits(513)
    return ("1f" if bits & 1 else "20") + f"{bits >> 1:0128x}"


@dataclass(frozen=True, slots=True)
class TaposRef:
    """A transaction's reference block: ``ref_block_num`` (low 16 bits of the number) and
    ``ref_block_prefix`` (little-endian uint32 at bytes 4–8 of the block id)."""

    num: int
    prefix: int

    @classmethod
    def of(cls, num: int, block_id: str) -> TaposRef:
        return cls(num & 0xFFFF, int.from_bytes(bytes.fromhex(block_id[8:16]), "little"))


def transaction(r: random.Random, refs: Sequence[TaposRef], when: int,
                operations: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """A signed-looking transaction referencing one of ``refs`` (recent blocks)."""
    ref = refs[int(r.random() * len(refs))] if refs else TaposRef(0, 0)
    u = r.random()
    expires = when + (570 + int(u * 50) if u < 0.6 else 25 + int(u * 50))
    return {
        "ref_block_num": ref.num,
        "ref_block_prefix": ref.prefix,
        "expiration": format_time(expires),
        "operations": operations,
        "extensions": [],
        "signatures": [signature(r)],
    }
