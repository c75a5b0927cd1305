"""The hivemind ``bridge`` calls the node answers, in hivemind's post format (``json_metadata`` parsed,
replies titled ``RE: <root title>``, no payouts or reputations worth reading).

- ``bridge.get_post {"author", "permlink"}`` — one post or comment (beem's ``Comment(...)`` reads it).
- ``bridge.get_account_posts {"sort": "posts", "account", "limit"?, "start_author"?, "start_permlink"?}`` —
  the account's root posts, newest first, at most ``limit`` (default and at most 20); paging starts after
  the post named by ``start_author``/``start_permlink``. Only the last :data:`POSTS_SPAN` blocks (30 days) are
  looked at. Other sorts are an error (the devnet serves only ``posts``).
- ``bridge.get_relationship_between_accounts {"account1", "account2"}`` — whether account1 follows or
  mutes (``ignores``) account2, from the follow operations broadcast to the devnet (a generated chain's
  own follows are not read); hivemind's five keys (its ``get_relationship_between_accounts`` pattern
  tests: ``ignores.pat.json``, ``none.pat.json``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from devnet.checks import Rejected
from devnet.head import HeadClock
from devnet.ledger import Ledger
from devnet.source import PAYOUT_SECONDS, ChainSource, CommentState
from devnet.world import format_time

POSTS_SPAN = 30 * 28_800  # blocks bridge.get_account_posts looks back
POSTS_LIMIT = 20

Handler = Callable[[Any], Any]


class BridgeError(Rejected):
    """hivemind's refusal of a call: code -32602, "Assert Exception:" and its words (hivemind's
    ``bridge_api_negative`` patterns)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"Assert Exception:{text}", -32602)


class BridgeApi:
    def __init__(self, source: ChainSource, head: HeadClock, lock: threading.Lock) -> None:
        self.source = source
        self.head = head
        self._lock = lock

    def methods(self) -> dict[str, Handler]:
        return {
            "bridge.get_post": self._get_post,
            "bridge.get_account_posts": self._get_account_posts,
            "bridge.get_relationship_between_accounts": self._get_relationship,
        }

    def _get_relationship(self, params: dict[str, Any]) -> dict[str, bool]:
        account1, account2 = str(params["account1"]), str(params["account2"])
        with self._lock:
            head = self.head.head()
            for account in (account1, account2):
                if self.source.account(account, head) is None:
                    raise BridgeError(f"Account {account} does not exist")
            if isinstance(self.source, Ledger):
                return self.source.relationship(account1, account2, head)
            return Ledger(self.source).relationship(account1, account2, head)

    def _get_post(self, params: dict[str, Any]) -> dict[str, Any]:
        author, permlink = str(params["author"]), str(params["permlink"])
        with self._lock:
            head = self.head.head()
            state = self.source.comment(author, permlink, head, votes=True)
            if state is None:
                raise BridgeError(f"Post {author}/{permlink} does not exist")
            return bridge_post(state, self.source.block_time(head))

    def _get_account_posts(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        sort, account = str(params["sort"]), str(params["account"])
        limit = int(params.get("limit", 20))
        start = (str(params.get("start_author") or ""), str(params.get("start_permlink") or ""))
        if sort != "posts":
            raise BridgeError("Unsupported sort, valid sorts: blog, feed, posts, comments, replies, payout")
        if not 1 <= limit <= POSTS_LIMIT:
            raise BridgeError(f"limit = {limit} outside valid range [1:{POSTS_LIMIT}]")
        with self._lock:
            head = self.head.head()
            if self.source.account(account, head) is None:
                raise BridgeError(f"Account {account} does not exist")
            skipping = bool(start[1])
            posts = []
            for _, permlink in self.source.root_posts(account, head, head - POSTS_SPAN):
                if skipping:
                    skipping = (account, permlink) != start
                    continue
                state = self.source.comment(account, permlink, head, votes=True)
                if state is not None:
                    posts.append(bridge_post(state, self.source.block_time(head)))
                if len(posts) == limit:
                    break
            return posts


def bridge_post(state: CommentState, now: int) -> dict[str, Any]:
    """A comment as hivemind's bridge API shows it."""
    try:
        metadata = json.loads(state.json_metadata) if state.json_metadata else {}
    except ValueError:
        metadata = {}
    post: dict[str, Any] = {
        "author": state.author,
        "permlink": state.permlink,
        "category": state.category,
        "title": state.title,
        "body": state.body,
        "json_metadata": metadata,
        "created": format_time(state.created),
        "updated": format_time(state.last_update),
        "depth": state.depth,
        "children": 0,
        "net_rshares": 0,
        "is_paidout": state.created + PAYOUT_SECONDS <= now,
        "payout_at": format_time(state.created + PAYOUT_SECONDS),
        "payout": 0.0,
        "pending_payout_value": "0.000 HBD",
        "author_payout_value": "0.000 HBD",
        "curator_payout_value": "0.000 HBD",
        "replies": [],
        "reblogs": 0,
        "active_votes": [{"voter": vote.voter, "rshares": 0} for vote in state.votes],
        "author_reputation": 25.0,
        "stats": {"hide": False, "gray": False, "total_votes": len(state.votes), "flag_weight": 0.0},
        "url": f"/{state.category}/@{state.root_author}/{state.root_permlink}",
        "beneficiaries": [],
        "max_accepted_payout": "1000000.000 HBD",
        "percent_hbd": 10000,
        "blacklists": [],
    }
    if state.depth > 0:
        post["url"] += f"#@{state.author}/{state.permlink}"
        post.update(parent_author=state.parent_author, parent_permlink=state.parent_permlink,
                    title=f"RE: {state.root_title}")  # fmt: skip
    return post
