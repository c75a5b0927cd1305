"""Tests for bot.logs: rendering, level filtering, the stdlib bridge; secrets never reach the output."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from bot.config import LogSettings
from bot.logs import REDACTED, configure_logging, redact_secrets

# A well-known example WIF from the Bitcoin wiki: looks exactly like a private key, guards nothing.
WIF = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
NOISY = ["beem", "beemapi", "beembase", "beemgraphenebase", "urllib3", "apscheduler"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put structlog and the stdlib loggers back afterwards."""
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in NOISY}
    yield
    structlog.reset_defaults()
    for handler in [handler for handler in root.handlers if handler not in handlers]:
        root.removeHandler(handler)
    root.setLevel(root_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def configured(format: str = "auto", level: str = "info", stream: io.StringIO | None = None) -> io.StringIO:
    stream = io.StringIO() if stream is None else stream
    configure_logging(LogSettings(format=format, level=level), stream)  # type: ignore[arg-type]
    return stream


# --- rendering ----------------------------------------------------------------------------------------------


def test_json_lines_when_the_stream_is_not_a_tty() -> None:
    stream = configured(format="auto")

    structlog.get_logger("bot.follower").info("batch done", first=10, last=19, dry_run=True)

    [line] = json_lines(stream)
    assert line["event"] == "batch done"
    assert line["level"] == "info"
    assert line["logger"] == "bot.follower"
    assert (line["first"], line["last"], line["dry_run"]) == (10, 19, True)
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("format", "stream_type", "is_json"),
    [
        ("auto", io.StringIO, True),
        ("auto", FakeTerminal, False),
        ("json", FakeTerminal, True),
        ("console", io.StringIO, False),
    ],
)
def test_format_follows_the_setting_and_the_stream(
    format: str, stream_type: type[io.StringIO], is_json: bool
) -> None:
    stream = configured(format=format, stream=stream_type())

    structlog.get_logger("bot.test").info("hello", answer=42)

    output = stream.getvalue()
    assert "hello" in output
    if is_json:
        assert json_lines(stream)[0]["answer"] == 42
    else:
        assert "answer=42" in ANSI_ESCAPE.sub("", output)
        assert ("\x1b[" in output) is (stream_type is FakeTerminal)
        with pytest.raises(json.JSONDecodeError):
            json.loads(output.splitlines()[0])


def test_context_bound_with_contextvars_is_included() -> None:
    stream = configured(format="json")

    with structlog.contextvars.bound_contextvars(block=93_000_000):
        structlog.get_logger("bot.test").info("vote counted")

    assert json_lines(stream)[0]["block"] == 93_000_000


def test_exceptions_are_rendered_in_the_json_line() -> None:
    stream = configured(format="json")

    try:
        raise RuntimeError("node fell over")
    except RuntimeError:
        structlog.get_logger("bot.test").exception("batch failed")

    [line] = json_lines(stream)
    assert line["level"] == "error"
    assert "RuntimeError: node fell over" in line["exception"]


# --- level filtering ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("debug", ["debug", "info", "warning", "error"]),
        ("info", ["info", "warning", "error"]),
        ("warning", ["warning", "error"]),
        ("error", ["error"]),
    ],
)
def test_events_below_the_configured_level_are_dropped(level: str, expected: list[str]) -> None:
    configured(level=level)
    log = structlog.get_logger("bot.test")

    with capture_logs() as captured:
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")

    assert [entry["log_level"] for entry in captured] == expected


def test_reconfiguring_applies_to_loggers_made_before() -> None:
    log = structlog.get_logger("bot.test")
    first = configured(level="error")
    log.info("dropped")
    second = configured(level="info")

    log.info("kept")

    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["kept"]


# --- the standard library bridge ----------------------------------------------------------------------------


def test_stdlib_warnings_reach_the_same_stream_as_json() -> None:
    stream = configured(format="json")

    logging.getLogger("some.library").warning("job %s missed", "drain")
    logging.getLogger("some.library").info("not shown")

    [line] = json_lines(stream)
    assert line["event"] == "job drain missed"
    assert line["level"] == "warning"
    assert line["logger"] == "some.library"
    assert "timestamp" in line


@pytest.mark.parametrize(
    "name", ["beem", "beemapi.graphenerpc", "beemgraphenebase", "urllib3.connectionpool"]
)
def test_noisy_libraries_are_held_to_error(name: str) -> None:
    stream = configured(format="json", level="debug")

    logging.getLogger(name).warning("retrying node")
    logging.getLogger(name).error("node gave up")

    assert [line["event"] for line in json_lines(stream)] == ["node gave up"]


def test_reconfiguring_replaces_the_stdlib_handler() -> None:
    first = configured(format="json")
    second = configured(format="json")

    logging.getLogger("some.library").warning("once")

    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


# --- redaction ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("posting_key", WIF, REDACTED),
        ("posting_key", "anything at all", REDACTED),
        ("active_key", None, REDACTED),
        ("KEY", "x", REDACTED),
        ("password", "hunter2", REDACTED),
        ("client_secret", "s", REDACTED),
        ("wif", "x", REDACTED),
        ("memo", WIF, REDACTED),
        ("memo", f"key is {WIF}, oops", f"key is {REDACTED}, oops"),
        ("args", [1, WIF], [1, REDACTED]),
        (
            "op",
            {"account": "alice", "wif": "x", "note": WIF},
            {"account": "alice", "wif": REDACTED, "note": REDACTED},
        ),
        ("error", ValueError(f"bad key {WIF}"), f"ValueError('bad key {REDACTED}')"),
        ("account", "alice", "alice"),
        ("block", 93_000_000, 93_000_000),
        ("permlink", "re-" + WIF.lower(), "re-" + WIF.lower()),
        ("tx_id", "5" * 40, "5" * 40),
        ("long_base58", "x" + WIF, "x" + WIF),
    ],
)
def test_redact_secrets_hides_secret_names_and_wif_looking_values(
    field: str, value: object, shown: object
) -> None:
    event = redact_secrets(None, "info", {"event": "something", field: value})

    assert event == {"event": "something", field: shown}


def test_posting_key_field_never_reaches_the_output() -> None:
    stream = configured(format="json")

    structlog.get_logger("bot.test").info("signing", posting_key=WIF, account="badge-bot")

    [line] = json_lines(stream)
    assert line["posting_key"] == REDACTED
    assert line["account"] == "badge-bot"
    assert WIF not in stream.getvalue()


@pytest.mark.parametrize("format", ["json", "console"])
def test_wif_looking_value_is_redacted_in_every_format(format: str) -> None:
    stream = configured(format=format)

    structlog.get_logger("bot.test").warning("broadcast failed", reply=f"oops {WIF}")

    assert WIF not in stream.getvalue()
    assert REDACTED in stream.getvalue()


def test_wif_in_an_exception_traceback_is_redacted() -> None:
    stream = configured(format="json")

    try:
        raise ValueError(f"invalid private key {WIF}")
    except ValueError:
        structlog.get_logger("bot.test").exception("could not sign")

    assert WIF not in stream.getvalue()
    assert f"invalid private key {REDACTED}" in json_lines(stream)[0]["exception"]


def test_wif_in_a_stdlib_message_is_redacted() -> None:
    stream = configured(format="json")

    logging.getLogger("beem.wallet").error("cannot use key %s", WIF)

    assert WIF not in stream.getvalue()
    assert json_lines(stream)[0]["event"] == f"cannot use key {REDACTED}"
