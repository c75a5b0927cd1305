"""Boards on a PostgreSQL store: a board whose session the server ended answers the next request, a board
on a real streaming replica (a hot standby made with ``pg_basebackup -R``) serves what the bot wrote on
the primary once replayed and says 503 while its server is down, and two ``hive-badge-bot serve``
processes on one store answer alike."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from structlog.testing import capture_logs

from bot.app import serve_web
from bot.config import Config, load_config
from bot.errors import StoreError
from bot.location import PostgresUrl
from bot.metrics import Metric
from bot.store import Store
from devnet.node import DevNode
from tests.support.chains import FIRST, LAST, bot_config, follow, generated_chain
from tests.support.configs import badges_yaml, write_config
from tests.support.postgres import Cluster, database, free_port, replica, stopped
from tests.support.processes import poll
from tests.support.web import Served, with_badges

MIDDLE = FIRST + 1_499
"""Where the bot has got to when the replica's board first reads its store."""
BOARD = "hive-badge-bot board"
"""The board's ``application_name`` on the server (:func:`bot.db.connect_postgres`)."""


@pytest.fixture(scope="module")
def node() -> Iterator[DevNode]:
    with DevNode(generated_chain(), head=LAST + 1, irreversible_lag=1) as started:
        yield started


@pytest.fixture(scope="module")
def standby(postgres_cluster: Cluster) -> Iterator[Cluster]:
    """A hot standby of the session's throw-away cluster, streaming from it."""
    with replica(postgres_cluster) as started:
        yield started


@pytest.fixture(scope="module")
def filled(postgres_cluster: Cluster, node: DevNode) -> Iterator[PostgresUrl]:
    """A database of the module's on the cluster, the follower's counts of FIRST … LAST in it."""
    with database(postgres_cluster.url) as url:
        follow([node.url], PostgresUrl(url), stop_at=LAST)
        yield PostgresUrl(url)


def board_config(directory: Path, node: DevNode, store: str, **web: object) -> Config:
    ladders = bot_config([node.url], directory / "unused.sqlite").badges
    badges = badges_yaml(ladders)
    return load_config(write_config(directory, [node.url], store=store, badges=badges, web=web))


def on(server: Cluster, database_url: str) -> str:
    """``database_url``'s database on ``server``."""
    return urlsplit(server.url)._replace(path=urlsplit(database_url).path).geturl()


def fresh_clock(store: PostgresUrl) -> float:
    """A "now" one minute after the checkpoint's block time: ``/healthz`` says ok while the store is read."""
    with Store.open_read_only(store) as opened:
        checkpoint = opened.load_checkpoint()
    assert checkpoint is not None
    return checkpoint.block_time + 60.0


def served_checkpoint(board: Served) -> object:
    status, body = board.get_json("/api/v1/status")
    return body["checkpoint"]["block"] if status == 200 and isinstance(body, dict) else None


def test_a_board_whose_session_the_server_ended_answers_the_next_request_on_a_new_one(
    filled: PostgresUrl, node: DevNode, tmp_path: Path
) -> None:
    config = board_config(tmp_path, node, filled.url)
    with serve_web(config) as url, psycopg.connect(filled.url, autocommit=True) as admin:
        board = Served(url, config)
        before = board.get_json("/api/v1/ranking/upvotes_received")
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s "
            "AND datname = current_database()",
            (BOARD,),
        ).fetchone()
        assert ended == (1,)
        assert board.get_json("/api/v1/ranking/upvotes_received") == before
        assert before[0] == 200


def test_a_board_on_a_replica_serves_what_the_bot_wrote_on_the_primary_once_replayed(
    postgres_cluster: Cluster, standby: Cluster, node: DevNode, tmp_path: Path
) -> None:
    with database(postgres_cluster.url) as primary:
        follow([node.url], PostgresUrl(primary), stop_at=MIDDLE)
        config = board_config(tmp_path, node, primary, replica=on(standby, primary))
        with (
            serve_web(config) as url,
            serve_web(replace(config, web=replace(config.web, replica=None))) as at_primary,
        ):
            board, primary_board = Served(url, config), Served(at_primary, config)
            poll(lambda: served_checkpoint(board) == MIDDLE, "the replica's board to show the first blocks")
            with psycopg.connect(on(standby, primary), autocommit=True) as replica_server:
                sessions = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                assert replica_server.execute(sessions, (BOARD,)).fetchone() == (1,)
                assert replica_server.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            follow([node.url], PostgresUrl(primary), stop_at=LAST, start=MIDDLE + 1)
            poll(lambda: served_checkpoint(board) == LAST, "the replica's board to show the later blocks")
            with Store.open_read_only(PostgresUrl(primary)) as store:
                account = with_badges(store)
            for path in ("/api/v1/ranking/upvotes_received?limit=1000", f"/api/v1/accounts/{account}",
                         "/ranking/comments", f"/@{account}"):  # fmt: skip
                assert board.get(path)[::2] == primary_board.get(path)[::2], path


