"""Scripted users of the devnet chain: an account that posts, replies (``STOP``) and votes through real beem
over HTTP, signing with its real posting key (derived from the chain's password, see :mod:`devnet.keys`).

    user = DevUser(node, "alice", data_dir=tmp_path / "alice")
    accepted = user.stop(bot, reply_permlink)       # a reply "STOP" to the bot's notification
    node.clock.set_head(accepted.block)             # now its block is served

Each call is one ``TransactionBuilder`` broadcast (``condenser_api.broadcast_transaction``), answered with
the node's :class:`~devnet.ledger.Accepted` record (None when a fault made the node lose it); a refusal
raises beem's exception (``beemapi.exceptions.UnhandledRPCError`` with hived's message). The chain's rules
apply to scripted users too: one comment (or edit) and one vote per account per block, one root post per
5 minutes — a script moves the head (or waits for it) between two comments of one user. Signing costs
~20 ms. The constructor does no I/O: beem connects on the first call.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beem import Hive
from beem.transactionbuilder import TransactionBuilder
from beembase import operations

from devnet import keys
from devnet.ledger import Accepted

if TYPE_CHECKING:
    from devnet.node import DevNode

DEFAULT_EXPIRATION = 300  # chain seconds: beem's 30 s is too short when the node runs at speed 20 and more


class DevUser:
    def __init__(
        self,
        node: DevNode,
        account: str,
        *,
        data_dir: Path,
        password: str = "devnet",
        expiration: int = DEFAULT_EXPIRATION,
    ) -> None:
        """``data_dir`` is beem's own (a sqlite config): never the home directory in tests."""
        self.node = node
        self.account = account
        self.data_dir = data_dir
        self.password = password
        self.expiration = expiration
        self._hive: Hive | None = None
        self._sequence = itertools.count(1)

    @property
    def posting_key(self) -> str:
        return keys.private_key(self.account, "posting", self.password)

    def post(
        self, permlink: str, title: str, body: str, *, tags: Sequence[str] = ("devnet",)
    ) -> Accepted | None:
        """A root post in the first tag's category."""
        metadata = json.dumps({"tags": list(tags), "app": "devnet/1"}, separators=(",", ":"))
        return self.broadcast(self._comment("", tags[0], permlink, title, body, metadata))

    def reply(
        self, parent_author: str, parent_permlink: str, body: str, *, permlink: str | None = None
    ) -> Accepted | None:
        """A reply; the permlink defaults to ``re-<parent author>-<head>-<n>`` (unique for this user)."""
        if permlink is None:
            permlink = f"re-{parent_author.replace('.', '-')}-{self.node.clock.head()}-{next(self._sequence)}"
        metadata = json.dumps({"app": "devnet/1"}, separators=(",", ":"))
        return self.broadcast(self._comment(parent_author, parent_permlink, permlink, "", body, metadata))

    def stop(
        self, parent_author: str, parent_permlink: str, *, body: str = "STOP", permlink: str | None = None
    ) -> Accepted | None:
        """Reply "STOP" (or ``body``) to a comment: the opt-out the bot honours."""
        return self.reply(parent_author, parent_permlink, body, permlink=permlink)

    def custom_json(self, op_id: str, payload: Any) -> Accepted | None:
        """A ``custom_json`` with ``payload`` (JSON-encoded here), signed with the posting authority."""
        text = json.dumps(payload, separators=(",", ":"))
        return self.broadcast(operations.Custom_json(**{
            "required_auths": [], "required_posting_auths": [self.account], "id": op_id, "json": text,
        }))  # fmt: skip

    def opt(self, payload: Any, *, op_id: str = "hive-badge-bot") -> Accepted | None:
        """The bot's quiet opt command: ``{"stop": "all"}``, ``{"start": ["posts"]}``…"""
        return self.custom_json(op_id, payload)

    def mute(self, account: str) -> Accepted | None:
        """Mute ``account`` as front ends do (a follow operation, ``"what": ["ignore"]``)."""
        return self._follow(account, ["ignore"])

    def unmute(self, account: str) -> Accepted | None:
        """End a mute of ``account`` (``"what": []``, as front ends send it)."""
        return self._follow(account, [])

    def _follow(self, account: str, what: list[str]) -> Accepted | None:
        return self.custom_json(
            "follow", ["follow", {"follower": self.account, "following": account, "what": what}]
        )

    def delete(self, permlink: str) -> Accepted | None:
        """Delete one of this user's comments (one without replies or net positive votes)."""
        return self.broadcast(operations.Delete_comment(author=self.account, permlink=permlink))

    def vote(self, author: str, permlink: str, weight: int = 10000) -> Accepted | None:
        """Vote with ``weight`` (-10000 … 10000; 0 removes a vote)."""
        op = {"voter": self.account, "author": author, "permlink": permlink, "weight": weight}
        return self.broadcast(operations.Vote(**op))

    def broadcast(self, *ops: Any) -> Accepted | None:
        """Sign ``ops`` (beembase operations) with the posting key and broadcast them in one transaction."""
        builder = TransactionBuilder(blockchain_instance=self._chain())
        builder.appendOps(list(ops))
        builder.appendWif(self.posting_key)
        result = builder.broadcast()
        return self.node.ledger.find(str(result["trx_id"]))

    def _comment(
        self, parent_author: str, parent_permlink: str, permlink: str, title: str, body: str, metadata: str
    ) -> Any:
        return operations.Comment(**{
            "parent_author": parent_author, "parent_permlink": parent_permlink, "author": self.account,
            "permlink": permlink, "title": title, "body": body, "json_metadata": metadata,
        })  # fmt: skip

    def _chain(self) -> Hive:
        if self._hive is None:
            self._hive = Hive(
                node=[self.node.url],
                keys=[self.posting_key],
                num_retries=0,
                data_dir=str(self.data_dir),
                expiration=self.expiration,
            )
        return self._hive
