"""The JSON API's contract (README "Board and ranking"), over a store the real follower filled from the devnet:
exact keys and types, values equal to the store's; ``/healthz``; the headers on every answer; badge images."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from bot.config import Config
from bot.metrics import Metric, count_json, unit
from bot.store import Store
from tests.support.web import Served, serve, with_badges

ACCOUNT_KEYS = {
    "account",
    "counts",
    "next_targets",
    "badges",
    "opted_out",
    "families",
    "muted",
    "digest",
    "baseline",
}
BADGE_KEYS = {"metric", "threshold", "earned_block", "earned_at", "announced"}
ANNOUNCED = {"announced", "pending", "silent", "baseline"}


def test_an_accounts_answer_has_exactly_the_contracts_keys_and_types(served: Served, store: Store) -> None:
    account = with_badges(store)
    status, body = served.get_json(f"/api/v1/accounts/{account}")
    assert status == 200
    assert isinstance(body, dict)
    assert set(body) == ACCOUNT_KEYS
    assert body["account"] == account
    assert set(body["counts"]) == set(body["next_targets"]) == {metric.value for metric in Metric}
    assert all(type(n) is int for m, n in body["counts"].items() if m != Metric.PAYOUT)
    assert type(body["counts"][Metric.PAYOUT]) is str  # HP as a decimal: tests/web/test_families_shown.py
    assert all(n is None or type(n) is int for n in body["next_targets"].values())
    assert body["badges"]
    for badge in body["badges"]:
        assert set(badge) == BADGE_KEYS
        assert type(badge["threshold"]) is int and type(badge["earned_block"]) is int
        assert badge["announced"] in ANNOUNCED
        assert badge["earned_at"].endswith("Z")
    assert body["opted_out"] is False
    assert body["baseline"] is None


def test_an_accounts_counts_badges_and_targets_are_the_stores(
    served: Served, store: Store, config: Config
) -> None:
    account = with_badges(store)
    _, body = served.get_json(f"/api/v1/accounts/{account}")
    assert isinstance(body, dict)
    counts = store.load_counts(account)
    assert counts is not None
    assert body["counts"] == {metric.value: count_json(metric, n) for metric, n in counts.items()}
    assert body["next_targets"] == {
        metric.value: next((t for t in config.badges[metric] if t * unit(metric) > n), None)
        for metric, n in counts.items()
    }
    assert [(b["metric"], b["threshold"], b["earned_block"], b["earned_at"]) for b in body["badges"]] == [
        (b.metric.value, b.threshold, b.block_num, _iso(b.block_time))
        for b in store.outbox.load_badge_records(account)
    ]


def test_an_opted_out_account_and_a_baseline_being_read_say_so(served: Served, store: Store) -> None:
    opted_out, reading = (account for account, _ in store.load_ranking(Metric.UPVOTES_RECEIVED, 2))
    _, body = served.get_json(f"/api/v1/accounts/{opted_out}")
    assert isinstance(body, dict) and body["opted_out"] is True
    _, body = served.get_json(f"/api/v1/accounts/{reading}")
    assert isinstance(body, dict) and body["baseline"] == {"state": "waiting", "progress": 0.0}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/accounts/nobody-at-all", 404),
        ("/api/v1/accounts/No", 400),
        ("/api/v1/ranking/likes", 404),
        ("/api/v1/ranking/posts?limit=1001", 400),
        ("/api/v1/ranking/posts?limit=0", 400),
        ("/api/v1/ranking/posts?offset=-1", 400),
    ],
)
def test_a_wrong_request_is_answered_with_its_status_and_an_error(
    served: Served, path: str, status: int
) -> None:
    got, body = served.get_json(path)
    assert got == status
    assert isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str)


@pytest.mark.parametrize("metric", list(Metric))
def test_the_ranking_is_by_count_then_name_and_equal_counts_share_a_rank(
    served: Served, store: Store, metric: Metric
) -> None:
    everyone = store.load_ranking(metric, None)
    _, body = served.get_json(f"/api/v1/ranking/{metric.value}?limit=1000")
    assert isinstance(body, dict) and set(body) == {"metric", "total", "rows"}
    assert body["metric"] == metric.value and body["total"] == len(everyone)
    rows = body["rows"]
    assert all(set(row) == {"rank", "account", "count"} for row in rows)
    assert [(row["account"], row["count"]) for row in rows] == [
        (account, count_json(metric, count)) for account, count in everyone[:1000]
    ]
    assert [row["rank"] for row in rows] == [
        1 + sum(c > count for _, c in everyone) for _, count in everyone[:1000]
    ]


def test_pages_of_the_ranking_join_into_the_whole_ranking(served: Served, store: Store) -> None:
    metric = Metric.UPVOTES_GIVEN
    whole: list[dict[str, Any]] = []
    for offset in range(0, store.load_ranked_total(metric) + 7, 7):
        _, body = served.get_json(f"/api/v1/ranking/{metric.value}?limit=7&offset={offset}")
        assert isinstance(body, dict)
        whole += body["rows"]
    _, body = served.get_json(f"/api/v1/ranking/{metric.value}?limit=1000")
    assert isinstance(body, dict) and whole[:1000] == body["rows"]


def test_the_status_has_the_checkpoint_its_lag_and_the_totals(served: Served, store: Store) -> None:
    _, body = served.get_json("/api/v1/status")
    checkpoint = store.load_checkpoint()
    assert checkpoint is not None and isinstance(body, dict)
    assert set(body) == {"checkpoint", "lag_seconds", "totals"}
    assert body["checkpoint"] == {"block": checkpoint.block_num, "time": _iso(checkpoint.block_time)}
    assert type(body["lag_seconds"]) is int and body["lag_seconds"] > 0
    assert body["totals"]["ranked"] == {metric.value: store.load_ranked_total(metric) for metric in Metric}
    assert body["totals"]["badges"] == store.outbox.load_summary()["badges"]
    assert body["totals"]["opted_out"] == 1


@pytest.mark.parametrize(("behind", "status"), [(60, 200), (600, 200), (601, 503)])
def test_healthz_is_200_while_the_checkpoint_is_within_max_lag_of_now(
    config: Config, store: Store, behind: int, status: int
) -> None:
    checkpoint = store.load_checkpoint()
    assert checkpoint is not None and config.web.max_lag == 600
    for served in serve(config, clock=lambda: checkpoint.block_time + behind):
        assert served.get("/healthz")[0] == status


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1/status",
        "/@nobody-at-all",
        "/ranking/posts",
        "/badges/posts/5.png",
        "/style.css",
        "/nope",
    ],
)
def test_every_answer_forbids_scripts_and_other_hosts(served: Served, path: str) -> None:
    _, headers, _ = served.get(path)
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"


def test_text_in_a_request_reaches_a_page_escaped(served: Served) -> None:
    status, _, body = served.get("/@%3Cscript%3Ealert(1)")
    assert status == 400
    assert b"<script>" not in body and b"&lt;script&gt;" in body


@pytest.mark.parametrize("metric", list(Metric))
def test_each_thresholds_badge_is_a_png_front_ends_can_show(
    served: Served, config: Config, metric: Metric
) -> None:
    for threshold in config.badges[metric]:
        status, headers, body = served.get(f"/badges/{metric.value}/{threshold}.png")
        assert status == 200 and headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(body)).size == (160, 160)
    assert served.get(f"/badges/{metric.value}/7.png")[0] == 404


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
