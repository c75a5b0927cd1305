"""The web app's routes: the JSON API, the pages, the badge images, and the headers every answer carries.

Nothing a user wrote is rendered: an account name in a path or a search box is validated
(:func:`bot.accounts.account_name_problem`) before it is used, numbers are numbers, and every page goes
through Jinja2 with autoescape on. Every answer carries a Content-Security-Policy that allows this host's
styles, images and forms only, and no script at all (the pages need none).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jinja2
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.accounts import account_name_problem
from bot.badges import Ladders
from bot.errors import StoreError, StoreUnreachableError
from bot.manners import DEFAULT_CUSTOM_JSON_ID
from bot.metrics import FAMILIES, Family, Metric, Occasion, shown, shown_threshold
from bot.optouts import SOURCE_WORDS
from bot.store import Store
from bot.web.board import board_json, load_board, load_status, ranking_json
from bot.web.images import render_badge

log = structlog.get_logger("bot.web")
UNAVAILABLE = "cannot read the bot's store now"
"""What a reader is told while the store's server cannot be reached (the reason is logged)."""
MAX_LIMIT = 1000
"""The most rows ``/api/v1/ranking`` answers at once."""
PAGE_SIZE = 50
"""Rows on a ranking page."""
MAX_OFFSET = 10**9
TOP = 10
"""Rows of each ranking on the front page."""
SECURITY_HEADERS: Mapping[str, str] = {
    "content-security-policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
MAX_YEARS = 100
"""The oldest birthday a badge image is drawn for (Hive's chain began in 2016, Steem's history with it)."""
METRIC_TITLES: Mapping[Family, str] = {
    Metric.UPVOTES_RECEIVED: "Upvotes received",
    Metric.UPVOTES_GIVEN: "Upvotes given",
    Metric.POSTS: "Posts",
    Metric.COMMENTS: "Comments",
    Metric.REPLIES: "Replies received",
    Metric.PAYOUT: "Payouts received",
    Occasion.BIRTHDAY: "Hive birthday",
}
FAMILY_RULES: Mapping[Family, str] = {
    Metric.UPVOTES_RECEIVED: (
        "each account that upvoted one of your posts or comments counts once per post or comment, if the vote "
        "took effect: within 7 days of the post's creation, before its payout. Changing a vote, or removing it "
        "and voting again, does not count again. Downvotes and removed votes never count."
    ),
    Metric.UPVOTES_GIVEN: "the same votes, from the voter's side.",
    Metric.POSTS: "new top-level posts. Editing does not count; a post deleted and written again is a new one.",
    Metric.COMMENTS: (
        "new replies to posts or comments. Editing does not count; a comment deleted and written again is a "
        "new one."
    ),
    Metric.REPLIES: "the new comments other accounts write under your posts and comments; your own never count.",
    Metric.PAYOUT: (
        "the rewards paid to you, in HP: author, curation and beneficiary rewards, their HBD and VESTS "
        "converted at the chain's median price feed and vesting price when the bot reads the block."
    ),
    Occasion.BIRTHDAY: "a badge on each anniversary of the account's creation (UTC), one a year.",
}
"""Each family's counting rule in one line, for the board's "What is counted" (README, the same section)."""


@dataclass(frozen=True, slots=True)
class Site:
    """What the app serves from: the store (opened read-only), the ladders, the bot's account, and how
    old the checkpoint may be before ``/healthz`` says 503."""

    store: Store
    ladders: Ladders
    bot: str
    max_lag: float
    registry: CollectorRegistry
    """What ``/metrics`` answers (see :mod:`bot.observe`)."""
    clock: Callable[[], float] = time.time
    custom_json_id: str = DEFAULT_CUSTOM_JSON_ID
    """The id of the opt commands (``notifications.custom_json_id``), as the board and the rules tell it."""


def create_app(site: Site) -> Starlette:
    pages = _Pages(site, _templates())
    routes = [
        Route("/api/v1/accounts/{account}", _once_more(pages.account_api)),
        Route("/api/v1/ranking/{metric}", _once_more(pages.ranking_api)),
        Route("/api/v1/status", _once_more(pages.status_api)),
        Route("/healthz", _once_more(pages.healthz)),
        Route("/metrics", _once_more(pages.metrics)),
        Route("/", _once_more(pages.front)),
        Route("/@{account}", _once_more(pages.board)),
        Route("/ranking/{metric}", _once_more(pages.ranking)),
        Route("/rules", pages.rules),
        Route("/badges/{metric}/{threshold:int}.png", pages.badge_image),
        Route("/style.css", pages.stylesheet),
    ]
    handlers = {HTTPException: pages.error, StoreError: pages.unavailable}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.add_middleware(_SecurityHeaders)
    return app


Endpoint = Callable[[Request], Awaitable[Response]]


def _once_more(endpoint: Endpoint) -> Endpoint:
    """``endpoint``, answered once more if the store's server ended its session meanwhile (a PostgreSQL
    restart, a failover, an idle connection cut by the network): the second try runs on a new connection
    (:class:`bot.db.PostgresDatabase`), so a reader never sees a session that was merely lost. The reads
    change nothing: trying again is harmless. Unreachable again, the answer is 503 (:meth:`_Pages.unavailable`)."""

    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except StoreUnreachableError:
            return await endpoint(request)

    return answer


def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
    )
    environment.globals["metric_titles"] = METRIC_TITLES
    environment.globals["metrics"] = list(Metric)
    environment.globals["families"] = FAMILIES
    environment.globals["family_rules"] = FAMILY_RULES
    environment.globals["shown"] = shown
    environment.globals["shown_threshold"] = shown_threshold
    environment.globals["source_words"] = SOURCE_WORDS
    return environment


