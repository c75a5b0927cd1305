"""What a notification says (templates, account names and numbers only) and the permlink it is posted under."""

from __future__ import annotations

import json
import re
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import __version__
from bot.badges import Announcement, Badge
from bot.metrics import Metric
from bot.notifications import (
    DEFAULT_BADGE,
    DEFAULT_NEXT_TARGET,
    PLACEHOLDERS,
    Templates,
    notification_metadata,
    notification_permlink,
    render_notification,
    template_problem,
)

R, G, P, C = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS
BOT = "badge-bot"
PERMLINK = re.compile(r"[a-z0-9-]{1,255}")

# --- the default text -------------------------------------------------------------------------------------


def test_default_text_reads_like_hivebuzz() -> None:
    body = render_notification("alice", BOT, [Announcement(R, 100, 200)], Templates())

    assert body == (
        "Congratulations @alice! You have completed the following achievement on the Hive blockchain "
        "and have been rewarded with new badge(s):\n"
        "\n"
        "You received more than 100 upvotes. Your next target is to reach 200 upvotes.\n"
        "\n"
        "If you no longer want to receive notifications, reply to this comment with the word `STOP`"
    )  # no board to link to: no sentence about it (see tests/web/test_links.py)


@pytest.mark.parametrize(
    ("announcement", "line"),
    [
        (
            Announcement(G, 50, 100),
            "You distributed more than 50 upvotes. Your next target is to reach 100 upvotes.",
        ),
        (Announcement(P, 1, 5), "You published more than 1 posts. Your next target is to reach 5 posts."),
        (
            Announcement(C, 10, 50),
            "You made more than 10 comments. Your next target is to reach 50 comments.",
        ),
        (Announcement(R, 1000, None), "You received more than 1000 upvotes."),  # the last one: no target
    ],
)
def test_each_metric_has_its_default_line(announcement: Announcement, line: str) -> None:
    body = render_notification("alice", BOT, [announcement], Templates())

    assert body.splitlines()[2] == line
    assert "None" not in body


def test_one_line_per_announcement_in_the_order_given() -> None:
    body = render_notification(
        "alice", BOT, [Announcement(R, 100, 200), Announcement(P, 5, None)], Templates()
    )

    assert body.splitlines()[2:4] == [
        "You received more than 100 upvotes. Your next target is to reach 200 upvotes.",
        "You published more than 5 posts.",
    ]


def test_every_metric_has_a_default_badge_and_next_target_template() -> None:
    assert set(DEFAULT_BADGE) == set(DEFAULT_NEXT_TARGET) == set(Metric)
    for metric in Metric:
        assert template_problem("badge", DEFAULT_BADGE[metric]) is None
        assert template_problem("next_target", DEFAULT_NEXT_TARGET[metric]) is None
    assert template_problem("header", Templates().header) is None
    assert template_problem("footer", Templates().footer) is None


# --- operator templates -----------------------------------------------------------------------------------


def test_custom_templates_fill_in_every_placeholder() -> None:
    templates = Templates(
        header="Hi @{account}, from @{bot} ({board_url} | {ranking_url})",
        footer="-- @{bot} for @{account}; board {board_url}",
        badge=MappingProxyType({**DEFAULT_BADGE, P: "{account}: {threshold} posts ({ranking_url})"}),
        next_target=MappingProxyType({**DEFAULT_NEXT_TARGET, P: "next {next_threshold} for {account}"}),
        board_url="https://board.example/@{account}",
        ranking_url="https://rank.example/?hl={account}",
        image_url="https://img.example/{account}/{metric}/{threshold}.png",
    )

    body = render_notification("alice", BOT, [Announcement(P, 5, 10)], templates)

    assert body.splitlines() == [
        "Hi @alice, from @badge-bot (https://board.example/@alice | https://rank.example/?hl=alice)",
        "",
        "![badge](https://img.example/alice/posts/5.png) "
        "alice: 5 posts (https://rank.example/?hl=alice) next 10 for alice",
        "",
        "-- @badge-bot for @alice; board https://board.example/@alice",
    ]


