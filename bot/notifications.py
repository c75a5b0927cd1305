"""What a badge notification says, and the permlink it is posted under. Pure functions.

The text comes only from the operator's templates, account names and numbers: nothing another user wrote
ever reaches a notification. Templates are ``str.format`` strings; the placeholders each may use are listed
in :data:`PLACEHOLDERS` and checked when the config is loaded.

The permlink is derived from the notification's first badge, never from the clock: a retry after a crash
or a lost answer re-posts the same permlink, which the chain treats as an edit, never as a second comment.
A badge is earned once, ever, so no two notifications share a permlink, even across a store reset.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot import __version__
from bot.badges import Announcement, Badge
from bot.metrics import Metric

APP = f"hive-badge-bot/{__version__}"

PLACEHOLDERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "header": frozenset({"account", "bot", "board_url", "ranking_url"}),
        "footer": frozenset({"account", "bot", "board_url", "ranking_url"}),
        "badge": frozenset({"account", "threshold", "board_url", "ranking_url"}),
        "next_target": frozenset({"account", "threshold", "next_threshold", "board_url", "ranking_url"}),
        "birthday": frozenset({"account", "years", "board_url", "ranking_url"}),
        "board_url": frozenset({"account"}),
        "ranking_url": frozenset({"account"}),
        "image_url": frozenset({"account", "metric", "threshold"}),
    }
)
"""Which placeholders each kind of template may use."""

DEFAULT_HEADER = (
    "Congratulations @{account}! You have completed the following achievement on the Hive blockchain "
    "and have been rewarded with new badge(s):"
)
STOP_SENTENCE = "If you no longer want to receive notifications, reply to this comment with the word `STOP`"
DEFAULT_FOOTER = STOP_SENTENCE
"""The footer when there is no board to link to."""
DEFAULT_BOARD_FOOTER = (
    "You can view your badges on [your board]({board_url}) and compare yourself to others in the "
    f"[Ranking]({{ranking_url}})\n{STOP_SENTENCE}"
)
"""The footer when the board and the ranking have addresses (``web.public_url``, or the operator's)."""
DEFAULT_BADGE: Mapping[Metric, str] = MappingProxyType(
    {
        Metric.UPVOTES_RECEIVED: "You received more than {threshold} upvotes.",
        Metric.UPVOTES_GIVEN: "You distributed more than {threshold} upvotes.",
        Metric.POSTS: "You published more than {threshold} posts.",
        Metric.COMMENTS: "You made more than {threshold} comments.",
        Metric.REPLIES: "You got more than {threshold} replies.",
        Metric.PAYOUT: "You received more than {threshold} HP as payout for your posts, comments and curation.",
    }
)
DEFAULT_NEXT_TARGET: Mapping[Metric, str] = MappingProxyType(
    {
        Metric.UPVOTES_RECEIVED: "Your next target is to reach {next_threshold} upvotes.",
        Metric.UPVOTES_GIVEN: "Your next target is to reach {next_threshold} upvotes.",
        Metric.POSTS: "Your next target is to reach {next_threshold} posts.",
        Metric.COMMENTS: "Your next target is to reach {next_threshold} comments.",
        Metric.REPLIES: "Your next target is to reach {next_threshold} replies.",
        Metric.PAYOUT: "Your next target is to reach {next_threshold} HP as payout.",
    }
)
DEFAULT_BIRTHDAY_ONE = "Happy Hive Birthday! You are on the Hive blockchain for 1 year!"
DEFAULT_BIRTHDAY = "Happy Hive Birthday! You are on the Hive blockchain for {years} years!"


@dataclass(frozen=True, slots=True, kw_only=True)
class BirthdayTemplates:
    """The birthday badge's line (``templates.birthday``): ``one`` for the first year, ``other`` after."""

    one: str = DEFAULT_BIRTHDAY_ONE
    other: str = DEFAULT_BIRTHDAY

    def line(self, years: int) -> str:
        return self.one if years == 1 else self.other


@dataclass(frozen=True, slots=True, kw_only=True)
class Templates:
    header: str = DEFAULT_HEADER
    footer: str = DEFAULT_FOOTER
    badge: Mapping[Metric, str] = field(default_factory=lambda: DEFAULT_BADGE)
    next_target: Mapping[Metric, str] = field(default_factory=lambda: DEFAULT_NEXT_TARGET)
    birthday: BirthdayTemplates = field(default_factory=BirthdayTemplates)
    board_url: str = ""
    ranking_url: str = ""
    image_url: str = ""


def link_board(templates: Templates, public_url: str | None, *, default_footer: bool) -> Templates:
    """``templates`` linking to the board at ``public_url`` (``None``: no board is served): the board's pages
    and images where the operator left ``board_url``, ``ranking_url`` or ``image_url`` empty; with
    ``default_footer`` (the operator wrote no footer), the footer names the board only if there is one."""
    if public_url is not None:
        templates = replace(
            templates,
            board_url=templates.board_url or f"{public_url}/@{{account}}",
            ranking_url=templates.ranking_url
            or f"{public_url}/ranking/{Metric.UPVOTES_RECEIVED}?account={{account}}",
            image_url=templates.image_url or f"{public_url}/badges/{{metric}}/{{threshold}}.png",
        )
    if default_footer:
        board = templates.board_url and templates.ranking_url
        templates = replace(templates, footer=DEFAULT_BOARD_FOOTER if board else DEFAULT_FOOTER)
    return templates


def template_problem(kind: str, template: str) -> str | None:
    """Why ``template`` cannot be used as a ``kind`` template (see :data:`PLACEHOLDERS`), or ``None``."""
    try:
        fields = _fields(template)
    except ValueError as exc:
        return f"is not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
    unknown = sorted(fields - PLACEHOLDERS[kind])
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in sorted(PLACEHOLDERS[kind]))
        return f"unknown placeholder {{{unknown[0]}}}; this template may use {allowed}"
    return None


