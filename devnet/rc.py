"""Resource credits of devnet accounts: one manabar each, regenerating linearly over 5 days of chain time.

Only transactions broadcast to the node spend RC (the generated traffic does not). An account nobody
configured has :data:`DEFAULT_MAX_RC` and a full bar. Costs are rough mid-2025 mainnet figures: what a test
or the bot needs is the rule (not enough RC → rejected; RC comes back with chain time), not the exact price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REGENERATION_SECONDS = 432_000  # HIVE_RC_REGEN_TIME: an empty bar is full again after 5 days
DEFAULT_MAX_RC = 10_000_000_000_000  # ~6,600 comments: ample unless a test says otherwise
OPERATION_COST = {
    "comment": 1_500_000_000,
    "comment_options": 150_000_000,
    "delete_comment": 150_000_000,
    "vote": 100_000_000,
    "custom_json": 250_000_000,
    "transfer": 200_000_000,
    "claim_reward_balance": 150_000_000,
}
"""RC each kind of operation costs (a transaction costs the sum of its operations)."""


def transaction_cost(operations: list[dict[str, Any]]) -> int:
    """The RC a transaction (``block_api`` operations) costs."""
    return sum(
        OPERATION_COST.get(str(op["type"]).removesuffix("_operation"), 200_000_000) for op in operations
    )


@dataclass(frozen=True, slots=True)
class Manabar:
    """An account's RC as stored: ``mana`` at ``updated`` (epoch s), out of ``max_rc``."""

    max_rc: int
    mana: int
    updated: int

    def at(self, time: int) -> int:
        """The mana at chain time ``time`` (regenerated linearly, never above ``max_rc``)."""
        elapsed = max(0, time - self.updated)
        return min(self.max_rc, self.mana + self.max_rc * elapsed // REGENERATION_SECONDS)

    def spend(self, cost: int, time: int) -> Manabar:
        return Manabar(self.max_rc, self.at(time) - cost, time)


class RcBook:
    """The manabars of the accounts that transacted or were configured (others are full)."""

    def __init__(self) -> None:
        self._bars: dict[str, Manabar] = {}

    def bar(self, account: str, time: int) -> Manabar:
        """``account``'s manabar as stored (a full default one, updated at ``time``, if never touched)."""
        return self._bars.get(account) or Manabar(DEFAULT_MAX_RC, DEFAULT_MAX_RC, time)

    def set(self, account: str, time: int, *, max_rc: int | None = None, mana: int | None = None) -> None:
        """Give ``account`` a maximum and/or a current mana as of chain time ``time``."""
        old = self.bar(account, time)
        new_max = old.max_rc if max_rc is None else max_rc
        new_mana = min(new_max, old.at(time)) if mana is None else mana
        if new_max < 0 or not 0 <= new_mana <= new_max:
            raise ValueError(f"need 0 <= mana <= max_rc, got mana={new_mana}, max_rc={new_max}")
        self._bars[account] = Manabar(new_max, new_mana, time)

    def spend(self, account: str, cost: int, time: int) -> None:
        self._bars[account] = self.bar(account, time).spend(cost, time)
