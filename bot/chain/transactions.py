"""The bot's posting key, and the reply transactions it signs with it (beem's serializer and signer).

The key is read from the config's key file, the systemd credential or the environment variable the config
names, kept in a :class:`PostingKey` whose ``repr`` and ``str`` never show it, and used only to sign.
Transactions are built here rather than by ``beem.Hive``/``TransactionBuilder`` so that nothing opens beem's
wallet file and the reference block, expiration and chain id are the bot's choice: the chain id read from
the node (``database_api.get_config``), the reference block and the expiration from the node's head.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from beembase.objects import Operation
from beembase.operations import Comment, Comment_options
from beembase.signedtransactions import Signed_Transaction
from beemgraphenebase.account import PrivateKey

from bot.errors import PostingKeyError
from bot.operations import CommentKey

PREFIX = "STM"


class PostingKey:
    """A private posting key. It shows as ``PostingKey(STM…public…)``, never as the private key."""

    __slots__ = ("_private", "public")

    def __init__(self, wif: str) -> None:
        try:
            private = PrivateKey(wif.strip(), prefix=PREFIX)
        except Exception as exc:  # noqa: BLE001 - beem raises AssertionError, ValueError, binascii.Error …
            raise PostingKeyError(f"not a valid private key in WIF format ({type(exc).__name__})") from None
        self._private = private
        self.public: str = format(private.pubkey, PREFIX)

    @classmethod
    def from_env(cls, name: str) -> PostingKey:
        wif = os.environ.get(name, "")
        if not wif.strip():
            raise PostingKeyError(
                f"the environment variable {name} (posting_key_env in the config) is not set or empty; "
                "it must hold the bot account's private posting key"
            )
        try:
            return cls(wif)
        except PostingKeyError as exc:
            raise PostingKeyError(f"{name}: {exc}") from None

    @classmethod
    def from_file(cls, path: Path) -> PostingKey:
        """The key in ``path``, which must be a regular file that only its owner may read or write."""
        return cls._from_private_file(
            path,
            f"{path} (posting_key_file in the config)",
            forbidden=0o077,
            owners={os.getuid()},
            exposed="can be read or written by others",
            remedy=f"run `chmod 600 {path}`",
        )

    @classmethod
    def from_credential(cls, path: Path) -> PostingKey:
        """The key systemd passed as the credential ``path`` (``$CREDENTIALS_DIRECTORY/<name>``).

        systemd writes a credential read-only and gives it to the service's user: either owned by root
        with an ACL granting that user read access (the mode then shows the ACL's mask as the group's
        ``r``), or owned by that user where the file system has no ACLs (mode 0400). Both pass; a file
        others may read, that anyone but its owner may write, or that a third user owns does not.
        """
        return cls._from_private_file(
            path,
            f"{path} (the systemd credential {path.name})",
            forbidden=0o027,
            owners={os.getuid(), 0},
            exposed="can be written by its group or read or written by others",
            remedy="load it with the unit's LoadCredential= (systemd makes it private) from a file of mode 600",
        )

    @classmethod
    def _from_private_file(
        cls, path: Path, where: str, *, forbidden: int, owners: set[int], exposed: str, remedy: str
    ) -> PostingKey:
        """The key in ``path`` (named ``where`` in errors), refused if its mode has a ``forbidden`` bit or
        none of ``owners`` owns it."""
        try:
            info = path.stat()
        except OSError as exc:
            raise PostingKeyError(f"{where}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            raise PostingKeyError(f"{where}: not a regular file")
        if info.st_mode & forbidden:
            mode = stat.S_IMODE(info.st_mode)
            raise PostingKeyError(f"{where} {exposed} (mode {mode:04o}): it holds a private key; {remedy}")
        if info.st_uid not in owners:
            raise PostingKeyError(f"{where} belongs to another user")
        try:
            return cls(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise PostingKeyError(f"{where}: cannot be read ({type(exc).__name__})") from None
        except PostingKeyError as exc:
            raise PostingKeyError(f"{path}: {exc}") from None

    def wif(self) -> str:
        return str(self._private)

    def __repr__(self) -> str:
        return f"PostingKey({self.public})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Reply:
    """A comment replying to ``parent``, with its payout options."""

    author: str
    permlink: str
    parent: CommentKey
    body: str
    json_metadata: str
    decline_payout: bool = False
    beneficiaries: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class TaposBlock:
    """The head block a transaction refers to (TaPoS) and the chain time it is built at."""

    num: int
    block_id: str
    time: int


def sign_reply(
    reply: Reply, key: PostingKey, head: TaposBlock, expiration: float, chain_id: str
) -> dict[str, Any]:
    """The signed transaction (legacy JSON, as ``condenser_api.broadcast_transaction`` takes it)."""
    operations = [Operation(Comment(**_comment(reply)), appbase=False, prefix=PREFIX)]
    if reply.decline_payout or reply.beneficiaries:
        operations.append(Operation(Comment_options(**_options(reply)), appbase=False, prefix=PREFIX))
    transaction = Signed_Transaction(
        ref_block_num=head.num & 0xFFFF,
        ref_block_prefix=int.from_bytes(bytes.fromhex(head.block_id)[4:8], "little"),
        expiration=datetime.fromtimestamp(head.time + int(expiration), UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        operations=operations,
        prefix=PREFIX,
    )
    transaction.sign([key.wif()], chain={"chain_id": chain_id, "prefix": PREFIX})
    signed: dict[str, Any] = transaction.json()
    return signed


def _comment(reply: Reply) -> dict[str, Any]:
    return {
        "parent_author": reply.parent[0],
        "parent_permlink": reply.parent[1],
        "author": reply.author,
        "permlink": reply.permlink,
        "title": "",
        "body": reply.body,
        "json_metadata": reply.json_metadata,
    }


def _options(reply: Reply) -> dict[str, Any]:
    options: dict[str, Any] = {
        "author": reply.author,
        "permlink": reply.permlink,
        "max_accepted_payout": "0.000 HBD" if reply.decline_payout else "1000000.000 HBD",
        "percent_hbd": 10000,
        "allow_votes": True,
        "allow_curation_rewards": True,
        "prefix": PREFIX,
    }
    if reply.beneficiaries:
        options["beneficiaries"] = [{"account": a, "weight": w} for a, w in reply.beneficiaries]
    return options
