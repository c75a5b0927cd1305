"""The store's database seam (:mod:`bot.db`): what holds on PostgreSQL beyond the store's own tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bot.db import PostgresUrl, connect_postgres, postgres_sql
from bot.errors import StoreError


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections (the kernel completes them) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_is_given_up_after_the_connect_timeout(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.db.CONNECT_TIMEOUT", 1)
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot connect to the bot's store"):
        connect_postgres(PostgresUrl(f"postgresql://bot@127.0.0.1:{silent_server}/badges"), purpose="test")
    assert time.monotonic() - started < 10  # libpq's own default waits ~2 minutes


def test_a_connect_timeout_in_the_url_is_kept(silent_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.db.CONNECT_TIMEOUT", 30)
    started = time.monotonic()
    with pytest.raises(StoreError):
        connect_postgres(
            PostgresUrl(f"postgresql://bot@127.0.0.1:{silent_server}/badges?connect_timeout=2"),
            purpose="test",
        )
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("portable", "postgresql"),
    [
        ("SELECT a FROM t WHERE b = ? AND c IN (?, ?)", "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"),
        ("WITH w(x) AS (SELECT value FROM json_each(?1)) SELECT ?2", "WITH w(x) AS (SELECT value FROM "
         "json_array_elements_text(CAST($1 AS json))) SELECT $2"),
        ("SELECT value ->> 0 FROM json_each(?)", "SELECT value ->> 0 FROM json_array_elements(CAST($1 AS json))"),
        ("SELECT json((SELECT coalesce(json_group_array(json_array(a, b)), '[]') FROM t))",
         "SELECT ((SELECT coalesce(json_agg(json_build_array(a, b)), '[]') FROM t))"),
    ],
)  # fmt: skip
def test_the_portable_sql_is_rewritten_for_postgresql_as_the_module_says(
    portable: str, postgresql: str
) -> None:
    assert postgres_sql(portable) == postgresql
