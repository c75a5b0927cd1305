"""Quiet opt-outs and mutes, read from ``custom_json`` operations. Pure.

**Opt commands** (``notifications.custom_json_id``, default ``hive-badge-bot``): the JSON is an object with
one key, ``stop`` or ``start``, whose value is ``"all"`` or a non-empty list of families (the badges' keys,
:data:`~bot.metrics.Family` values, ``birthday`` too; ``"all"`` in the list means all): ``{"stop": "all"}``, ``{"stop":
["posts", "comments"]}``, ``{"start": ["posts"]}``. It is the account's own when exactly one account signed
it, with its posting authority (``required_posting_auths == [account]``, ``required_auths == []``) or its
active authority (``required_auths == [account]``, no posting one): the active key can do all the posting
key can, so it proves the account as well; two signers are refused, as nobody can tell whose command it is.
Anything else with the id — JSON that is not such an object, an unknown family (even beside known ones: the
command is refused whole, never half-applied), a second key — is refused: it changes nothing, and the
reason is reported for the log, never raised (one bad operation must not stop a batch).

**Digests** under the same id: ``{"digest": "weekly"}`` gathers the account's notifications into one
comment per ``notifications.digest_interval`` (a week unless the operator says otherwise; see
:func:`bot.plan.due_time`), ``{"digest": "off"}`` returns to the default, each notification as soon as
``per_account_interval`` allows. Only those two values, exactly so written (lower case), are a digest command:
anything else (``"Weekly"``, ``"daily"``, ``true``) is refused like a malformed opt command. Within a batch
the account's last digest command decides; a digest is independent of what the account is opted out of
(a STOP still silences, and a START finds the digest as it was).

**Mutes** follow hivemind's reading of ``follow`` operations (openhive-network/hivemind, commit
cab9e328bfd5bd9da2d228d68db75b07b7ae8f93, ``hive/db/sql_scripts/hafapp_api.sql``, ``process_follows``):
id ``follow``, ``required_auths`` empty, exactly one ``required_posting_auths`` equal to the JSON's
``follower``; the JSON an array ``["follow", {"follower", "following", "what"}]`` (``["reblog", …]`` and
other shapes are not follows); ``following`` a name or a list of names; ``what`` a list whose first item is
the action (none, ``false`` or ``true``: ``""``). Toward the bot: ``ignore`` mutes it; ``blog``, ``follow``
and ``""`` end a mute (hivemind deletes the ``muted`` row for them); ``reset_muted_list`` and
``reset_all_lists`` end it whatever ``following`` says. Other actions (blacklists) change nothing here.
hivemind wraps a non-array JSON as a follow only before block 6,000,000 (2016): the bot never reads such old
blocks, and treats it as no follow.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.operations import Block, CustomJson
from bot.optouts import ALL, Opt, OptCommand, parse_family

FOLLOW_ID = "follow"
DEFAULT_CUSTOM_JSON_ID = "hive-badge-bot"
SOURCE = "custom_json"
_UNMUTING = frozenset({"blog", "follow", ""})
_RESETS = frozenset({"reset_muted_list", "reset_all_lists"})


class Digest(enum.StrEnum):
    """How an account's notifications go out: each on its own (``off``, the default), or gathered into one
    comment per digest interval (``weekly``)."""

    OFF = "off"
    WEEKLY = "weekly"


DIGEST_KEY = "digest"


@dataclass(frozen=True, slots=True)
class Refused:
    """A ``custom_json`` with the bot's id that is not a command: who signed it, and why it says nothing."""

    signers: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class CustomOpts:
    """The opt commands of a batch's ``custom_json`` operations: each account's, in chain order, and those
    refused; each account's last digest command."""

    commands: Mapping[str, list[Opt]]
    refused: tuple[Refused, ...] = ()
    digests: Mapping[str, Digest] = field(default_factory=dict)


