"""Which root posts an account of the generated chain wrote, newest first, without generating blocks.

The world names a block's comments from (seed, block, slot) alone, so the root posts of a span of blocks are
found by asking, slot by slot, who wrote it and whether it has a parent (~5 µs a block). Spans of
:data:`CHUNK` blocks are indexed for every author at once and kept (what a block creates never changes), so
scanning back for one account also serves the next one, and a scan is bounded by ``oldest``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from devnet.world import CommentRef, World

CHUNK = 1200  # blocks (one hour) indexed at once: ~6 ms
_KEPT_CHUNKS = 2000  # ~80 days of chunks (a few hundred root posts each)


class RootPostIndex:
    def __init__(self, world: World) -> None:
        self.world = world
        self._chunks: OrderedDict[int, dict[int, list[CommentRef]]] = OrderedDict()

    def newest_first(self, author: int, head: int, oldest: int) -> Iterator[CommentRef]:
        """The root posts of account index ``author`` created in blocks ``oldest`` … ``head``, newest first."""
        oldest = max(oldest, 1)
        for chunk in range(head // CHUNK, oldest // CHUNK - 1, -1):
            for ref in reversed(self._chunk(chunk).get(author, ())):
                if oldest <= ref.block <= head:
                    yield ref

    def _chunk(self, chunk: int) -> dict[int, list[CommentRef]]:
        found = self._chunks.get(chunk)
        if found is not None:
            self._chunks.move_to_end(chunk)
            return found
        world, index = self.world, dict[int, list[CommentRef]]()
        for block in range(max(chunk * CHUNK, 1), (chunk + 1) * CHUNK):
            for slot in world.slots(block):
                if world.parent(block, slot) is None:
                    index.setdefault(world.author_index(block, slot), []).append(CommentRef(block, slot))
        self._chunks[chunk] = index
        if len(self._chunks) > _KEPT_CHUNKS:
            self._chunks.popitem(last=False)
        return index
