"""The board and the API tell each family's notification state and how to change it (issue 14): opted out
of every family, of some, muting the bot, each since when and how; the exact reply and custom_json (with the
configured id); the rules page. Over a store the real follower filled from the devnet, plus the rules' table."""

from __future__ import annotations

import html
import re

import pytest

from bot.metrics import FAMILIES, Family, Metric, shown_threshold
from bot.outbox import Manners, Since
from bot.store import Store
from bot.web.board import Change, board_json, change, make_board
from tests.support.web import CUSTOM_JSON_ID, Served, stopped_posts_and_muting, with_badges

P, C = Metric.POSTS, Metric.COMMENTS


@pytest.mark.parametrize(
    ("family", "stopped", "expected"),
    [
        (P, False, Change("STOP posts", '{"stop": ["posts"]}')),
        (Metric.REPLIES, True, Change("START replies", '{"start": ["replies"]}')),
        (None, False, Change("STOP", '{"stop": "all"}')),
        (None, True, Change("START", '{"start": "all"}')),
    ],
)
def test_the_change_is_the_reply_and_the_custom_json_the_rules_read(
    family: Metric | None, stopped: bool, expected: Change
) -> None:
    assert change(family, stopped) == expected


@pytest.mark.parametrize(
    ("manners", "notified", "opted_out", "muted"),
    [
        (Manners(), set(FAMILIES), {}, None),
        (Manners(families={P: Since(7, "custom_json")}), set(FAMILIES) - {P}, {P: (7, "custom_json")}, None),
        (Manners(everything=Since(3, "reply")), set(), {m: (3, "reply") for m in FAMILIES}, None),
        (Manners(mute=Since(9, "chain")), set(), {}, (9, "chain")),
        (
            Manners(families={C: Since(None, "operator")}, mute=Since(None, "node")),
            set(),
            {C: (None, "operator")},
            (None, "node"),
        ),
    ],
)
def test_the_answer_says_which_families_are_notified_what_stopped_each_and_the_mute(
    manners: Manners,
    notified: set[Family],
    opted_out: dict[Family, tuple[int | None, str]],
    muted: tuple[int | None, str] | None,
) -> None:
    board = make_board("alice", {}, [], manners, None, {metric: (1, 5) for metric in Metric})
    answer = board_json(board)
    assert answer["families"] == {
        metric.value: {
            "notified": metric in notified,
            "opted_out": None
            if metric not in opted_out
            else dict(zip(("block", "source"), opted_out[metric], strict=True)),
        }
        for metric in FAMILIES
    }
    assert answer["muted"] == (None if muted is None else {"block": muted[0], "source": muted[1]})
    assert answer["opted_out"] is (manners.everything is not None)


def test_the_api_tells_a_family_opted_out_and_a_mute_as_the_store_has_them(
    served: Served, store: Store
) -> None:
    stopped, muting = stopped_posts_and_muting(store)
    _, body = served.get_json(f"/api/v1/accounts/{stopped}")
    assert isinstance(body, dict) and body["opted_out"] is False and body["muted"] is None
    assert body["families"][P.value] == {
        "notified": False,
        "opted_out": {"block": None, "source": "operator"},
    }
    assert all(body["families"][m.value] == {"notified": True, "opted_out": None} for m in Metric if m != P)
    _, body = served.get_json(f"/api/v1/accounts/{muting}")
    assert isinstance(body, dict) and body["muted"] == {"block": None, "source": "node"}
    assert {family["notified"] for family in body["families"].values()} == {False}


def families_on(page: str) -> dict[str, tuple[str, str, str, str]]:
    """Each family's item on a board: notified, state, reply, custom_json (unescaped)."""
    items = re.findall(
        r'<li class="family" id="family-(\w+)" data-notified="(\w+)">.*?class="state">(.*?)</p>.*?'
        r'class="reply">(.*?)</code>.*?class="custom-json">(.*?)</code>',
        page,
        re.DOTALL,
    )
    return {
        name: (notified, state, html.unescape(reply), html.unescape(custom))
        for name, notified, state, reply, custom in items
    }


def test_the_board_shows_each_familys_state_and_the_exact_reply_and_custom_json_to_change_it(
    served: Served, store: Store
) -> None:
    stopped, _ = stopped_posts_and_muting(store)
    status, _, body = served.get(f"/@{stopped}")
    page = body.decode()
    assert status == 200
    families = families_on(page)
    assert families[P.value] == (
        "no",
        "off: opted out by the operator",
        "START posts",
        '{"start": ["posts"]}',
    )
    assert families[Metric.REPLIES.value] == ("yes", "on", "STOP replies", '{"stop": ["replies"]}')
    assert set(families) == {f.value for f in FAMILIES}
    assert f"<code>{CUSTOM_JSON_ID}</code>" in page
    assert "{&#34;start&#34;: [&#34;posts&#34;]}" in page  # escaped as every text is, shown as typed
    assert 'href="/rules"' in page


def test_the_board_lists_each_familys_badges(served: Served, store: Store) -> None:
    account = with_badges(store)
    page = served.get(f"/@{account}")[2].decode()
    shown = dict(re.findall(r'id="family-(\w+)".*?class="thresholds">(.*?)</span>', page, re.DOTALL))
    records = store.outbox.load_badge_records(account)
    assert shown == {
        m.value: "; ".join(shown_threshold(m, b.threshold) for b in records if b.metric == m) or "none yet"
        for m in FAMILIES
    }


def test_the_board_says_since_when_an_account_mutes_the_bot_and_that_it_silences_every_family(
    served: Served, store: Store
) -> None:
    _, muting = stopped_posts_and_muting(store)
    page = served.get(f"/@{muting}")[2].decode()
    assert f'id="muted">@{muting} mutes @badge-bot (a node said so when the bot first asked)' in page
    assert {state for _, state, _, _ in families_on(page).values()} == {"off while the mute stands"}


def test_the_rules_page_tells_the_replies_the_custom_json_with_its_id_and_mutes(served: Served) -> None:
    status, headers, body = served.get("/rules")
    page = html.unescape(body.decode())
    assert status == 200 and "script-src 'none'" in headers["content-security-policy"]
    assert f"<code>{CUSTOM_JSON_ID}</code>" in page
    for text in (
        '{"stop": "all"}',
        '{"start": ["posts"]}',
        "STOP posts",
        '"what": ["ignore"]',
        "<code>replies</code>",
    ):
        assert text in page
