"""Structured logging: structlog configured once, with secrets redacted before anything is rendered.

`configure_logging` sets up two paths to one stream, rendered the same way (console on a terminal, else JSON
lines):

- the bot's own logs (`structlog.get_logger("bot.<module>")`): structlog, filtered at the configured level;
- the standard `logging` module, used by beem, urllib3 and APScheduler: one handler on the root logger
  that passes WARNING and above through the same processors (structlog's `ProcessorFormatter`). beem and
  urllib3 warn about every failed node request, which the bot's chain adapter reports itself, and
  APScheduler about every tick it skips while a long batch is still running (by design: the next tick
  takes over), so they are held to ERROR.

Every event, from either path, goes through `redact_secrets` after exceptions are formatted, before rendering.

Call `configure_logging` once at start-up, before the first log line; calling it again replaces the
configuration (loggers are not cached, so loggers made earlier follow the new one).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from bot.config import PRIVATE_KEY_PATTERN, LogSettings

__all__ = ["REDACTED", "configure_logging", "redact_secrets"]

REDACTED: Final = "[redacted]"

_SECRET_NAME: Final = re.compile(r"key|password|secret|^wif$", re.IGNORECASE)
_STRUCTLOG_META_KEYS: Final = frozenset({"_record", "_from_structlog"})
_NOISY_LIBRARIES: Final = ("beem", "beemapi", "beembase", "beemgraphenebase", "urllib3", "apscheduler")
_LEVELS: Final[Mapping[str, int]] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(settings: LogSettings, stream: TextIO = sys.stderr) -> None:
    """Send all logs to `stream` at `settings.level`, rendered as `settings.format`, secrets redacted."""
    level = _LEVELS[settings.level]
    renderer = _renderer(settings, stream)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *_common_processors(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_NamedWriteLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(renderer, stream, level)


def redact_secrets(_logger: WrappedLogger, _method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: blank out values under secret-sounding names and anything like a WIF key.

    Names containing "key", "password" or "secret", or equal to "wif" (any case), lose their value whatever it
    is; elsewhere, anything that looks like a WIF private key (`bot.config.PRIVATE_KEY_PATTERN`) is replaced,
    inside strings, containers and the repr of other objects alike. It errs on the side of hiding too much.
    """
    return {
        name: value if name in _STRUCTLOG_META_KEYS else _redact_field(name, value)
        for name, value in event_dict.items()
    }


def _redact_field(name: object, value: object) -> object:
    if isinstance(name, str) and _SECRET_NAME.search(name):
        return REDACTED
    return _redact_value(value)


def _redact_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return PRIVATE_KEY_PATTERN.sub(REDACTED, value)
    if isinstance(value, dict):
        return {name: _redact_field(name, item) for name, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    text = repr(value)
    return PRIVATE_KEY_PATTERN.sub(REDACTED, text) if PRIVATE_KEY_PATTERN.search(text) else value


def _common_processors() -> list[Processor]:
    """What both paths do: level, logger name, timestamp, format exceptions, then redact."""
    return [
        structlog.processors.add_log_level,
        _add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


def _add_logger_name(logger: WrappedLogger, _method_name: str, event_dict: EventDict) -> EventDict:
    """Add `logger`: the stdlib record's name, or the name given to `structlog.get_logger`."""
    record = event_dict.get("_record")
    name = record.name if isinstance(record, logging.LogRecord) else getattr(logger, "name", None)
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's line writer, plus the name `structlog.get_logger` was called with."""

    def __init__(self, file: TextIO, name: str | None) -> None:
        super().__init__(file)
        self.name = name


@dataclass(frozen=True, slots=True)
class _NamedWriteLoggerFactory:
    """Makes the writer behind each bound logger; structlog passes it `structlog.get_logger`'s arguments."""

    stream: TextIO

    def __call__(self, *args: object) -> _NamedWriteLogger:
        return _NamedWriteLogger(self.stream, str(args[0]) if args else None)


def _renderer(settings: LogSettings, stream: TextIO) -> Processor:
    is_tty = _is_tty(stream)
    if settings.format == "console" or (settings.format == "auto" and is_tty):
        return structlog.dev.ConsoleRenderer(colors=is_tty)
    return structlog.processors.JSONRenderer()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _StdlibBridge(logging.StreamHandler[TextIO]):
    """The one handler `configure_logging` puts on the root logger; its class lets a later call replace it."""


def _route_stdlib_logging(renderer: Processor, stream: TextIO, level: int) -> None:
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if isinstance(handler, _StdlibBridge)]:
        root.removeHandler(handler)
    bridge = _StdlibBridge(stream)
    bridge.setLevel(max(logging.WARNING, level))
    bridge.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_common_processors(),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root.addHandler(bridge)
    if root.level > bridge.level:
        root.setLevel(bridge.level)
    for name in _NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.ERROR, level))