class _Pages:
    def __init__(self, site: Site, templates: jinja2.Environment) -> None:
        self._site = site
        self._templates = templates

    # -- the API ----------------------------------------------------------------------------------
    async def account_api(self, request: Request) -> Response:
        """The account's board as JSON (:func:`bot.web.board.board_json`; README, "Board and ranking"):
        counts are whole numbers, but a payout's is a decimal string of HP, ``"1234.567"``
        (:func:`bot.metrics.count_json`); next targets are in the thresholds' unit (whole HP)."""
        account = _account(request.path_params["account"])
        board = load_board(self._site.store, account, self._site.ladders)
        if board is None:
            raise HTTPException(404, f"@{account} is not known to the bot")
        return JSONResponse(board_json(board))

    async def ranking_api(self, request: Request) -> Response:
        """A page of the ranking by ``metric``: ranked and paged by the stored count, each row's count
        written as the account's answer writes it (a payout: a decimal string of HP)."""
        metric = _metric(request.path_params["metric"])
        limit = _query_int(request, "limit", 100, 1, MAX_LIMIT)
        offset = _query_int(request, "offset", 0, 0, MAX_OFFSET)
        store = self._site.store
        return JSONResponse(
            ranking_json(
                metric, store.load_ranked_total(metric), store.load_ranking_page(metric, limit, offset)
            )
        )

    async def status_api(self, request: Request) -> Response:
        return JSONResponse(load_status(self._site.store, self._site.clock()))

    async def healthz(self, request: Request) -> Response:
        checkpoint = self._site.store.load_checkpoint()
        lag = None if checkpoint is None else self._site.clock() - checkpoint.block_time
        fresh = lag is not None and lag <= self._site.max_lag
        text = "no checkpoint yet" if lag is None else f"checkpoint {lag:.0f} s behind"
        return Response(
            f"{'ok' if fresh else 'stale'}: {text}\n", 200 if fresh else 503, media_type="text/plain"
        )

    async def metrics(self, request: Request) -> Response:
        """Prometheus's text format, read from the store now (on the loop's thread, as every read)."""
        return Response(generate_latest(self._site.registry), media_type=CONTENT_TYPE_LATEST)

    # -- the pages --------------------------------------------------------------------------------
    async def front(self, request: Request) -> Response:
        store = self._site.store
        tops = {metric: store.load_ranking_page(metric, TOP, 0) for metric in Metric}
        return self._page("front.html", status=load_status(store, self._site.clock()), tops=tops)

    async def board(self, request: Request) -> Response:
        account = _account(request.path_params["account"])
        board = load_board(self._site.store, account, self._site.ladders)
        if board is None:
            raise HTTPException(404, f"The bot has not seen @{account} yet: no count, no badge.")
        return self._page("board.html", board=board)

    async def ranking(self, request: Request) -> Response:
        metric = _metric(request.path_params["metric"])
        store = self._site.store
        wanted = request.query_params.get("account", "").strip().removeprefix("@")
        if wanted:
            position = store.load_position(metric, _account(wanted))
            if position is None:
                raise HTTPException(404, f"@{wanted} has no {METRIC_TITLES[metric].lower()} counted.")
            offset = position - position % PAGE_SIZE
        else:
            offset = _query_int(request, "offset", 0, 0, MAX_OFFSET)
        total = store.load_ranked_total(metric)
        rows = store.load_ranking_page(metric, PAGE_SIZE, offset)
        return self._page(
            "ranking.html",
            metric=metric,
            rows=rows,
            total=total,
            offset=offset,
            page_size=PAGE_SIZE,
            wanted=wanted,
        )

    async def rules(self, request: Request) -> Response:
        """How to stop notifications, some or all, and what a mute does (the README's rules, short)."""
        return self._page("rules.html")

    async def badge_image(self, request: Request) -> Response:
        """A ladder's badge, or a birthday's (its threshold the years, up to :data:`MAX_YEARS`)."""
        name: str = request.path_params["metric"]
        threshold: int = request.path_params["threshold"]
        metric = Occasion.BIRTHDAY if name == Occasion.BIRTHDAY else _metric(name)
        if threshold not in (
            range(1, MAX_YEARS + 1) if metric is Occasion.BIRTHDAY else self._site.ladders[metric]
        ):
            raise HTTPException(404, f"There is no {metric.value} badge for {threshold}.")
        return Response(
            render_badge(metric, threshold),
            media_type="image/png",
            headers={"cache-control": "public, max-age=86400"},
        )

    async def stylesheet(self, request: Request) -> Response:
        css = files("bot.web").joinpath("style.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"cache-control": "public, max-age=3600"})

    async def error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, exc.status_code)
        return self._page("error.html", exc.status_code, code=exc.status_code, message=exc.detail)

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        """503 while the store cannot be read (its PostgreSQL server is down, restarting, unreachable): a
        proxy or a health check sends readers elsewhere, and the next request connects again. The reason
        goes to the log, not to the reader (it names the database's host)."""
        log.warning("store_unavailable", path=request.url.path, error=str(exc))
        if request.url.path == "/healthz":
            return Response(f"unavailable: {UNAVAILABLE}\n", 503, media_type="text/plain")
        return await self.error(request, HTTPException(503, f"The board {UNAVAILABLE}; try again soon."))

    def _page(self, name: str, http_status: int = 200, **values: Any) -> Response:
        return HTMLResponse(
            self._templates.get_template(name).render(
                bot=self._site.bot, custom_json_id=self._site.custom_json_id, **values
            ),
            http_status,
        )


class _SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
                ]
            await send(message)

        await self._app(scope, receive, send_with_headers)


def _account(name: str) -> str:
    problem = account_name_problem(name)
    if problem is not None:
        raise HTTPException(400, f"{name[:32]!r} cannot be a Hive account name: {problem}.")
    return name


def _metric(name: str) -> Metric:
    try:
        return Metric(name)
    except ValueError:
        known = ", ".join(metric.value for metric in Metric)
        raise HTTPException(404, f"No ranking by {name[:32]!r}: the metrics are {known}.") from None


def _query_int(request: Request, key: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(key)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise HTTPException(400, f"{key} must be a whole number from {low} to {high}.")
    return int(text)
