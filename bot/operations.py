"""Parse block JSON (``block_api`` format) into the few events the bot counts.

Pure functions only. Every block becomes a :class:`Block` holding its events in chain order
(order matters: a comment created and voted on in one block, a comment deleted and re-created).
Operation types the bot does not count are skipped — their values are never even decoded — so blocks from
future hardforks parse fine; a block that is malformed where the bot needs it raises
:class:`~bot.errors.ChainDataError` naming the block and the field.

The JSON is decoded by msgspec into typed structures, straight from the node's bytes: a 1000-block range
(~6 MB) decodes in ~20 ms into a few MB of objects, where ``json.loads`` takes ~80 ms and builds ~45 MB of
dicts that are then walked again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from bot.errors import ChainDataError

CommentKey = tuple[str, str]
"""(author, permlink): how a comment is named on chain."""


@dataclass(frozen=True, slots=True)
class Vote:
    voter: str
    author: str
    permlink: str
    weight: Annotated[int, msgspec.Meta(ge=-10000, le=10000)]

    @property
    def comment(self) -> CommentKey:
        return (self.author, self.permlink)


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``comment_operation``: the creation of a post or reply, or an edit of one."""

    author: str
    permlink: str
    parent_author: str
    parent_permlink: str
    body: str

    @property
    def key(self) -> CommentKey:
        return (self.author, self.permlink)

    @property
    def is_root(self) -> bool:
        return self.parent_author == ""


@dataclass(frozen=True, slots=True)
class DeleteComment:
    author: str
    permlink: str

    @property
    def key(self) -> CommentKey:
        return (self.author, self.permlink)


@dataclass(frozen=True, slots=True)
class CustomJson:
    """A ``custom_json_operation``: who signed it (with their active or posting authority), its id, and its
    JSON payload as the text it is on chain (decoded only by the rule that reads its id,
    :mod:`bot.manners`)."""

    id: str
    json: str
    required_auths: tuple[str, ...] = ()
    required_posting_auths: tuple[str, ...] = ()


Event = Vote | Comment | DeleteComment


@dataclass(frozen=True, slots=True)
class Block:
    num: int
    block_id: str
    previous: str
    timestamp: int  # seconds since the epoch, UTC
    events: tuple[Event, ...]
    custom_jsons: tuple[CustomJson, ...] = ()
    """The block's ``custom_json`` operations, in chain order: apart from :attr:`events`, which the
    counting rules read (opt-out commands and mutes, :mod:`bot.manners`, read these)."""


