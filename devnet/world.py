"""The generated chain's comments, as pure functions of (seed, creation block, slot).

Block ``k`` creates up to ``len(params.comment_slots)`` comments; whether slot ``j`` exists, its author,
whether it is a root post, its parent and its permlink are all derived from ``(seed, k, j)``. Permlinks
encode ``k`` and ``j`` (root posts end in ``-<base36(2k + j)>``, replies are ``re-<parent>-<YYYYMMDD>t<HHMMSS><jjj>z``
with the creation time), so :meth:`World.locate` finds a comment from its name alone — that is what makes
``comment_created`` and ``find_comments`` answerable for any block, including blocks before the first one
served.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from diff_match_patch import diff_match_patch

from devnet import names
from devnet.lanes import VoteLane, backward, forward
from devnet.rand import Zipf, chance, derive, mix, rng, unit

if TYPE_CHECKING:
    from devnet.generator import GeneratorParams

# salts: one per kind of choice, so that choices never share a hash
_EXISTS, _AUTHOR, _ROOT, _PARENT, _TITLE, _BODY, _META, _EDIT = 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7
_HEAD_CACHE = 100_000  # comments whose author/permlink/parent are kept (~30 MB)
_EDIT_LANE = VoteLane(1200, 1, 1.0, 1.0)  # edits land 1–2399 blocks (up to 2 hours) after creation

_MAX_BLOCK = 0xFFFF_FFFF  # block numbers are uint32
_REPLY_PERMLINK = re.compile(r"^re-[a-z0-9.-]+-(\d{8})t(\d{6})(\d{3})z$")
_ROOT_PERMLINK = re.compile(r"^[a-z0-9-]+-([0-9a-z]+)$")


@dataclass(frozen=True, slots=True)
class CommentRef:
    """Where a generated comment was created: block number and slot in that block."""

    block: int
    slot: int


@dataclass(frozen=True, slots=True)
class CommentHead:
    """What a vote or a reply needs to know about a comment."""

    author: str
    permlink: str
    parent: CommentRef | None  # None: a root post


@dataclass(frozen=True, slots=True)
class CommentText:
    parent_author: str
    parent_permlink: str
    title: str
    body: str
    json_metadata: str
    category: str


@lru_cache(maxsize=8192)
def format_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_time(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


class World:
    """Accounts and comments of one generated chain. Construction only assigns; pools are built on first use."""

    def __init__(self, seed: int, first_block: int, genesis_time: int, params: GeneratorParams) -> None:
        self.seed = seed
        self.first_block = first_block
        self.genesis_time = genesis_time
        self.params = params
        self._heads: dict[CommentRef, CommentHead] = {}

    # -- accounts -----------------------------------------------------------------------------------------
    @cached_property
    def accounts(self) -> tuple[str, ...]:
        return names.account_names(self.seed, self.params.accounts)

    @cached_property
    def _author_order(self) -> list[int]:
        order = list(range(self.params.accounts))
        rng(self.seed, _AUTHOR).shuffle(order)
        return order

    @cached_property
    def _author_zipf(self) -> Zipf:
        return Zipf(self.params.accounts, self.params.author_zipf)

    def block_time(self, block: int) -> int:
        return self.genesis_time + 3 * (block - self.first_block)

    def block_of_time(self, epoch: int) -> int | None:
        offset, rest = divmod(epoch - self.genesis_time, 3)
        return None if rest else self.first_block + offset

    # -- comments -----------------------------------------------------------------------------------------
    def slots(self, block: int) -> tuple[int, ...]:
        """The slots in which ``block`` creates a comment (one hash for all of them)."""
        if block < 1:
            return ()
        h = mix(self.seed, _EXISTS, block)
        found = tuple(j for j, p in enumerate(self.params.comment_slots) if unit(derive(h, j)) < p)
        if len(found) < 2:
            return found
        kept, authors = [], set()  # one author may not comment twice in one block (once every 3 s)
        for slot in found:
            author = self.author_index(block, slot)
            if author not in authors:
                authors.add(author)
                kept.append(slot)
        return tuple(kept)

    def exists(self, block: int, slot: int) -> bool:
        return slot in self.slots(block)

    def is_root(self, block: int, slot: int) -> bool:
        """Whether the comment is meant as a root post (a reply that finds no parent becomes one too)."""
        return chance(self.params.root_share, self.seed, _ROOT, block, slot)

    def author_index(self, block: int, slot: int) -> int:
        return self._author_order[self._author_zipf.rank(mix(self.seed, _AUTHOR, block, slot))]

    def author(self, block: int, slot: int) -> str:
        return self.accounts[self.author_index(block, slot)]

    def parent(self, block: int, slot: int) -> CommentRef | None:
        """The comment a reply answers, None for a root post (assumes the comment exists)."""
        if self.is_root(block, slot):
            return None
        for attempt in range(8):
            h = mix(self.seed, _PARENT, block, slot, attempt)
            u = unit(h)
            span = 600 if u < 0.6 else (28_800 if u < 0.9 else 288_000)  # 30 min, a day, 10 days
            earlier = block - 1 - (h >> 20) % span
            found = self.slots(earlier)
            if found:
                return CommentRef(earlier, found[(h >> 8) % len(found)])
        return None

    def head(self, ref: CommentRef) -> CommentHead:
        cached = self._heads.get(ref)
        if cached is not None:
            return cached
        author = self.author(ref.block, ref.slot)
        parent = self.parent(ref.block, ref.slot)
        if parent is None:
            slug = "-".join(w for w in self._title_words(ref) if w.isascii()) or "post"
            permlink = f"{slug}-{names.base36(2 * ref.block + ref.slot)}"
        else:
            stamp = format_time(self.block_time(ref.block)).replace("-", "").replace(":", "").lower()
            parent_author = self.author(parent.block, parent.slot).replace(".", "-")  # as front ends write it
            permlink = f"re-{parent_author}-{stamp}{ref.slot:03d}z"
        head = CommentHead(author, permlink, parent)
        if len(self._heads) >= _HEAD_CACHE:
            del self._heads[next(iter(self._heads))]  # oldest first: dicts keep insertion order
        self._heads[ref] = head
        return head

    def locate(self, author: str, permlink: str) -> CommentRef | None:
        """The comment named (author, permlink), if this chain ever creates it (at any block)."""
        ref = self._ref_from_permlink(permlink)
        if ref is None or not self.exists(ref.block, ref.slot):
            return None
        head = self.head(ref)
        return ref if head.author == author and head.permlink == permlink else None

    def _ref_from_permlink(self, permlink: str) -> CommentRef | None:
        """Where the comment named ``permlink`` would be created, if the name is one this world makes; None
        for a name that decodes to no block (block numbers are 32-bit: any permlink ending in ``-<word>``
        parses as base 36, e.g. beem's ``re-…-20250101t120000z``)."""
        ref = self._parse_permlink(permlink)
        return ref if ref is not None and 1 <= ref.block <= _MAX_BLOCK else None

    def _parse_permlink(self, permlink: str) -> CommentRef | None:
        reply = _REPLY_PERMLINK.match(permlink)
        if reply:
            day, clock, slot = reply.groups()
            text = f"{day[:4]}-{day[4:6]}-{day[6:]}T{clock[:2]}:{clock[2:4]}:{clock[4:]}"
            try:
                block = self.block_of_time(parse_time(text))
            except ValueError:
                return None
            return None if block is None else CommentRef(block, int(slot))
        root = _ROOT_PERMLINK.match(permlink)
        if root:
            block, slot = divmod(int(root.group(1), 36), 2)
            return CommentRef(block, slot)
        return None

    def root_of(self, ref: CommentRef) -> tuple[CommentRef, int]:
        """The root post of a comment's thread and the comment's depth."""
        depth = 0
        parent = self.head(ref).parent
        while parent is not None:
            ref, depth = parent, depth + 1
            parent = self.head(ref).parent
        return ref, depth

    # -- text ---------------------------------------------------------------------------------------------
    def _title_words(self, ref: CommentRef) -> list[str]:
        h = mix(self.seed, _TITLE, ref.block, ref.slot)
        bits, words = h | derive(h, 1) << 64, names.WORDS
        return [words[(bits >> (4 + 8 * i) & 0xFF) % len(words)] for i in range(3 + h % 6)]

    def tags(self, ref: CommentRef) -> list[str]:
        r = rng(self.seed, _META, ref.block, ref.slot)
        return r.sample(names.TAGS, r.randint(1, 5))

    def text(self, ref: CommentRef) -> CommentText:
        """Title, body, metadata and parent of a comment as first posted."""
        head = self.head(ref)
        r = rng(self.seed, _BODY, ref.block, ref.slot)
        app = r.choice(names.APPS)
        if head.parent is None:
            tags = self.tags(ref)
            title = " ".join(self._title_words(ref)).capitalize()
            paragraphs = [
                " ".join(r.choices(names.WORDS, k=r.randint(12, 60))) for _ in range(r.randint(1, 6))
            ]
            body = f"## {title}\n\n" + "\n\n".join(paragraphs)
            if r.random() < 0.3:
                body += f"\n\n![image](https://images.hive.blog/DQm{r.getrandbits(128):032x}/photo.jpg)"
            meta = {"tags": tags, "app": app, "format": "markdown"}
            return CommentText("", tags[0], title, body, _json(meta), tags[0])
        parent = self.head(head.parent)
        body = " ".join(r.choices(names.WORDS, k=r.randint(1, 40))).capitalize()
        if r.random() < 0.25:
            body += " " + r.choice(names.EMOJI)
        root, _ = self.root_of(head.parent)
        meta = {"tags": self.tags(root)[:1], "app": app, "format": "markdown+html"}
        return CommentText(parent.author, parent.permlink, "", body, _json(meta), self.tags(root)[0])

    # -- edits --------------------------------------------------------------------------------------------
    def edit_block(self, ref: CommentRef) -> int | None:
        """The block in which slot-0 comment ``ref`` is edited, None if it never is."""
        if ref.slot != 0 or not chance(self.params.edit_share, self.seed, _EDIT, ref.block):
            return None
        block = forward(self.seed, _EDIT, _EDIT_LANE, ref.block)
        return None if self._edit_conflicts(block, ref) else block

    def edited_in(self, block: int) -> CommentRef | None:
        """The comment edited in ``block`` (at most one), None if none is."""
        created = backward(self.seed, _EDIT, _EDIT_LANE, block)
        if not self.exists(created, 0):
            return None
        ref = CommentRef(created, 0)
        return ref if self.edit_block(ref) == block else None

    def _edit_conflicts(self, block: int, ref: CommentRef) -> bool:
        """An author may comment once every 3 s: no edit in a block where the author also posts."""
        author = self.author_index(ref.block, ref.slot)
        return any(self.author_index(block, slot) == author for slot in self.slots(block))

    def edit_text(self, ref: CommentRef) -> tuple[str, str]:
        """``(body sent in the edit operation, body stored after it)``: some edits send a diff-match-patch."""
        original = self.text(ref).body
        r = rng(self.seed, _EDIT, ref.block, 1)
        stored = original + "\n\nEdit: " + " ".join(r.choices(names.WORDS, k=r.randint(2, 12)))
        if r.random() < self.params.patch_edit_share:
            dmp = diff_match_patch()
            return dmp.patch_toText(dmp.patch_make(original, stored)), stored
        return stored, stored


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
