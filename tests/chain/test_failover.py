"""Failover between nodes, without a socket: the real chain client asks devnet nodes through the in-process
transport (:mod:`devnet.inprocess`), which plays each node's faults as its HTTP server does. Fast enough
to run for every change; ``tests/chain/test_faults.py`` proves the same over HTTP and beem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from structlog.testing import capture_logs

from bot.chain import ChainClient
from devnet.generator import ChainGenerator
from devnet.inprocess import InProcessTransport
from devnet.node import DevNode
from tests.support.chains import FIRST, GENESIS, generated_chain
from tests.support.clock import Clock

A, B = "http://node-a.invalid", "http://node-b.invalid"  # never resolved: no request leaves the process
HEAD = FIRST + 200


def client_of(nodes: Mapping[str, DevNode]) -> ChainClient:
    """A client whose clock stands still: a node set aside is not asked again in a test."""
    return ChainClient(
        list(nodes), timeout=1, max_backoff=8, clock=Clock(), transport=InProcessTransport(nodes)
    )


def failures(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == "node_failed"]


def test_a_node_down_is_set_aside_and_the_next_one_sends_the_blocks() -> None:
    nodes = {A: DevNode(generated_chain(), head=HEAD), B: DevNode(generated_chain(), head=HEAD)}
    nodes[A].transport.down()
    chain = client_of(nodes)
    with capture_logs() as logs:
        blocks = chain.fetch_blocks(FIRST, 50)
        again = chain.fetch_blocks(FIRST + 50, 50)  # A backs off: not asked again
    assert [block.num for block in blocks + again] == list(range(FIRST, FIRST + 100))
    (failure,) = failures(logs)
    assert failure["node"] == A and "ConnectionRefusedError" in failure["reason"]
    assert nodes[A].transport.turned_away == 1 and not nodes[A].requests
    assert list(nodes[B].requests) == ["block_api.get_block_range"] * 2


def test_blocks_that_do_not_link_set_the_node_aside_and_the_next_nodes_blocks_are_used() -> None:
    """A node on another chain answers, at the same heights, blocks that do not link to the checkpoint."""
    ours = generated_chain()
    other = ChainGenerator(99, FIRST, GENESIS, blocks=400)
    nodes = {A: DevNode(other, head=HEAD), B: DevNode(generated_chain(), head=HEAD)}
    chain = client_of(nodes)
    with capture_logs() as logs:
        blocks = chain.fetch_blocks(FIRST + 1, 20, ours.block_id(FIRST))
    assert [block.block_id for block in blocks] == [ours.block_id(n) for n in range(FIRST + 1, FIRST + 21)]
    (failure,) = failures(logs)
    assert failure["node"] == A and failure["call"] == "block_api.get_block_range"
    assert "previous is" in failure["reason"]
    assert list(nodes[A].requests) == list(nodes[B].requests) == ["block_api.get_block_range"]


def test_a_node_sending_far_fewer_blocks_than_asked_is_used_once_then_set_aside() -> None:
    """Its blocks are good (a node behind): taken, and the next batch asks the other node."""
    nodes = {A: DevNode(generated_chain(), head=FIRST + 9), B: DevNode(generated_chain(), head=HEAD)}
    chain = client_of(nodes)
    with capture_logs() as logs:
        first = chain.fetch_blocks(FIRST, 50)
        second = chain.fetch_blocks(FIRST + len(first), 50, first[-1].block_id)
    assert [block.num for block in first + second] == list(range(FIRST, FIRST + len(first) + 50))
    (failure,) = failures(logs)
    assert failure["node"] == A and "sent 10 of blocks" in failure["reason"]
