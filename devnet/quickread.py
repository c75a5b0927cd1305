"""Quick answers for benchmarks: the node's hot reads served without generating or encoding anything again.

A benchmark of the bot's catch-up must measure the bot, not the emulator. Two plug-ins replace handlers in a
running node's :attr:`~devnet.api.NodeApi.methods` with faster ones giving the same answers:

    with DevNode(chain, head=...) as node, BlockFile.cached(chain, start, count, directory) as blocks:
        serve_blocks(node.api, blocks)            # get_block(_range): one read of the file, no json.dumps
        serve_comment_lookups(node.api, chain)    # find_comments: from the comments' names, no text made

``enum_virtual_ops`` needs no plug-in: ``node.api.virtual_ops.prepare(first, last)`` computes the range's
virtual operations once (~0.3 s per 1000 blocks), after which a 1000-block read costs ~20 ms.

Where a plug-in cannot answer exactly (blocks outside the file, blocks or comments a broadcast touched,
another source than a generator), the node's own handler answers, so only the cost changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from devnet.api import QUERY_LIMIT, NodeApi, RawJson, _database_comment
from devnet.blockfile import BlockFile
from devnet.generator import ChainGenerator
from devnet.ledger import Ledger
from devnet.source import CommentState
from devnet.world import CommentRef, World

Handler = Callable[[Any], Any]


def serve_blocks(api: NodeApi, blocks: BlockFile) -> None:
    """Answer ``block_api.get_block`` and ``get_block_range`` from ``blocks`` where the file has every block
    asked for (up to the head) and no broadcast transaction went into them."""
    by_range, by_block = api.methods["block_api.get_block_range"], api.methods["block_api.get_block"]

    def served(first: int, last: int) -> bool:
        if not blocks.first <= first <= last <= min(blocks.last, api.head.head()):
            return False
        ledger = api.source
        return not isinstance(ledger, Ledger) or not any(
            ledger.transactions(n) for n in range(first, last + 1)
        )

    def get_block_range(params: dict[str, Any]) -> Any:
        start, count = int(params["starting_block_num"]), int(params["count"])
        last = min(start + count - 1, api.head.head())
        if 0 < count <= QUERY_LIMIT and last <= blocks.last and served(start, last):
            return RawJson('{"blocks":[' + blocks.text(start, last) + "]}")
        return by_range(params)

    def get_block(params: dict[str, Any]) -> Any:
        num = int(params["block_num"])
        return RawJson('{"block":' + blocks.text(num, num) + "}") if served(num, num) else by_block(params)

    api.methods["block_api.get_block_range"] = get_block_range
    api.methods["block_api.get_block"] = get_block


def serve_comment_lookups(api: NodeApi, chain: ChainGenerator) -> None:
    """Answer ``database_api.find_comments`` from what a generated comment's name tells (its creation block,
    parent, thread, edit), without making its text: ~10× cheaper, same answer. Once the node has taken a
    broadcast (which may create or edit comments) the node's own handler answers again."""
    world = World(
        chain.seed, chain.first_block, chain.world.genesis_time, chain.params
    )  # its caches are ours
    lock = threading.Lock()
    by_node = api.methods["database_api.find_comments"]
    written = threading.Event()
    for name, handler in list(api.methods.items()):
        if "broadcast_transaction" in name:
            api.methods[name] = _noting(handler, written)

    def find_comments(params: dict[str, Any]) -> Any:
        wanted = params["comments"]
        if written.is_set() or len(wanted) > QUERY_LIMIT:
            return by_node(params)
        head = api.head.head()
        with lock:
            states = [_comment(world, str(author), str(permlink), head) for author, permlink in wanted]
        return {"comments": [_database_comment(state) for state in states if state is not None]}

    api.methods["database_api.find_comments"] = find_comments


def _noting(handler: Handler, written: threading.Event) -> Handler:
    def noted(params: Any) -> Any:
        written.set()
        return handler(params)

    return noted


def _comment(world: World, author: str, permlink: str, head: int) -> CommentState | None:
    """What ``find_comments`` tells of a generated comment when ``head`` is the head block (no text)."""
    ref = world.locate(author, permlink)
    if ref is None or ref.block > head:
        return None
    created = world.block_time(ref.block)
    root, depth = world.root_of(ref)
    category = world.tags(root)[0]
    parent = world.head(ref).parent
    parent_author, parent_permlink = ("", category) if parent is None else _name(world, parent)
    edited = world.edit_block(ref)
    updated = world.block_time(edited) if edited is not None and edited <= head else created
    root_author, root_permlink = _name(world, root)
    return CommentState(author, permlink, parent_author, parent_permlink, category, "", "", "", created,
                        updated, depth, root_author, root_permlink, "")  # fmt: skip


def _name(world: World, ref: CommentRef) -> tuple[str, str]:
    head = world.head(ref)
    return head.author, head.permlink


__all__ = ["serve_blocks", "serve_comment_lookups"]
