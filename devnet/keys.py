"""Keys of devnet accounts: derived from (account, role, password) the way Hive wallets derive them, so a
test can sign as any generated account with :func:`private_key`."""

from __future__ import annotations

from functools import lru_cache

from beemgraphenebase.account import PasswordKey

ROLES = ("owner", "active", "posting", "memo")


@lru_cache(maxsize=8192)
def private_key(account: str, role: str, password: str) -> str:
    """The WIF private key of ``account``'s ``role`` key (~1 ms, cached)."""
    return str(PasswordKey(account, password, role=role).get_private())


@lru_cache(maxsize=65_536)
def public_key(account: str, role: str, password: str) -> str:
    """The ``STM…`` public key matching :func:`private_key`."""
    return str(format(PasswordKey(account, password, role=role).get_private().pubkey, "STM"))
