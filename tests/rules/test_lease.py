"""The lease's rules (bot.lease): who may take it, when its holder renews and when it stops acting, with
the time given, never read."""

from __future__ import annotations

import pytest

from bot.lease import TAKEOVER, Lease, Step, Terms, held_until, idle_timeout, may_take, step

LEASE = Lease("host-a", 3, acquired_at=1000.0, expires_at=1010.0)
TERMS = Terms(duration=9.0, margin=2.0)
"""Renewal due every 3 s; acting stops 2 s before the deadline."""


@pytest.mark.parametrize(
    ("lease", "holder", "now", "may"),
    [
        (None, "host-b", 1005.0, True),  # never taken
        (LEASE, "host-a", 1005.0, True),  # its own
        (LEASE, "host-b", 1005.0, False),  # another's, valid
        (LEASE, "host-b", 1010.0, False),  # another's, at its last instant
        (LEASE, "host-b", 1010.5, True),  # another's, expired
    ],
)
def test_a_lease_may_be_taken_when_free_expired_or_ones_own(
    lease: Lease | None, holder: str, now: float, may: bool
) -> None:
    assert may_take(lease, holder, now) is may


def test_the_deadline_counts_the_servers_remaining_time_from_when_the_request_was_sent() -> None:
    """The host's clock is 400 s off the server's and the answer took 0.3 s: neither moves the deadline
    later than the server's expiry (the host sent at 50.0 on its clock; the server read 1001.0)."""
    assert held_until(50.0, LEASE, server_now=1001.0) == 59.0


@pytest.mark.parametrize(
    ("deadline", "now", "expected"),
    [
        (None, 0.0, Step.STOP),  # never acquired, or its renewal failed
        (109.0, 100.0, Step.ACT),  # just renewed: 9 s left
        (109.0, 102.9, Step.ACT),
        (109.0, 103.0, Step.RENEW),  # a third of the duration gone
        (109.0, 106.9, Step.RENEW),  # renewals failing: still beyond the margin
        (109.0, 107.0, Step.STOP),  # the margin reached without a renewal
        (109.0, 109.5, Step.STOP),
    ],
)
def test_a_holder_acts_renews_every_third_and_stops_a_margin_before_its_deadline(
    deadline: float | None, now: float, expected: Step
) -> None:
    assert step(deadline, now, TERMS) is expected


def test_the_default_takeover_is_ten_seconds_renewed_every_third() -> None:
    assert (Terms().duration, Terms().renew_every, Terms().margin) == (TAKEOVER, TAKEOVER / 3, 2.0)
    assert TAKEOVER == 10.0


@pytest.mark.parametrize(
    ("duration", "margin", "error"),
    [
        (0.0, 0.0, "ha.takeover must be a positive number of seconds, not 0.0"),
        (9.0, -1.0, r"margin \(-1.0 s\) must be more than 0"),
        (9.0, 0.0, r"margin \(0.0 s\) must be more than 0"),
        (9.0, 6.0, r"margin \(6.0 s\) .* less than 6.0 s for ha.takeover 9.0 s"),
    ],
)
def test_terms_that_leave_no_time_to_renew_are_refused_by_name(
    duration: float, margin: float, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Terms(duration, margin)


@pytest.mark.parametrize(("margin", "timeout"), [(2.0, "2000ms"), (0.25, "250ms"), (0.0001, "1ms")])
def test_a_holders_transactions_may_stay_idle_for_its_margin_and_never_unbounded(
    margin: float, timeout: str
) -> None:
    assert idle_timeout(Terms(9.0, margin)) == timeout
