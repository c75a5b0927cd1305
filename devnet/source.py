"""What the devnet node serves: a chain source (generated or recorded) and the state objects it answers with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

PAYOUT_SECONDS = 604_800  # HIVE_CASHOUT_WINDOW_SECONDS: a comment pays out 7 days after creation


@dataclass(frozen=True, slots=True)
class VoteState:
    voter: str
    weight: int  # percent, -10000 … 10000 (0: removed)
    time: int  # epoch seconds of the last change


@dataclass(frozen=True, slots=True)
class CommentState:
    """A comment as the chain stores it at some head block (edits up to that block applied)."""

    author: str
    permlink: str
    parent_author: str
    parent_permlink: str
    category: str
    title: str
    body: str
    json_metadata: str
    created: int  # epoch seconds
    last_update: int
    depth: int
    root_author: str
    root_permlink: str
    root_title: str
    votes: tuple[VoteState, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountState:
    name: str
    created: int  # epoch seconds
    owner_key: str
    active_key: str
    posting_key: str
    memo_key: str
    json_metadata: str = ""
    posting_json_metadata: str = ""
    last_post: int = 0  # epoch seconds hived judges the 3-second rule from (0: never posted)
    last_post_edit: int = 0  # likewise for an edit; a new comment sets both


class ChainSource(Protocol):
    """A chain the node can serve. Blocks are ``block_api.get_block`` JSON (new format), numbered
    ``first_block`` … ``last_block`` (a recorded chain may have gaps: ``block`` returns None there)."""

    @property
    def first_block(self) -> int: ...

    @property
    def last_block(self) -> int: ...

    def block(self, num: int) -> dict[str, Any] | None: ...

    def block_id(self, num: int) -> str:
        """The id of block ``num`` (also for blocks the source cannot serve, e.g. ``first_block - 1``)."""
        ...

    def block_time(self, num: int) -> int:
        """Epoch seconds of block ``num``."""
        ...

    def witness(self, num: int) -> str: ...

    def comment(self, author: str, permlink: str, head: int, *, votes: bool = False) -> CommentState | None:
        """The comment as stored when ``head`` is the head block; None if not created by then.
        Its votes are filled in only when asked (they cost more than the rest)."""
        ...

    def account(self, name: str, head: int) -> AccountState | None: ...

    def root_posts(self, author: str, head: int, oldest: int) -> Iterator[tuple[int, str]]:
        """``(block, permlink)`` of the root posts ``author`` created in blocks ``oldest`` … ``head``, newest
        first (lazily: a caller that needs a few stops early)."""
        ...
