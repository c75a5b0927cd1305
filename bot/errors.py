"""Errors the bot raises on purpose.

The tree::

    BotError                      base of every error raised on purpose
    ├── ConfigError               the YAML config is wrong (exit code 2)          (bot.config)
    ├── StoreError                the store cannot be used as it is
    │   ├── StoreLockedError      another bot process holds the store
    │   ├── StoreVersionError     the store was written by a newer schema version
    │   ├── LeaseLostError        a write of a process that no longer holds the lease (PostgreSQL)
    │   └── StoreUnreachableError the PostgreSQL server cannot be reached now (retried)
    ├── ChainError                talking to Hive nodes failed
    │   ├── TransientChainError   worth retrying (timeout, 5xx, bad JSON, node lagging)
    │   │   ├── NotEnoughRCError  a broadcast needs more resource credits than the account has now
    │   │   └── UnconfirmedBroadcastError  no node answered a broadcast: it may be on its way or lost
    │   └── PermanentChainError   retrying the same call will not help (unknown method, bad params,
    │                             a transaction the chain refuses)
    ├── ChainDataError            a block does not fit the chain (gap, wrong `previous`, malformed JSON)
    └── PostingKeyError           the posting key is missing, malformed, or not the account's posting key

Retries are decided by the caller (the follower), never hidden inside the chain adapter.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class StoreError(BotError):
    """The store (an SQLite file or a PostgreSQL database) cannot be used as it is."""


class StoreLockedError(StoreError):
    """Another bot process holds the store."""


class StoreVersionError(StoreError):
    """The store was written by a newer version of the bot."""


class StoreUnreachableError(StoreError):
    """The PostgreSQL server could not be reached, or ended the session, during a statement: nothing of
    the transaction under way was written. Worth retrying: the next statement reconnects
    (:class:`bot.db.PostgresDatabase`)."""


class LeaseLostError(StoreError):
    """A write transaction of a process that does not hold the lease (any more): rolled back, nothing
    written (:mod:`bot.lease`). The process stops acting and stands by."""


class ChainError(BotError):
    """Talking to the Hive nodes failed."""


class TransientChainError(ChainError):
    """A failure worth retrying later or on another node."""


class PermanentChainError(ChainError):
    """A failure that retrying the same call will not cure."""


class NotEnoughRCError(TransientChainError):
    """The account has too few resource credits for this transaction now; they regenerate with time."""


class UnconfirmedBroadcastError(TransientChainError):
    """A broadcast got no answer: the transaction may have reached the chain, or not. Only the chain can
    tell: wait for the comment in a block, or for the transaction to expire."""


class PostingKeyError(BotError):
    """The posting key cannot be used: missing, malformed, or not the account's posting key."""


class ChainDataError(BotError):
    """A block or an API answer does not fit what the chain must look like."""