def parse_timestamp(text: str) -> int:
    """``"2025-07-08T23:09:27"`` (chain time, UTC) → seconds since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def format_timestamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def block_num_from_id(block_id: str) -> int:
    """The first four bytes of a block id are its number, big-endian."""
    return int(block_id[:8], 16)


def parse_block_range(raw: bytes, first: int | None = None) -> list[Block]:
    """``block_api.get_block_range``'s result (``{"blocks": [...]}``, JSON bytes) → blocks. ``first`` is
    the number of the first block asked for, to name a malformed block by its number."""
    try:
        decoded = _RANGE.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ChainDataError(_where(str(exc), first)) from None
    return [_block(block) for block in decoded.blocks]


def check_continuity(blocks: list[Block], first: int, previous_id: str | None) -> None:
    """Raise :class:`ChainDataError` unless ``blocks`` are ``first, first+1, …`` each linked to the last."""
    for offset, block in enumerate(blocks):
        if block.num != first + offset:
            raise ChainDataError(f"expected block {first + offset}, the node sent block {block.num}")
        if previous_id is not None and block.previous != previous_id:
            raise ChainDataError(
                f"block {block.num}: previous is {block.previous}, but block {block.num - 1} is {previous_id}"
            )
        previous_id = block.block_id


def parse_blocks(raw_blocks: Iterable[Mapping[str, Any]]) -> list[Block]:
    """Blocks given as decoded JSON (tests, recorded data): the same parser, through JSON bytes."""
    blocks = list(raw_blocks)
    try:
        raw = msgspec.json.encode({"blocks": blocks})
    except (TypeError, ValueError, OverflowError) as exc:
        raise ChainDataError(f"block: not JSON ({exc})") from None
    try:
        first = block_num_from_id(blocks[0]["block_id"])
    except (IndexError, KeyError, TypeError, ValueError):
        first = None  # the error, if any, will name the block by its place
    return parse_block_range(raw, first)


def parse_block(raw: Mapping[str, Any]) -> Block:
    return parse_blocks([raw])[0]


def comments_by(blocks: Iterable[Block], author: str) -> dict[str, int]:
    """The permlinks of the comment operations (creations and edits) ``author`` sent in ``blocks``, each
    with the first block it was seen in."""
    found: dict[str, int] = {}
    for block in blocks:
        for event in block.events:
            if isinstance(event, Comment) and event.author == author:
                found.setdefault(event.permlink, block.num)
    return found


def _block(raw: _RawBlock) -> Block:
    num = _block_num(raw.block_id)
    where = f"block {num}"
    try:
        timestamp = parse_timestamp(raw.timestamp)
    except ValueError as exc:
        raise ChainDataError(f"{where}: timestamp: {exc}") from None
    events: list[Event] = []
    customs: list[CustomJson] = []
    for t_index, transaction in enumerate(raw.transactions):
        for o_index, operation in enumerate(transaction.operations):
            if operation.type == "custom_json_operation":
                customs.extend(_custom_json(operation.value))
                continue
            decoder = _DECODERS.get(operation.type)
            if decoder is None:
                continue
            try:
                events.append(decoder.decode(operation.value))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                place = f"{where} transaction {t_index} operation {o_index} ({operation.type})"
                raise ChainDataError(f"{place}: {_plain(str(exc))}") from None
    return Block(num, raw.block_id, raw.previous, timestamp, tuple(events), tuple(customs))


def _custom_json(value: msgspec.Raw) -> list[CustomJson]:
    """A ``custom_json_operation`` as the bot reads it; none if it is not one (the chain never holds such,
    and the bot reads only a few ids: a malformed one says nothing, never stops a batch)."""
    try:
        return [_CUSTOM_JSON.decode(value)]
    except (msgspec.ValidationError, msgspec.DecodeError):
        return []


def _block_num(block_id: str) -> int:
    try:
        return block_num_from_id(block_id)
    except ValueError:
        raise ChainDataError(f"block: block_id {block_id[:40]!r} is not hexadecimal") from None


_PATH = re.compile(r"\$\.blocks\[(\d+)\]")


def _where(message: str, first: int | None) -> str:
    """msgspec's message, its JSON path (``$.blocks[3].transactions[0]``) told by the block's number."""
    found = _PATH.search(message)
    if found is None:
        return f"block range: {_plain(message)}"
    index = int(found.group(1))
    block = f"block {first + index}" if first is not None else f"block #{index} of the range"
    return f"{block}: {_plain(message)}"


def _plain(message: str) -> str:
    return message.replace("`", "'")


class _RawOperation(msgspec.Struct):
    type: str
    value: msgspec.Raw = msgspec.Raw(b"null")  # an operation the bot does not count may lack it


class _RawTransaction(msgspec.Struct):
    operations: list[_RawOperation]


class _RawBlock(msgspec.Struct):
    block_id: str
    previous: str
    timestamp: str
    transactions: list[_RawTransaction]


class _RawRange(msgspec.Struct):
    blocks: list[_RawBlock]


_RANGE = msgspec.json.Decoder(_RawRange)
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "vote_operation": msgspec.json.Decoder(Vote),
    "comment_operation": msgspec.json.Decoder(Comment),
    "delete_comment_operation": msgspec.json.Decoder(DeleteComment),
}
_CUSTOM_JSON = msgspec.json.Decoder(CustomJson)