def test_without_an_image_url_no_image_is_shown() -> None:
    body = render_notification("alice", BOT, [Announcement(P, 5, 10)], Templates())

    assert "![" not in body


def test_escaped_braces_in_a_template_are_literal_braces() -> None:
    templates = Templates(header="{{account}} is @{account}")

    assert template_problem("header", templates.header) is None
    assert render_notification("alice", BOT, [], templates).splitlines()[0] == "{account} is @alice"


@pytest.mark.parametrize(
    ("kind", "template", "fragment"),
    [
        ("header", "Hi {threshold}", "unknown placeholder {threshold}"),
        ("header", "Hi {user}", "this template may use {account}, {board_url}, {bot}, {ranking_url}"),
        ("footer", "{metric}", "unknown placeholder {metric}"),
        ("badge", "{bot}", "unknown placeholder {bot}"),
        ("next_target", "{metric}", "unknown placeholder {metric}"),
        ("board_url", "https://x/{bot}", "unknown placeholder {bot}; this template may use {account}"),
        ("ranking_url", "https://x/{threshold}", "unknown placeholder {threshold}"),
        ("image_url", "https://x/{next_threshold}", "unknown placeholder {next_threshold}"),
        ("header", "{}", "must be a plain name"),
        ("header", "{0}", "must be a plain name"),
        ("header", "{account.__class__}", "must be a plain name"),
        ("header", "{account[0]}", "must be a plain name"),
        ("header", "{account!r}", "must be a plain name"),
        ("header", "{account:>20}", "must be a plain name"),
        ("header", "{account", "is not a valid template"),
        ("header", "account}", "is not a valid template"),
        ("header", "{", "write a literal brace as {{ or }}"),
    ],
)
def test_template_problems_are_named(kind: str, template: str, fragment: str) -> None:
    problem = template_problem(kind, template)

    assert problem is not None
    assert fragment in problem


@pytest.mark.parametrize("kind", sorted(PLACEHOLDERS))
def test_every_allowed_placeholder_is_accepted(kind: str) -> None:
    template = " ".join("{" + name + "}" for name in sorted(PLACEHOLDERS[kind]))

    assert template_problem(kind, template) is None
    assert template_problem(kind, "no placeholder at all") is None


def test_templates_may_use_every_placeholder_they_are_allowed_and_render() -> None:
    def every(kind: str) -> str:
        return " ".join("{" + name + "}" for name in sorted(PLACEHOLDERS[kind]))

    templates = Templates(
        header=every("header"),
        footer=every("footer"),
        badge=MappingProxyType(dict.fromkeys(Metric, every("badge"))),
        next_target=MappingProxyType(dict.fromkeys(Metric, every("next_target"))),
        board_url=every("board_url"),
        ranking_url=every("ranking_url"),
        image_url=every("image_url"),
    )

    body = render_notification("alice", BOT, [Announcement(C, 10, 50)], templates)

    # placeholders in name order: account, board_url, bot / next_threshold, ranking_url, threshold
    # (a badge line has no next_threshold: the next target line carries it)
    assert body.splitlines() == [
        "alice alice badge-bot alice",
        "",
        "![badge](alice comments 10) alice alice alice 10 alice alice 50 alice 10",
        "",
        "alice alice badge-bot alice",
    ]


def test_no_accepted_badge_template_prints_none_for_the_last_threshold() -> None:
    template = "{threshold} reached; next: {next_threshold}"
    if template_problem("badge", template) is not None:
        return  # refused at config time: fine
    templates = Templates(badge=MappingProxyType(dict.fromkeys(Metric, template)))

    body = render_notification("alice", BOT, [Announcement(R, 1000, None)], templates)

    assert "None" not in body


# --- nothing but templates, account names and numbers -----------------------------------------------------

any_account = st.text(min_size=1, max_size=40)
thresholds = st.integers(min_value=1, max_value=10**12)


@st.composite
def announcements(draw: st.DrawFn) -> list[Announcement]:
    chosen = draw(st.lists(st.sampled_from(list(Metric)), unique=True))
    return [
        Announcement(metric, threshold, draw(st.one_of(st.none(), st.integers(threshold + 1, 10**13))))
        for metric in [m for m in Metric if m in chosen]
        for threshold in [draw(thresholds)]
    ]


