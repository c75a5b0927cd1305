"""Parse block JSON (``block_api`` format) into the few events the bot counts.

Pure functions only. Every block becomes a :class:`Block` holding its events in chain order
(order matters: a comment created and voted on in one block, a comment deleted and re-created).
Operation types the bot does not count are skipped, so blocks from future hardforks parse fine;
a block that is malformed where the bot needs it raises :class:`~bot.errors.ChainDataError`
naming the block and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.errors import ChainDataError

CommentKey = tuple[str, str]
"""(author, permlink): how a comment is named on chain."""


@dataclass(frozen=True, slots=True)
class Vote:
    voter: str
    author: str
    permlink: str
    weight: int

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


Event = Vote | Comment | DeleteComment


@dataclass(frozen=True, slots=True)
class Block:
    num: int
    block_id: str
    previous: str
    timestamp: int  # seconds since the epoch, UTC
    events: tuple[Event, ...]


def parse_timestamp(text: str) -> int:
    """``"2025-07-08T23:09:27"`` (chain time, UTC) → seconds since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def format_timestamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def block_num_from_id(block_id: str) -> int:
    """The first four bytes of a block id are its number, big-endian."""
    return int(block_id[:8], 16)


def parse_blocks(raw_blocks: Iterable[Mapping[str, Any]]) -> list[Block]:
    return [parse_block(raw) for raw in raw_blocks]


def parse_block(raw: Mapping[str, Any]) -> Block:
    if not isinstance(raw, Mapping):
        raise ChainDataError(f"block: expected an object, got {type(raw).__name__}")
    block_id = _field(raw, "block_id", str, "block")
    num = _block_num(block_id)
    where = f"block {num}"
    try:
        timestamp = parse_timestamp(_field(raw, "timestamp", str, where))
    except ValueError as exc:
        raise ChainDataError(f"{where}: timestamp: {exc}") from None
    events: list[Event] = []
    for t_index, transaction in enumerate(_field(raw, "transactions", list, where)):
        t_where = f"{where} transaction {t_index}"
        if not isinstance(transaction, Mapping):
            raise ChainDataError(f"{t_where}: expected an object")
        for o_index, operation in enumerate(_field(transaction, "operations", list, t_where)):
            event = _parse_operation(operation, f"{t_where} operation {o_index}")
            if event is not None:
                events.append(event)
    return Block(
        num=num,
        block_id=block_id,
        previous=_field(raw, "previous", str, where),
        timestamp=timestamp,
        events=tuple(events),
    )


def comments_by(blocks: Iterable[Block], author: str) -> dict[str, int]:
    """The permlinks of the comment operations (creations and edits) ``author`` sent in ``blocks``, each
    with the first block it was seen in."""
    found: dict[str, int] = {}
    for block in blocks:
        for event in block.events:
            if isinstance(event, Comment) and event.author == author:
                found.setdefault(event.permlink, block.num)
    return found


def _block_num(block_id: str) -> int:
    try:
        return block_num_from_id(block_id)
    except ValueError:
        raise ChainDataError(f"block: block_id {block_id[:40]!r} is not hexadecimal") from None


def _parse_operation(operation: Any, where: str) -> Event | None:
    if not isinstance(operation, Mapping):
        raise ChainDataError(f"{where}: expected an object with 'type' and 'value'")
    op_type = operation.get("type")
    if op_type not in _PARSERS:
        return None
    value = _field(operation, "value", Mapping, where)
    return _PARSERS[op_type](value, f"{where} ({op_type})")


def _parse_vote(value: Mapping[str, Any], where: str) -> Vote:
    weight = _field(value, "weight", int, where)
    if isinstance(weight, bool) or not -10000 <= weight <= 10000:
        raise ChainDataError(f"{where}: weight {weight!r} is outside -10000..10000")
    return Vote(
        voter=_field(value, "voter", str, where),
        author=_field(value, "author", str, where),
        permlink=_field(value, "permlink", str, where),
        weight=weight,
    )


def _parse_comment(value: Mapping[str, Any], where: str) -> Comment:
    return Comment(
        author=_field(value, "author", str, where),
        permlink=_field(value, "permlink", str, where),
        parent_author=_field(value, "parent_author", str, where),
        parent_permlink=_field(value, "parent_permlink", str, where),
        body=_field(value, "body", str, where),
    )


def _parse_delete_comment(value: Mapping[str, Any], where: str) -> DeleteComment:
    return DeleteComment(
        author=_field(value, "author", str, where),
        permlink=_field(value, "permlink", str, where),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any], str], Event]] = {
    "vote_operation": _parse_vote,
    "comment_operation": _parse_comment,
    "delete_comment_operation": _parse_delete_comment,
}


def _field(mapping: Mapping[str, Any], name: str, kind: Any, where: str) -> Any:
    try:
        value = mapping[name]
    except KeyError:
        raise ChainDataError(f"{where}: field '{name}' is missing") from None
    if not isinstance(value, kind):
        raise ChainDataError(
            f"{where}: field '{name}' should be {_kind_name(kind)}, got {type(value).__name__}"
        )
    return value


def _kind_name(kind: Any) -> str:
    return {str: "a string", int: "an integer", list: "a list"}.get(kind, "an object")
