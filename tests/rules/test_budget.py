"""The node budget (calls a second per node): the token bucket and the pool's choice of node, with a clock
that moves only when the test says (:mod:`bot.chain.pool`)."""

from __future__ import annotations

import pytest

from bot.chain.pool import Budget, NodePool
from tests.support.clock import Clock

A, B = "http://node-a.invalid", "http://node-b.invalid"


def test_a_call_takes_a_token_when_there_is_one_else_learns_how_long_to_wait_and_takes_none() -> None:
    budget = Budget(2.0)
    assert budget.take(100.0) == 0.0  # a full bucket: the first call goes at once
    assert budget.take(100.0) == pytest.approx(0.5)  # none left: wait 1/rate …
    assert budget.take(100.2) == pytest.approx(0.3)  # … asked again early, the rest of it: nothing taken
    assert budget.take(100.5) == 0.0
    assert budget.take(100.5) == pytest.approx(0.5)


def test_a_token_comes_back_at_the_rate_and_the_bucket_holds_no_more_than_its_burst() -> None:
    budget = Budget(2.0, burst=3)
    assert [budget.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.free_in(0.0) == pytest.approx(0.5)
    assert budget.take(0.5) == 0.0  # one token back after 1/rate
    assert budget.free_in(0.5) == pytest.approx(0.5)
    assert [budget.take(1000.0) for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.5])  # 3 saved, not more


def test_no_window_holds_more_calls_than_burst_plus_rate_times_its_length() -> None:
    """Callers who come irregularly, often faster than the budget, each waiting what they are told and
    asking again: the times their calls go, over any window."""
    budget = Budget(3.0)
    now, sent = 0.0, []
    for step in range(300):
        now += (step % 7) * 0.04
        while (wait := budget.take(now)) > 0:
            now += wait
        sent.append(now)
    for window in (0.5, 1.0, 5.0):
        most = max(sum(1 for t in sent if start <= t < start + window) for start in sent)
        assert most <= 1 + 3.0 * window


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.5)])
def test_a_budget_needs_a_positive_rate_and_a_burst_of_a_call_at_least(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="budget needs"):
        Budget(rate, burst)


def test_each_call_goes_to_the_node_whose_budget_frees_first_so_calls_spread_over_the_nodes() -> None:
    clock = Clock()
    pool = NodePool([A, B], max_backoff=8, clock=clock, budget=1.0)
    turns = [pool.take_turn(pool.ready()) for _ in range(3)]
    assert [(node.url, wait) for node, wait in turns] == [(A, 0.0), (B, 0.0), (A, 1.0)]  # none free: wait
    clock.advance(0.5)
    assert pool.take_turn(pool.ready())[1] == pytest.approx(0.5)
    clock.advance(0.5)
    assert [pool.take_turn(pool.ready())[0].url for _ in range(2)] == [A, B]


def test_clones_share_the_budget_of_each_node() -> None:
    clock = Clock()
    pool = NodePool([A], max_backoff=8, clock=clock, budget=2.0)
    twin = pool.clone()
    assert pool.take_turn(pool.ready())[1] == 0.0
    assert twin.take_turn(twin.ready())[1] == pytest.approx(0.5)


def test_a_node_backing_off_gets_no_turn_while_the_other_goes_on() -> None:
    clock = Clock()
    pool = NodePool([A, B], max_backoff=8, clock=clock, budget=1.0)
    pool.failed(pool.nodes[0], "HTTP 429", "account_history_api.get_account_history", wait=30)
    for _ in range(3):
        node, wait = pool.take_turn(pool.ready())
        assert node.url == B and wait == 0.0
        clock.advance(1.0)
    clock.advance(30)
    assert {pool.take_turn(pool.ready())[0].url for _ in range(2)} == {A, B}


def test_without_a_budget_the_first_node_is_asked_at_once_as_before() -> None:
    pool = NodePool([A, B], max_backoff=8, clock=Clock())
    assert [(node.url, wait) for node, wait in (pool.take_turn(pool.ready()) for _ in range(3))] == [
        (A, 0.0)
    ] * 3