@given(any_account, announcements())
def test_the_text_is_exactly_the_templates_filled_with_the_account_and_numbers(
    account: str, items: list[Announcement]
) -> None:
    templates = Templates(image_url="https://img.example/{metric}/{threshold}/{account}.png")

    body = render_notification(account, BOT, items, templates)

    expected = [
        f"Congratulations @{account}! You have completed the following achievement on the Hive blockchain "
        "and have been rewarded with new badge(s):",
        "",
    ]
    for item in items:
        assert isinstance(item.metric, Metric)
        line = DEFAULT_BADGE[item.metric].replace("{threshold}", str(item.threshold))
        if item.next_threshold is not None:
            line += " " + DEFAULT_NEXT_TARGET[item.metric].replace(
                "{next_threshold}", str(item.next_threshold)
            )
        image = f"https://img.example/{item.metric.value}/{item.threshold}/{account}.png"
        expected.append(f"![badge]({image}) {line}")
    expected += ["", Templates().footer]
    assert body == "\n".join(expected)


@given(any_account | st.sampled_from(["{bot}", "{account}", "{0}", "}{", "{{x}}", "{board_url!r}"]))
def test_an_account_name_with_braces_is_never_read_as_a_template(account: str) -> None:
    templates = Templates(board_url="https://b/{account}", header="{board_url} {account}")

    body = render_notification(account, BOT, [], templates)

    assert body == f"https://b/{account} {account}\n\n\n{Templates().footer}"


# --- permlinks --------------------------------------------------------------------------------------------


def test_permlink_names_the_first_badge() -> None:
    permlink = notification_permlink(Badge("alice", R, 100))

    assert re.fullmatch(r"badge-upvotes-received-100-alice-[0-9a-f]{8}", permlink)


@pytest.mark.parametrize("account", ["abc.def", "hive.badge-bot", "a1-b.c2d.xyz"])
def test_permlink_of_a_dotted_account_is_valid(account: str) -> None:
    permlink = notification_permlink(Badge(account, P, 1))

    assert PERMLINK.fullmatch(permlink)
    assert "." not in permlink


def test_accounts_that_differ_only_by_dot_and_dash_get_different_permlinks() -> None:
    assert notification_permlink(Badge("abc.def", P, 1)) != notification_permlink(Badge("abc-def", P, 1))


def test_permlink_is_stable_across_calls() -> None:
    badge = Badge("alice", G, 50)

    assert notification_permlink(badge) == notification_permlink(Badge("alice", G, 50))
    # pinned: derived from the badge alone (no clock, no randomness), the same in every version
    assert notification_permlink(badge) == "badge-upvotes-given-50-alice-4ffbc7c6"


hive_account = st.from_regex(r"[a-z][a-z0-9-]{1,14}[a-z0-9](\.[a-z][a-z0-9-]{1,10}[a-z0-9])?", fullmatch=True)


@given(any_account | hive_account, st.sampled_from(list(Metric)), thresholds)
def test_permlink_is_always_valid_for_any_account_and_threshold(
    account: str, metric: Metric, threshold: int
) -> None:
    assert PERMLINK.fullmatch(notification_permlink(Badge(account, metric, threshold)))


@given(st.sets(st.builds(Badge, hive_account, st.sampled_from(list(Metric)), thresholds), max_size=30))
def test_different_badges_get_different_permlinks(badges: set[Badge]) -> None:
    assert len({notification_permlink(badge) for badge in badges}) == len(badges)


def test_metadata_names_the_app_version_and_the_badges_announced() -> None:
    announced = [
        Announcement(Metric.UPVOTES_RECEIVED, 100, 200),
        Announcement(Metric.COMMENTS, 1000, None),
    ]

    metadata = json.loads(notification_metadata(announced))

    assert metadata == {
        "app": f"hive-badge-bot/{__version__}",
        "format": "markdown",
        "tags": ["badges"],
        "badges": ["upvotes_received:100", "comments:1000"],
    }
