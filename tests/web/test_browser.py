"""The pages as a person sees them, in headless Chromium (Debian's ``chromium``, driven by Playwright for
Python) with JavaScript off: the board's counts and badges equal the store's and the API's; the ranking's
order, ranks, pages and search; the 404 page; a phone-sized screen; no request to another host.
Screenshots of a board and a ranking go to ``docs/`` (the README shows them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from bot.metrics import Metric, count_json, shown, shown_threshold, unit
from bot.store import Store
from tests.support.web import CUSTOM_JSON_ID, Served, stopped_posts_and_muting, with_badges

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).parents[2] / "docs"
PHONE: ViewportSize = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    """A page with JavaScript off that fails the test on any request to another host."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    elsewhere: list[str] = []
    opened.on(
        "request",
        lambda request: None if request.url.startswith(served.url) else elsewhere.append(request.url),
    )
    yield opened
    context.close()
    assert elsewhere == []


def test_the_boards_counts_targets_and_badges_are_the_stores_and_the_apis(
    page: Page, served: Served, store: Store
) -> None:
    account = with_badges(store)
    images: dict[str, int] = {}
    page.on("response", lambda r: images.update({r.url: r.status}) if "/badges/" in r.url else None)
    page.goto(f"{served.url}/@{account}", wait_until="load")
    _, api = served.get_json(f"/api/v1/accounts/{account}")
    assert isinstance(api, dict)
    counts = store.load_counts(account)
    assert counts is not None
    for metric in Metric:
        card = page.locator(f"#count-{metric.value}")
        assert card.locator(".number").inner_text() == shown(metric, counts[metric])
        assert card.locator(".number").get_attribute("data-count") == str(counts[metric])
        assert api["counts"][metric.value] == count_json(metric, counts[metric])
        target = api["next_targets"][metric.value]
        if target is not None:
            assert card.locator(".next").inner_text() == shown_threshold(metric, target)
            percent = min(100, counts[metric] * 100 // (target * unit(metric)))
            assert card.locator("progress").get_attribute("value") == str(percent)
    badges = page.locator("li.badge").all()
    on_page = [(b.get_attribute("data-metric"), int(b.get_attribute("data-threshold") or 0)) for b in badges]
    assert on_page == [(b["metric"], b["threshold"]) for b in api["badges"]]
    assert on_page == [(b.metric.value, b.threshold) for b in store.outbox.load_badge_records(account)]
    assert [b.get_attribute("data-announced") for b in badges] == [b["announced"] for b in api["badges"]]
    assert len(images) == len(set(on_page)) and set(images.values()) == {200}
    assert "What is counted" in page.inner_text("main")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "board.png"), full_page=True)


def test_the_board_says_when_an_account_opted_out_and_how_far_its_history_is_read(
    page: Page, served: Served, store: Store
) -> None:
    opted_out, reading = (account for account, _ in store.load_ranking(Metric.UPVOTES_RECEIVED, 2))
    page.goto(f"{served.url}/@{opted_out}")
    assert "reply START" in page.inner_text("#opted-out")
    page.goto(f"{served.url}/@{reading}")
    assert "reading history, 0 %" in page.inner_text("#baseline")


def test_the_board_shows_how_to_start_a_stopped_family_and_links_the_rules(
    page: Page, served: Served, store: Store
) -> None:
    stopped, _ = stopped_posts_and_muting(store)
    page.goto(f"{served.url}/@{stopped}")
    posts = page.locator("#family-posts")
    assert posts.get_attribute("data-notified") == "no"
    assert posts.locator(".state").inner_text() == "off: opted out by the operator"
    assert posts.locator("code.reply").inner_text() == "START posts"
    assert posts.locator("code.custom-json").inner_text() == '{"start": ["posts"]}'
    assert page.locator("#family-comments code.custom-json").inner_text() == '{"stop": ["comments"]}'
    page.click("#rules-link")
    assert page.url == f"{served.url}/rules"
    assert f"id {CUSTOM_JSON_ID}" in " ".join(page.inner_text("main").split())


def ranking_rows(page: Page) -> list[dict[str, object]]:
    return [
        {"rank": int(cells[0]), "account": cells[1].removeprefix("@"), "count": int(cells[2])}
        for cells in (
            row.locator("td").all_inner_texts() for row in page.locator("table.ranking tbody tr").all()
        )
    ]


def test_the_rankings_order_ranks_and_pages_are_the_apis(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/ranking/upvotes_given")
    _, api = served.get_json("/api/v1/ranking/upvotes_given?limit=100")
    assert isinstance(api, dict)
    assert ranking_rows(page) == api["rows"][:50]
    page.click("a[rel=next]")
    assert ranking_rows(page) == api["rows"][50:100]
    page.click("a[rel=prev]")
    assert ranking_rows(page) == api["rows"][:50]
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "ranking.png"))


def test_the_search_box_jumps_to_the_accounts_place_in_the_ranking(
    page: Page, served: Served, store: Store
) -> None:
    everyone = store.load_ranking(Metric.UPVOTES_GIVEN, None)
    account, count = everyone[120]
    page.goto(f"{served.url}/ranking/upvotes_given")
    page.fill("input[name=account]", "@" + account)
    page.click("button[type=submit]")
    found = page.locator("tr.found td").all_inner_texts()
    assert found == [str(1 + sum(c > count for _, c in everyone)), "@" + account, str(count)]
    assert ranking_rows(page)[0]["account"] == everyone[100][0]  # the page holding it: places 101 to 150


def test_the_four_rankings_are_one_click_apart(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/ranking/posts")
    for metric in (Metric.COMMENTS, Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS):
        page.click(f"nav.metrics a[href='/ranking/{metric.value}']")
        assert page.url == f"{served.url}/ranking/{metric.value}"


def test_an_unknown_account_gets_a_404_page_that_says_so(page: Page, served: Served) -> None:
    answer = page.goto(f"{served.url}/@nobody-at-all")
    assert answer is not None and answer.status == 404
    assert "has not seen @nobody-at-all" in page.inner_text("main")


@pytest.mark.parametrize("path", ["/", "/ranking/upvotes_received", "board"])
def test_on_a_phone_sized_screen_nothing_scrolls_sideways(
    browser: Browser, served: Served, store: Store, path: str
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(served.url + (f"/@{with_badges(store)}" if path == "board" else path))
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    context.close()
    assert widths[0] <= widths[1] == PHONE["width"]