def _fields(template: str) -> set[str]:
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain name")
        names.add(name)
    return names


def render_notification(
    account: str, bot: str, announcements: Sequence[Announcement], templates: Templates
) -> str:
    """The body of the reply announcing ``announcements`` to ``account``."""
    urls = {
        "board_url": templates.board_url.format(account=account),
        "ranking_url": templates.ranking_url.format(account=account),
    }
    lines = [templates.header.format(account=account, bot=bot, **urls), ""]
    for item in announcements:
        line = _badge_line(account, item, templates, urls)
        if templates.image_url:
            image = templates.image_url.format(
                account=account, metric=item.metric.value, threshold=item.threshold
            )
            line = f"![badge]({image}) {line}"
        lines.append(line)
    lines += ["", templates.footer.format(account=account, bot=bot, **urls)]
    return "\n".join(lines)


def _badge_line(account: str, item: Announcement, templates: Templates, urls: Mapping[str, str]) -> str:
    """A badge's line: its family's template, and a counted metric's next target."""
    if not isinstance(item.metric, Metric):  # a birthday: its threshold is the years
        return templates.birthday.line(item.threshold).format(account=account, years=item.threshold, **urls)
    values = {"account": account, "threshold": item.threshold, "next_threshold": item.next_threshold, **urls}
    line = templates.badge[item.metric].format(**values)
    if item.next_threshold is not None:
        line += " " + templates.next_target[item.metric].format(**values)
    return line


def notification_permlink(first_badge: Badge) -> str:
    """``badge-<metric>-<threshold>-<account>-<hash>``: a valid permlink (a-z, 0-9, '-'), unique per badge."""
    digest = hashlib.sha256(f"{first_badge.account}/{first_badge.metric}/{first_badge.threshold}".encode())
    slug = re.sub(r"[^a-z0-9-]", "-", first_badge.account)
    metric = first_badge.metric.value.replace("_", "-")
    return f"badge-{metric}-{first_badge.threshold}-{slug}-{digest.hexdigest()[:8]}"


def notification_metadata(announcements: Sequence[Announcement]) -> str:
    """The reply's ``json_metadata``: the app, and the badges the text announces as ``"metric:threshold"``
    (``"badges": ["upvotes_received:100"]``), so that front ends and tools need not parse the text."""
    badges = [f"{item.metric.value}:{item.threshold}" for item in announcements]
    metadata = {"app": APP, "format": "markdown", "tags": ["badges"], "badges": badges}
    return json.dumps(metadata, separators=(",", ":"))