def test_a_board_says_503_while_its_server_is_down_and_answers_again_once_it_is_back(
    postgres_cluster: Cluster, standby: Cluster, filled: PostgresUrl, node: DevNode, tmp_path: Path
) -> None:
    replica_url = on(standby, filled.url)
    poll(lambda: _replayed(replica_url) == LAST, "the replica to replay the module's database")
    now = fresh_clock(filled)
    config = board_config(tmp_path, node, filled.url, replica=replica_url)
    with serve_web(config, clock=lambda: now) as url:
        board = Served(url, config)
        assert board.get("/healthz")[::2] == (200, b"ok: checkpoint 60 s behind\n")
        with stopped(standby), capture_logs() as logs:
            assert board.get("/healthz")[::2] == (503, b"unavailable: cannot read the bot's store now\n")
            status, body = board.get_json("/api/v1/status")
            page_status, _, page = board.get("/ranking/posts")
        assert (status, body) == (
            503,
            {"error": "The board cannot read the bot's store now; try again soon."},
        )
        assert page_status == 503 and b"try again soon" in page
        assert [line["event"] for line in logs] == ["store_unavailable"] * 3
        assert standby.url.split("@")[1].split("/")[0] in logs[0]["error"]
        assert board.get("/healthz")[::2] == (200, b"ok: checkpoint 60 s behind\n")


def _replayed(url: str) -> int | None:
    """The checkpoint the replica at ``url`` has replayed; None before it has the store."""
    try:
        with Store.open_read_only(PostgresUrl(url)) as store:
            checkpoint = store.load_checkpoint()
    except StoreError:  # not there yet: the database or its schema is still being replayed
        return None
    return None if checkpoint is None else checkpoint.block_num


def test_two_serve_processes_on_one_postgresql_store_answer_the_same_board_and_ranking(
    filled: PostgresUrl, node: DevNode, tmp_path: Path
) -> None:
    boards: list[Served] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("one", "two"):
            directory = tmp_path / name
            directory.mkdir()
            listen = f"127.0.0.1:{free_port()}"
            config = board_config(directory, node, filled.url, listen=listen)
            command = Path(sys.executable).with_name("hive-badge-bot")
            processes.append(subprocess.Popen([str(command), "serve", "--config", str(config.path)]))
            boards.append(Served(f"http://{listen}", config))
        for board in boards:
            poll(lambda board=board: _answers(board), f"{board.url} to answer", every=0.1)  # type: ignore[misc]
        with Store.open_read_only(filled) as store:
            account = with_badges(store)
            top = store.load_ranking(Metric.UPVOTES_RECEIVED, 3)
        paths = ["/api/v1/ranking/upvotes_received?limit=1000", f"/api/v1/accounts/{account}",
                 "/ranking/upvotes_given?offset=50", f"/@{account}"]  # fmt: skip
        for path in paths:
            first, second = (board.get(path) for board in boards)
            assert first[0] == 200 and (first[0], first[2]) == (second[0], second[2]), path
        statuses = [board.get_json("/api/v1/status")[1] for board in boards]
        for status_answer in statuses:
            assert isinstance(status_answer, dict)
            del status_answer["lag_seconds"]  # seconds of the wall clock: each process reads its own
        assert statuses[0] == statuses[1]
        assert statuses[0]["checkpoint"]["block"] == LAST  # type: ignore[index]
        status, ranking = boards[0].get_json("/api/v1/ranking/upvotes_received?limit=3")
        assert status == 200
        assert [(row["account"], row["count"]) for row in ranking["rows"]] == top  # type: ignore[index]
    finally:
        for process in processes:
            process.terminate()
        assert [process.wait(10) for process in processes] == [0, 0]


def _answers(board: Served) -> bool:
    try:
        return board.get("/api/v1/status")[0] == 200
    except OSError:
        return False
