"""A recorded chain: real block JSON (``block_api`` format) served as it was, e.g. the mainnet fixtures.

Blocks may have gaps (a recording of single ``get_block`` calls). What the chain stores is rebuilt from the
blocks themselves: a comment is known from its first operation in the recording, with later edits applied
(diff-match-patch bodies patched); comments with no operation in the recording are unknown. A recording
cannot tell a creation from an edit of a comment made before it began: the first operation seen is taken
as the creation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diff_match_patch import diff_match_patch

from devnet.source import AccountState, CommentState
from devnet.world import parse_time


@dataclass(slots=True)
class _Comment:
    parent_author: str
    parent_permlink: str
    title: str
    body: str
    json_metadata: str
    created: int
    block: int
    edits: list[tuple[int, int, str]]  # (block, time, body)


class RecordedChain:
    """A :class:`~devnet.source.ChainSource` over recorded blocks."""

    def __init__(self, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            raise ValueError("a recorded chain needs at least one block")
        self._blocks = {int(b["block_id"][:8], 16): b for b in blocks}
        self._nums = sorted(self._blocks)
        self._comments: dict[tuple[str, str], _Comment] = {}
        for num in self._nums:
            self._index(num, self._blocks[num])

    @classmethod
    def from_file(cls, path: Path) -> RecordedChain:
        """Read ``{"blocks": [...]}`` (a ``get_block_range`` answer) or a list of recorded ``get_block``
        calls (``[{"req": …, "res": …}]``; answers whose block is not the one asked for are dropped)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return cls(list(data["blocks"]))
        answers = [
            (call["req"]["params"]["block_num"], call["res"].get("result", {}).get("block")) for call in data
        ]
        found = [(asked, block) for asked, block in answers if block is not None]
        # a canned answer (one block returned for other numbers too) is not a real block, whatever its number
        canned = {block["block_id"] for asked, block in found if int(block["block_id"][:8], 16) != asked}
        return cls([block for _, block in found if block["block_id"] not in canned])

    @property
    def first_block(self) -> int:
        return self._nums[0]

    @property
    def last_block(self) -> int:
        return self._nums[-1]

    def block(self, num: int) -> dict[str, Any] | None:
        return self._blocks.get(num)

    def block_id(self, num: int) -> str:
        if num in self._blocks:
            return str(self._blocks[num]["block_id"])
        following = self._blocks.get(num + 1)
        if following is not None:
            return str(following["previous"])
        return f"{num & 0xFFFFFFFF:08x}" + "0" * 32

    def block_time(self, num: int) -> int:
        earlier = [n for n in self._nums if n <= num] or self._nums[:1]
        return parse_time(self._blocks[earlier[-1]]["timestamp"]) + 3 * (num - earlier[-1])

    def witness(self, num: int) -> str:
        earlier = [n for n in self._nums if n <= num] or self._nums[:1]
        return str(self._blocks[earlier[-1]]["witness"])

    def comment(self, author: str, permlink: str, head: int, *, votes: bool = False) -> CommentState | None:
        found = self._comments.get((author, permlink))
        if found is None or found.block > head:
            return None
        body, updated = found.body, found.created
        for block, time, text in found.edits:
            if block <= head:
                body, updated = text, time
        depth, root = 0, (author, permlink)
        while root in self._comments and self._comments[root].parent_author:
            parent = self._comments[root]
            root, depth = (parent.parent_author, parent.parent_permlink), depth + 1
        root_title = self._comments[root].title if root in self._comments else ""
        category = self._comments[root].parent_permlink if root in self._comments else ""
        return CommentState(
            author, permlink, found.parent_author, found.parent_permlink, category, found.title, body,
            found.json_metadata, found.created, updated, depth, root[0], root[1], root_title,
        )  # fmt: skip

    def account(self, name: str, head: int) -> AccountState | None:
        return None  # a recording holds no account state

    def root_posts(self, author: str, head: int, oldest: int) -> Iterator[tuple[int, str]]:
        found = [
            (comment.block, permlink)
            for (name, permlink), comment in self._comments.items()
            if name == author and not comment.parent_author and oldest <= comment.block <= head
        ]
        return iter(sorted(found, reverse=True))

    def _index(self, num: int, block: dict[str, Any]) -> None:
        time = parse_time(block["timestamp"])
        for transaction in block["transactions"]:
            for operation in transaction["operations"]:
                value = operation["value"]
                key = (value.get("author", ""), value.get("permlink", ""))
                if operation["type"] == "delete_comment_operation":
                    self._comments.pop(key, None)
                elif operation["type"] != "comment_operation":
                    continue
                elif key in self._comments:
                    known = self._comments[key]
                    body = known.edits[-1][2] if known.edits else known.body
                    known.edits.append((num, time, _edited(body, value["body"])))
                else:
                    self._comments[key] = _Comment(
                        value["parent_author"], value["parent_permlink"], value["title"], value["body"],
                        value["json_metadata"], time, num, [],
                    )  # fmt: skip


def _edited(body: str, sent: str) -> str:
    """The text after an edit that sent ``sent``: a diff-match-patch text is applied, anything else replaces."""
    if not sent.startswith("@@ "):
        return sent
    dmp = diff_match_patch()
    patched, _ = dmp.patch_apply(dmp.patch_fromText(sent), body)
    return str(patched)
