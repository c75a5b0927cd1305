"""Block files and the node's quick reads (benchmarks' plug-ins) change what answers cost, never the answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devnet.blockfile import BlockFile, encode_block
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.quickread import serve_blocks, serve_comment_lookups

SEED = 5
FIRST = 90_000_000
GENESIS = 1_700_000_000
START = FIRST + 300_000  # votes reach back to comments created before the chain's first block
COUNT = 40
HEAD = START + COUNT + 5  # past the file: blocks there are generated as before


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, blocks=START - FIRST + COUNT + 100)


@pytest.fixture(scope="module")
def blocks(chain: ChainGenerator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockFile]:
    with BlockFile.cached(chain, START, COUNT, tmp_path_factory.mktemp("blocks")) as opened:
        yield opened


def post(url: str, method: str, params: Any) -> bytes:
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 3}
    return requests.post(url, json=body, timeout=10).content


REQUESTS: list[tuple[str, Any]] = [
    ("block_api.get_block_range", {"starting_block_num": START, "count": COUNT}),
    ("block_api.get_block_range", {"starting_block_num": START + 10, "count": 3}),
    ("block_api.get_block_range", {"starting_block_num": START + 30, "count": 1000}),  # runs past the file
    ("block_api.get_block_range", {"starting_block_num": START - 2, "count": 5}),  # starts before it
    ("block_api.get_block_range", {"starting_block_num": HEAD + 1, "count": 5}),  # above the head: none
    ("block_api.get_block_range", {"starting_block_num": START, "count": 1001}),  # hived's error
    ("block_api.get_block", {"block_num": START}),
    ("block_api.get_block", {"block_num": START + COUNT - 1}),
    ("block_api.get_block", {"block_num": START + COUNT}),  # past the file
    ("block_api.get_block", {"block_num": HEAD + 1}),  # above the head: {}
]


def test_the_file_holds_each_block_as_the_node_encodes_it(chain: ChainGenerator, blocks: BlockFile) -> None:
    assert (blocks.first, blocks.last) == (START, START + COUNT - 1)
    expected = ",".join(encode_block(chain.block(num) or {}) for num in range(START + 3, START + 9))
    assert blocks.text(START + 3, START + 8) == expected
    with pytest.raises(IndexError):
        blocks.text(START + COUNT - 1, START + COUNT)


def test_a_cached_file_is_reused_and_made_again_when_it_no_longer_matches(
    chain: ChainGenerator, tmp_path: Path
) -> None:
    made: list[str] = []
    BlockFile.cached(chain, START, 10, tmp_path, progress=made.append).close()
    with BlockFile.cached(chain, START, 8, tmp_path, progress=made.append) as shorter:
        assert len(made) == 1  # the first 8 of the 10 blocks made before
        assert shorter.last == START + 7
        assert shorter.text(START, START + 7) == ",".join(
            encode_block(chain.block(num) or {}) for num in range(START, START + 8)
        )
    other = ChainGenerator(SEED + 1, FIRST, GENESIS, chain.params, blocks=START - FIRST + COUNT + 100)
    (data,) = tmp_path.glob("*.blocks")
    (tmp_path / data.name.replace(f"seed{SEED}-", f"seed{SEED + 1}-")).write_bytes(data.read_bytes())
    index = data.with_suffix(".index")
    (tmp_path / index.name.replace(f"seed{SEED}-", f"seed{SEED + 1}-")).write_bytes(index.read_bytes())
    with BlockFile.cached(other, START, 10, tmp_path, progress=made.append) as regenerated:
        assert len(made) == 2  # the copied file held another chain's blocks
        assert regenerated.text(START, START) == encode_block(other.block(START) or {})


def test_the_node_answers_the_same_with_the_quick_reads(chain: ChainGenerator, blocks: BlockFile) -> None:
    with DevNode(chain, head=HEAD) as plain, DevNode(chain, head=HEAD) as quick:
        serve_blocks(quick.api, blocks)
        serve_comment_lookups(quick.api, chain)
        for method, params in REQUESTS:
            assert post(quick.url, method, params) == post(plain.url, method, params), (method, params)
        later = comment_keys(chain, HEAD + 1, HEAD + 30)  # created after the head: not there yet
        keys = (
            comment_keys(chain, START, START + COUNT)[:900]
            + later[:90]
            + [["nobody", "x"], ["alice", "re-x-1"]]
        )
        lookup = {"comments": keys}
        assert len(keys) > 300
        assert post(quick.url, "database_api.find_comments", lookup) == post(
            plain.url, "database_api.find_comments", lookup
        )


def comment_keys(chain: ChainGenerator, first: int, end: int) -> list[list[str]]:
    """The comments voted on, replied to or written in blocks ``first`` … ``end - 1``."""
    keys = set()
    for num in range(first, end):
        for transaction in (chain.block(num) or {})["transactions"]:
            for operation in transaction["operations"]:
                value = operation["value"]
                if operation["type"] in ("vote_operation", "comment_operation"):
                    keys.add((value["author"], value["permlink"]))
                if operation["type"] == "comment_operation" and value["parent_author"]:
                    keys.add((value["parent_author"], value["parent_permlink"]))
    return [list(key) for key in sorted(keys)]
