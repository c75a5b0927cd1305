"""Every family as the board shows it. A payout, counted in thousandths of HP, reads in HP wherever the board
shows it: the account's page, the ranking (seeking an account included), the front page, the API, the badge
images; every family's counting rule is on the board and the front page, the payout's on /rules. A store
committed by the store's own batch commit (with the badges its rules find), served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator

import pytest

from bot.badges import BadgeRules
from bot.config import load_config
from bot.manners import Digest
from bot.metrics import FAMILIES, Metric
from bot.outbox import Manners
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from bot.web.board import make_board
from bot.web.images import badge_words
from bot.web.routes import FAMILY_RULES, METRIC_TITLES
from tests.support.configs import LADDERS, write_config
from tests.support.web import Served, serve

PAYOUTS = {"alice": 1_234_567, "bob": 99_999, "carol": 5_000_000_000}
"""Thousandths of HP: 1,234.567 HP, 99.999 HP, 5,000,000 HP."""
LADDER = (100, 1_000, 5_000)
EMPTY = {metric: () for metric in Metric}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("payouts")
    badges = {**LADDERS, "payout": {"thresholds": list(LADDER)}}
    config = load_config(write_config(directory, ["http://127.0.0.1:9"], badges=badges))
    rules = BadgeRules(config.badges, "badge-bot")
    tally = Tally(increments=Counter({(a, Metric.PAYOUT): n for a, n in PAYOUTS.items()}))
    with Store.open(config.store) as store:
        changes = OutboxChanges(rules=rules, digests={"alice": Digest.WEEKLY})
        store.commit_batch(tally, {}, Checkpoint(1234, "04d2", 1_750_000_000), changes)
    yield from serve(config)


def text(served: Served, path: str) -> str:
    status, _, body = served.get(path)
    assert status == 200, path
    return html.unescape(body.decode())


def test_the_board_shows_a_payout_and_its_next_target_in_hp(site: Served) -> None:
    page = text(site, "/@alice")
    card = page[page.index('id="count-payout"') :]
    assert re.search(r'class="number" data-count="1234567">1,234\.567 HP<', card)
    assert re.search(r'class="next" data-next="5000">5,000 HP<', card)
    assert re.search(r'<progress max="100" value="24">', card)  # 1,234.567 of 5,000 HP
    assert "Payouts received: 100 HP" in page and "Payouts received: 1,000 HP" in page
    assert re.search(r'id="family-payout".*?class="thresholds">100 HP; 1,000 HP</span>', page, re.DOTALL)


def test_the_ranking_shows_payouts_in_hp_ranked_by_the_count(site: Served) -> None:
    page = text(site, "/ranking/payout")
    cells = re.findall(r'<tr id="(\w+)".*?<td class="count" data-count="\d+">(.*?)</td>', page)
    assert cells == [("carol", "5,000,000.000 HP"), ("alice", "1,234.567 HP"), ("bob", "99.999 HP")]
    assert 'class="found"><td>3</td>' in text(site, "/ranking/payout?account=bob")


def test_the_front_page_tops_show_payouts_in_hp(site: Served) -> None:
    page = text(site, "/")
    assert '<a href="/@alice">@alice</a> 1,234.567 HP</li>' in page


def test_the_api_answers_a_payout_as_a_decimal_string_of_hp(site: Served) -> None:
    _, body = site.get_json("/api/v1/accounts/alice")
    assert isinstance(body, dict)
    assert body["counts"]["payout"] == "1234.567"
    assert body["counts"]["posts"] == 0
    assert body["next_targets"]["payout"] == 5_000
    assert [(b["metric"], b["threshold"]) for b in body["badges"]] == [("payout", 100), ("payout", 1_000)]
    _, ranking = site.get_json("/api/v1/ranking/payout?limit=2&offset=1")
    assert ranking == {
        "metric": "payout",
        "total": 3,
        "rows": [
            {"rank": 2, "account": "alice", "count": "1234.567"},
            {"rank": 3, "account": "bob", "count": "99.999"},
        ],
    }


def test_a_payout_badge_image_reads_its_threshold_in_hp(site: Served) -> None:
    assert badge_words(Metric.PAYOUT, 100) == ("100", "HP PAYOUT")
    assert badge_words(Metric.PAYOUT, 5_000) == ("5K", "HP PAYOUT")
    assert site.get("/badges/payout/100.png")[0] == 200
    assert site.get("/badges/payout/100000.png")[0] == 404  # the threshold in thousandths is no badge


@pytest.mark.parametrize("path", ["/@alice", "/"])
def test_the_board_and_the_front_page_give_every_familys_counting_rule(site: Served, path: str) -> None:
    page = text(site, path)
    found = re.findall(r'<li id="rule-(\w+)"><strong>(.*?)</strong>: (.*?)</li>', page)
    rules = {family: (title, rule) for family, title, rule in found}
    assert rules == {f.value: (METRIC_TITLES[f], FAMILY_RULES[f]) for f in FAMILIES}
    assert "median price feed and vesting price" in rules["payout"][1]


def test_the_front_page_names_every_family(site: Served) -> None:
    intro = text(site, "/").split("<p>", 2)[1]
    assert all(METRIC_TITLES[f].lower() in intro for f in FAMILIES)


def test_the_rules_page_names_every_family_and_says_how_payouts_are_counted(site: Served) -> None:
    page = text(site, "/rules")
    assert all(f"<code>{f.value}</code>" in page for f in FAMILIES)
    assert "<code>birthday</code> (hive birthday)." in page
    payout = page[page.index('<p id="payout">') :].split("</p>")[0]
    for words in ("author, curation and", "beneficiary rewards", "HBD and VESTS", "median", "vesting price"):
        assert words in payout


def test_the_board_and_the_api_tell_the_digest_choice(site: Served) -> None:
    assert 'id="digest">Weekly digest, chosen 2025-06-15 15:06:40 UTC:' in text(site, "/@alice")
    assert 'id="digest">No digest:' in text(site, "/@bob")
    _, body = site.get_json("/api/v1/accounts/alice")
    assert isinstance(body, dict) and body["digest"] == {"choice": "weekly", "since": "2025-06-15T15:06:40Z"}
    _, body = site.get_json("/api/v1/accounts/bob")
    assert isinstance(body, dict) and body["digest"] is None


def test_a_payouts_progress_is_toward_its_target_in_hp() -> None:
    board = make_board(
        "alice", {Metric.PAYOUT: 1_234_567}, [], Manners(), None, {**EMPTY, Metric.PAYOUT: LADDER}
    )
    (line,) = (line for line in board.lines if line.metric is Metric.PAYOUT)
    assert (line.next_target, line.percent) == (5_000, 24)