def parse_custom_opt(op: CustomJson) -> tuple[str, Opt | Digest] | Refused:
    """The account and the command of an opt ``custom_json`` (its id already checked): a STOP or START, or a
    digest; or why it is none."""
    signers = (*op.required_auths, *op.required_posting_auths)
    if len(signers) != 1:
        return Refused(signers, f"signed by {len(signers)} accounts, not one")
    try:
        payload = json.loads(op.json)
    except ValueError:
        return Refused(signers, "not JSON")
    if not isinstance(payload, dict) or len(payload) != 1:
        return Refused(signers, 'not an object with one key, "stop", "start" or "digest"')
    ((key, value),) = payload.items()
    if key == DIGEST_KEY:
        if not isinstance(value, str) or value not in Digest._value2member_map_:
            return Refused(signers, f'the digest is not "weekly" nor "off": {json.dumps(value)[:80]}')
        return signers[0], Digest(value)
    if key not in (OptCommand.STOP, OptCommand.START):
        return Refused(signers, f'the key is {key!r}, not "stop", "start" or "digest"')
    families = _families(value)
    if isinstance(families, str):
        return Refused(signers, families)
    return signers[0], Opt(OptCommand(key), families, SOURCE)


def _families(value: Any) -> frozenset[Any] | str | None:
    """``"all"`` → None; a non-empty list of families → them (None if it holds ``"all"``); else why not."""
    if value == ALL:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        return f'the value is not "all" nor a list of families: {json.dumps(value)[:80]}'
    parsed = [parse_family(item) for item in value]
    unknown = [item for item, family in zip(value, parsed, strict=True) if family is None]
    if unknown:
        return f"unknown families: {', '.join(repr(item) for item in unknown)}"
    return None if ALL in parsed else frozenset(parsed)


def find_custom_opts(blocks: Iterable[Block], custom_id: str) -> CustomOpts:
    """Every opt command with ``custom_id`` in ``blocks``, per account in chain order, the refused, and each
    account's last digest command."""
    commands: dict[str, list[Opt]] = {}
    refused: list[Refused] = []
    digests: dict[str, Digest] = {}
    for block in blocks:
        for op in block.custom_jsons:
            if op.id != custom_id:
                continue
            parsed = parse_custom_opt(op)
            if isinstance(parsed, Refused):
                refused.append(parsed)
            elif isinstance(parsed[1], Digest):
                digests[parsed[0]] = parsed[1]
            else:
                commands.setdefault(parsed[0], []).append(parsed[1])
    return CustomOpts(commands, tuple(refused), digests)


def parse_mute(op: CustomJson, bot: str) -> tuple[str, bool] | None:
    """(follower, muted) when ``op`` is a follow operation that mutes the ``bot`` or ends a mute of it;
    None when it says nothing about muting the bot."""
    if op.id != FOLLOW_ID or op.required_auths or len(op.required_posting_auths) != 1:
        return None
    try:
        payload = json.loads(op.json)
    except ValueError:
        return None
    if not isinstance(payload, list) or len(payload) != 2 or payload[0] != FOLLOW_ID:
        return None
    body = payload[1]
    if not isinstance(body, dict) or not {"follower", "following", "what"} <= body.keys():
        return None
    follower, what = body["follower"], body["what"]
    if follower != op.required_posting_auths[0] or not isinstance(what, list) or follower == bot:
        return None
    action = what[0] if what else ""
    action = "" if action is False or action is True else action
    if action in _RESETS:
        return follower, False
    if action != "ignore" and action not in _UNMUTING:
        return None
    following = body["following"]
    names = following if isinstance(following, list) else [following]
    return (follower, action == "ignore") if bot in names else None


def find_mutes(blocks: Iterable[Block], bot: str) -> dict[str, bool]:
    """Each account whose follow operations in ``blocks`` mute the ``bot`` or end a mute: the last one's
    word (True: muted)."""
    mutes: dict[str, bool] = {}
    for block in blocks:
        for op in block.custom_jsons:
            found = parse_mute(op, bot)
            if found is not None:
                mutes[found[0]] = found[1]
    return mutes
