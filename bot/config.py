"""Load and validate the bot's YAML configuration.

`load_config` returns a complete, validated `Config` or raises `ConfigError`; nothing is half-loaded.
An error names the file and the dotted key at fault, e.g.::

    config/bot.yaml: badges.posts.thresholds: must be a strictly increasing list of positive integers, ...

Validation is table-driven: each mapping in the file has a schema, a table from key name to a `_Key`
(a parser, and whether the key is required). Optional keys that are absent are not passed on, so the
dataclass field default is the one place a default lives. Adding a setting is one field on a dataclass
plus one row in its schema.

The posting key is never read here: the file holds only the NAME of the environment variable that holds it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias, TypeGuard
from urllib.parse import urlsplit

import yaml

from bot.accounts import account_name_problem
from bot.badges import BadgeRules
from bot.errors import BotError
from bot.history import MAX_PAGE
from bot.lease import TAKEOVER, Terms
from bot.location import Location, PostgresUrl, is_postgres
from bot.manners import DEFAULT_CUSTOM_JSON_ID
from bot.metrics import Metric, Occasion
from bot.notifications import BirthdayTemplates, Templates, link_board, template_problem
from bot.tallies import CountingRules

__all__ = [
    "PRIVATE_KEY_PATTERN",
    "ChainSettings",
    "Config",
    "ConfigError",
    "HaSettings",
    "HistorySettings",
    "LogFormat",
    "LogLevel",
    "LogSettings",
    "MetricsSettings",
    "NotificationSettings",
    "WebSettings",
    "load_config",
]

LogFormat: TypeAlias = Literal["auto", "console", "json"]
LogLevel: TypeAlias = Literal["debug", "info", "warning", "error"]

_BASE58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

PRIVATE_KEY_PATTERN: Final = re.compile(rf"(?<![{_BASE58}])5[HJK][{_BASE58}]{{49}}(?![{_BASE58}])")
"""Finds text that looks like a WIF private key, alone or inside a string: 51 base58 characters
starting with '5H', '5J' or '5K', as every Hive private key in WIF does. (The capital letter keeps
lowercase permlinks from matching.)"""


class ConfigError(BotError):
    """The config file is missing, unreadable or invalid; `str()` names the file and, if known, the key."""

    def __init__(self, path: Path, message: str, key: str | None = None) -> None:
        super().__init__(path, message, key)
        self.path = path
        self.message = message
        self.key = key

    def __str__(self) -> str:
        if self.key is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}: {self.key}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainSettings:
    """How the bot talks to Hive nodes. Durations are in seconds."""

    batch_size: int = 1000
    poll_interval: float = 3.0
    request_timeout: float = 10.0
    max_backoff: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    """`format: auto` renders for humans on a terminal and JSON lines otherwise."""

    format: LogFormat = "auto"
    level: LogLevel = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorySettings:
    """How lifetime counts are read from account history (``bootstrap: history``)."""

    calls_per_second: float = 2.0
    """The node budget: calls a second the baseline job makes to each node at most (the follower and the
    poster are not held to it). Two, as one node was asked before the budget was per node: a public node
    sees no more of the bot than it did, and each node added adds its two calls a second."""
    nodes: tuple[str, ...] | None = None
    """The nodes that serve history, some of ``nodes`` (None: all of them)."""
    in_flight: int = 16
    """Pages read at once (one per account): enough to keep four nodes at two calls a second busy when a
    page takes up to two seconds to come (``benchmarks/backlog.py``'s sweep: 8 fall to 1.11x the lower
    bound at 1 s a page, 16 keep to 1.01x)."""
    page_size: int = MAX_PAGE
    """Entries asked per call (hived answers at most :data:`~bot.history.MAX_PAGE`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationSettings:
    """When and how badge notifications are posted. Durations are in seconds (the YAML may say "30d")."""

    max_post_age: float = 30 * 86_400
    """Reply only to a root post younger than this; otherwise wait until the account posts again."""
    min_interval: float = 3.0
    """Chain seconds between two of the bot's comments (the chain allows one every 3 s)."""
    per_account_interval: float = 86_400
    """At most one notification per account in this time; later badges join the waiting one."""
    digest_interval: float = 7 * 86_400
    """For an account on a digest (``{"digest": "weekly"}``, :mod:`bot.manners`): at most one notification in
    this time, a week unless set; ``per_account_interval`` stays the floor."""
    max_crossing_age: float = 86_400
    """A badge found this long (chain time) after it was earned is recorded, not announced."""
    rc_reserve: float = 10.0
    """Percent of the bot's resource credits kept in reserve: below it, posting pauses."""
    max_attempts: int = 10
    """Failed broadcasts of one notification before it is parked (shown by ``status``)."""
    expiration: float = 600.0
    """How far in chain time a broadcast transaction stays valid (hived allows up to 3600 s)."""
    ignore: frozenset[str] = frozenset()
    """Accounts never notified (the bot's own account never is, listed or not)."""
    decline_payout: bool = False
    custom_json_id: str = DEFAULT_CUSTOM_JSON_ID
    """The id of the ``custom_json`` operations by which accounts opt out or in (see :mod:`bot.manners`)."""
    beneficiaries: tuple[tuple[str, int], ...] = ()
    """(account, weight in 1/100 %) pairs, sorted by account, for the bot's comments."""
    templates: Templates = field(default_factory=Templates)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """The board and the ranking (``hive-badge-bot serve``)."""

    listen: tuple[str, int] = ("127.0.0.1", 8080)
    """Host and port the web app listens on (written "127.0.0.1:8080")."""
    public_url: str | None = None
    """Where people reach the board (no trailing '/'); when set, notifications link to it."""
    max_lag: float = 300.0
    """``/healthz`` answers 503 once the store's checkpoint is older than this (its block time)."""
    replica: PostgresUrl | None = None
    """A read replica (a hot standby) of a PostgreSQL store, read instead of ``store`` by ``serve``; the
    bots always write to ``store``. It lags its primary: the board shows the checkpoint it has replayed
    (``/healthz`` counts the lag in)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSettings:
    """The daemon's own Prometheus metrics (``serve`` answers ``/metrics`` on its own address)."""

    listen: tuple[str, int] | None = None
    """Host and port ``run`` serves ``GET /metrics`` on (written "127.0.0.1:9464"); None: not served."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HaSettings:
    """Active/standby: several ``run`` processes on one PostgreSQL store, one of them active (:mod:`bot.lease`).
    Only for a PostgreSQL store: on SQLite the store's lock file already keeps to one bot, and ``ha:`` there
    is an error rather than a setting silently unused."""

    takeover: float = TAKEOVER
    """The lease's duration: a standby takes over within it when the active process dies or freezes."""
    holder: str | None = None
    """This process's name in the lease (``status`` shows it). None: ``<hostname>:<pid>``, unique to the
    process, so that two bots on one machine never take each other's lease for their own (a process takes
    a lease of its own name at once). A fixed name per host would let a restarted process fence its
    earlier self without waiting for its lease to run out; a clean stop releases the lease anyway."""

    @property
    def terms(self) -> Terms:
        """The lease's terms: the process stops acting a fifth of the duration before its deadline."""
        return Terms(duration=self.takeover, margin=self.takeover / 5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything in the config file, validated. `store` is absolute; `start_block` None means head."""

    path: Path
    account: str
    nodes: tuple[str, ...]
    posting_key_env: str
    posting_key_file: Path | None = None
    """A file holding the posting key, readable by its owner only; when set, it is used instead of
    ``posting_key_env``."""
    store: Location
    start_block: int | None
    dry_run: bool
    badges: Mapping[Metric, tuple[int, ...]]
    birthday: bool = False
    """Whether accounts earn Hive birthday badges (``badges.birthday.enabled``; off when absent)."""
    count_self_votes: bool = True
    bootstrap: Literal["history", "none"] = "history"
    """``history``: each account's counts start from its lifetime history; ``none``: from start_block."""
    history: HistorySettings = field(default_factory=HistorySettings)
    chain: ChainSettings = field(default_factory=ChainSettings)
    log: LogSettings = field(default_factory=LogSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    web: WebSettings = field(default_factory=WebSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    ha: HaSettings = field(default_factory=HaSettings)

    @property
    def history_nodes(self) -> tuple[str, ...]:
        """The nodes the baseline job reads history from."""
        return self.history.nodes or self.nodes

    @property
    def with_baselines(self) -> bool:
        """Whether accounts get a baseline — their counts from before the bot's first block, read from their
        account history — before they earn badges (``bootstrap: history``)."""
        return self.bootstrap == "history"

    def counting_rules(self) -> CountingRules:
        return CountingRules(count_self_votes=self.count_self_votes)

    def badge_rules(self) -> BadgeRules:
        settings = self.notifications
        return BadgeRules(
            ladders=self.badges,
            bot=self.account,
            ignore=settings.ignore,
            max_crossing_age=settings.max_crossing_age,
            per_account_interval=settings.per_account_interval,
            digest_interval=settings.digest_interval,
            custom_json_id=settings.custom_json_id,
            birthday=self.birthday,
        )


def load_config(path: Path) -> Config:
    """Read and validate the YAML file at `path`; raise `ConfigError` on any problem."""
    raw = _parse_yaml(_read_text(path), path)
    if raw is None:
        raise ConfigError(path, "the file is empty; expected a mapping of settings")
    if not isinstance(raw, dict):
        raise ConfigError(path, f"the top level must be a mapping of settings, got {_show(raw)}")
    try:
        values = _parse_mapping(raw, _CONFIG_SCHEMA, where=None)
    except _Invalid as exc:
        raise ConfigError(path, exc.message, exc.key) from None
    _check_ha(path, raw)
    _check_replica(path, raw)
    config_dir = path.absolute().parent
    values["badges"], values["birthday"] = values["badges"]
    if isinstance(values["store"], Path):
        values["store"] = (config_dir / values["store"]).resolve()
    if "posting_key_file" in values:
        values["posting_key_file"] = (config_dir / values["posting_key_file"]).resolve()
    config = Config(path=path.absolute(), **values)
    _check_history_nodes(config)
    templates = link_board(
        config.notifications.templates, config.web.public_url, default_footer=not _footer_given(raw)
    )
    return replace(config, notifications=replace(config.notifications, templates=templates))


def _check_history_nodes(config: Config) -> None:
    """``history.nodes`` restricts which of ``nodes`` serve history: each must be one of them."""
    known = {url.rstrip("/").lower() for url in config.nodes}
    for index, url in enumerate(config.history.nodes or ()):
        if url.rstrip("/").lower() not in known:
            raise ConfigError(
                config.path,
                f"{_show(url)} is not one of the nodes (history is read from some of `nodes`)",
                f"history.nodes[{index}]",
            )


def _check_ha(path: Path, raw: dict[str, Any]) -> None:
    """``ha`` (validated already) applies to a PostgreSQL store only."""
    if "ha" in raw and not is_postgres(raw["store"]):
        raise ConfigError(
            path,
            "applies to a PostgreSQL store only (store: postgresql://...): on an SQLite file one bot runs "
            "at a time, kept to it by the store's lock file; remove the section",
            "ha",
        )


def _check_replica(path: Path, raw: dict[str, Any]) -> None:
    """``web.replica`` (validated already) is a replica of a PostgreSQL store: an SQLite file has none."""
    if "replica" in (raw.get("web") or {}) and not is_postgres(raw["store"]):
        raise ConfigError(
            path,
            "is a read replica of a PostgreSQL store (store: postgresql://...): an SQLite store has none; "
            "remove it",
            "web.replica",
        )


def _footer_given(raw: dict[str, Any]) -> bool:
    """Whether the file writes a footer (the raw YAML, already validated: sections are mappings or empty)."""
    return "footer" in ((raw.get("notifications") or {}).get("templates") or {})


# --- reading the file ---------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(path, "cannot be read: permission denied") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"is not UTF-8 text (undecodable byte at offset {exc.start})") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot be read: {exc.strerror or exc}") from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects a key written twice in one mapping (plain PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: list[object] = []
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.append(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, path: Path) -> object:
    # The message has the line and the problem but never the offending line's text: it might hold a secret.
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            path, f"invalid YAML{where}: {exc.problem or exc.context or 'syntax error'}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"invalid YAML: {type(exc).__name__}") from None


# --- the schema machinery -----------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value is wrong. `load_config` adds the file name and raises it as a `ConfigError`."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message


_Parser: TypeAlias = Callable[[object, str], Any]
"""Turns a raw YAML value found at a dotted key into its typed value, or raises `_Invalid`."""


@dataclass(frozen=True, slots=True)
class _Key:
    parse: _Parser
    required: bool = True


_Schema: TypeAlias = Mapping[str, _Key]


def _parse_mapping(raw: object, schema: _Schema, where: str | None) -> dict[str, Any]:
    """Check `raw` is a mapping holding only known keys and every required one; parse each value."""
    if not isinstance(raw, dict):
        raise _Invalid(where, f"must be a mapping, got {_show(raw)}")
    for name in raw:
        if not isinstance(name, str):
            raise _Invalid(where, f"keys must be strings, got {_show(name)}")
        if name not in schema:
            raise _Invalid(where, _unknown_key_message(name, schema, where))
    missing = [name for name, key in schema.items() if key.required and name not in raw]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise _Invalid(where, f"missing required key{'s' if len(missing) > 1 else ''} {listed}")
    return {name: schema[name].parse(value, _dotted(where, name)) for name, value in raw.items()}


def _unknown_key_message(name: str, schema: _Schema, where: str | None) -> str:
    message = f"unknown key {name!r}"
    close = difflib.get_close_matches(name, list(schema), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    level = "at the top level" if where is None else f"under {where!r}"
    return f"{message}; valid keys {level}: {', '.join(sorted(schema))}"


def _dotted(where: str | None, name: str) -> str:
    return name if where is None else f"{where}.{name}"


def _show(value: object) -> str:
    """A short rendering of a value for an error message, YAML-flavoured, anything key-like blanked out."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = PRIVATE_KEY_PATTERN.sub("[redacted]", repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def _section(schema: _Schema, build: Callable[..., object], *, optional: bool) -> _Parser:
    """A parser for a nested mapping; an optional section written with nothing under it means all defaults."""

    def parse(value: object, where: str) -> object:
        if value is None and optional:
            value = {}
        return build(**_parse_mapping(value, schema, where))

    return parse


# --- parsers for single values ------------------------------------------------------------------------------


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(low: int, high: int) -> _Parser:
    def parse(value: object, where: str) -> int:
        if _is_int(value) and low <= value <= high:
            return value
        raise _Invalid(where, f"must be a whole number from {low} to {high}, got {_show(value)}")

    return parse


def _number(low: float, high: float) -> _Parser:
    def parse(value: object, where: str) -> float:
        if (_is_int(value) or isinstance(value, float)) and low <= value <= high:
            return float(value)
        raise _Invalid(where, f"must be a number from {low:g} to {high:g}, got {_show(value)}")

    return parse


_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def _duration(low: float, high: float) -> _Parser:
    """Seconds, written as a number or as a number with a unit: "90s", "10m", "24h", "30d"."""

    def parse(value: object, where: str) -> float:
        seconds: float | None = None
        if _is_int(value) or isinstance(value, float):
            seconds = float(value)
        elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())):
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds is not None and low <= seconds <= high:
            return seconds
        raise _Invalid(
            where,
            f"must be a duration from {_show_seconds(low)} to {_show_seconds(high)} "
            f'(seconds, or a number with s, m, h or d: "90s", "24h"), got {_show(value)}',
        )

    return parse


def _show_seconds(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNIT_SECONDS[unit] and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds / _UNIT_SECONDS[unit]:g}{unit}"
    return f"{seconds:g}s"


def _choice(*choices: str) -> _Parser:
    def parse(value: object, where: str) -> str:
        if value not in choices:
            raise _Invalid(where, f"must be one of {', '.join(map(repr, choices))}, got {_show(value)}")
        return str(value)

    return parse


def _boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(where, f"must be true or false, got {_show(value)}")
    return value


def _custom_json_id(value: object, where: str) -> str:
    """hived refuses an id longer than 32 characters (HIVE_CUSTOM_OP_ID_MAX_LENGTH)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 32 or value != value.strip():
        raise _Invalid(
            where, f"must be a custom_json id (1 to 32 characters, no spaces around), got {_show(value)}"
        )
    return value


def _account(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(where, f"must be a Hive account name, got {_show(value)}")
    problem = account_name_problem(value)
    if problem is not None:
        raise _Invalid(where, f"must be a Hive account name: {problem}, got {_show(value)}")
    return value


def _accounts(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list):
        raise _Invalid(where, f"must be a list of Hive account names, got {_show(value)}")
    return frozenset(_account(item, f"{where}[{index}]") for index, item in enumerate(value))


_BENEFICIARY_SCHEMA: Final[_Schema] = {
    "account": _Key(_account),
    "weight": _Key(_integer(1, 10_000)),
}


def _beneficiaries(value: object, where: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list):
        raise _Invalid(where, f"must be a list of {{account, weight}} mappings, got {_show(value)}")
    pairs = [_parse_mapping(item, _BENEFICIARY_SCHEMA, f"{where}[{i}]") for i, item in enumerate(value)]
    accounts = [pair["account"] for pair in pairs]
    if len(set(accounts)) != len(accounts):
        raise _Invalid(where, "each account may be listed once")
    if sum(pair["weight"] for pair in pairs) > 10_000:
        raise _Invalid(where, "the weights add up to more than 10000 (100 %)")
    return tuple(sorted((pair["account"], pair["weight"]) for pair in pairs))


def _template(kind: str) -> _Parser:
    def parse(value: object, where: str) -> str:
        if not isinstance(value, str):
            raise _Invalid(where, f"must be a text, got {_show(value)}")
        problem = template_problem(kind, value)
        if problem is not None:
            raise _Invalid(where, problem)
        return value

    return parse


def _nodes(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid(
            where, f"must be a non-empty list of http:// or https:// node URLs, got {_show(value)}"
        )
    seen: set[str] = set()
    for index, url in enumerate(value):
        item = f"{where}[{index}]"
        _check_url(url, item, websocket_hint=True)
        normalized = url.rstrip("/").lower()
        if normalized in seen:
            raise _Invalid(item, f"duplicate node {_show(url)}")
        seen.add(normalized)
    return tuple(value)


def _check_url(url: object, where: str, *, websocket_hint: bool = False) -> None:
    if not isinstance(url, str) or any(char.isspace() for char in url):
        raise _Invalid(where, f"must be an http:// or https:// URL, got {_show(url)}")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise _Invalid(where, f"must be a well-formed URL, got {_show(url)}") from None
    if websocket_hint and parts.scheme in ("ws", "wss"):
        raise _Invalid(
            where, f"websocket nodes are not supported (use the node's https:// URL), got {_show(url)}"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Invalid(where, f"must be an http:// or https:// URL, got {_show(url)}")


_ENV_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]*")


def _posting_key_env(value: object, where: str) -> str:
    # The value is never echoed: if it is not a variable name it may be a secret pasted by mistake.
    if not isinstance(value, str):
        raise _Invalid(where, "must be the NAME of an environment variable (a string)")
    if PRIVATE_KEY_PATTERN.fullmatch(value) or value.startswith("STM"):
        raise _Invalid(
            where,
            "this looks like a key itself. Put the NAME of an environment variable here "
            "(e.g. HIVE_BADGE_BOT_POSTING_KEY) and the posting key in that variable: "
            "the key itself must never be in the YAML file. "
            "If a real private key was written there, treat it as leaked and change it.",
        )
    if not _ENV_NAME.fullmatch(value):
        raise _Invalid(
            where,
            "must be the NAME of an environment variable: uppercase letters, digits and '_', "
            f"not starting with a digit (got a {len(value)}-character string, not shown)",
        )
    return value


def _store(value: object, where: str) -> Location:
    """An SQLite file's path, or a PostgreSQL URL (:func:`_postgres_url`)."""
    if isinstance(value, str) and is_postgres(value):
        return _postgres_url(value, where)
    return _path(value, where, "the SQLite file, or a postgresql:// URL")


def _replica(value: object, where: str) -> PostgresUrl:
    if isinstance(value, str) and is_postgres(value):
        return _postgres_url(value, where)
    raise _Invalid(where, f"must be a postgresql://user@host/db URL of a read replica, got {_show(value)}")


def _postgres_url(value: str, where: str) -> PostgresUrl:
    """A PostgreSQL URL (``postgresql://`` or ``postgres://``, libpq's), kept as written. A password in
    the URL is refused: it would sit in the YAML (libpq reads ``PGPASSWORD``, ``~/.pgpass`` or a service
    file instead)."""
    url = PostgresUrl(value)
    if urlsplit(value).password is not None:
        raise _Invalid(
            where,
            f"must not hold a password ({url}): give it to libpq with PGPASSWORD, ~/.pgpass or a "
            "service file (README, 'PostgreSQL')",
        )
    return url


def _key_file(value: object, where: str) -> Path:
    return _path(value, where, "a file holding the posting key (mode 600)")


def _path(value: object, where: str, what: str) -> Path:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise _Invalid(where, f"must be the path of {what}, got {_show(value)}")
    return Path(value).expanduser()


def _start_block(value: object, where: str) -> int | None:
    if value == "head":
        return None
    if _is_int(value) and value >= 1:
        return value
    raise _Invalid(where, f"must be 'head' or a positive block number, got {_show(value)}")


def _thresholds(value: object, where: str) -> tuple[int, ...]:
    if isinstance(value, list) and value and _are_increasing_positive_ints(value):
        return tuple(value)
    raise _Invalid(where, f"must be a strictly increasing list of positive integers, got {_show(value)}")


def _are_increasing_positive_ints(items: list[object]) -> bool:
    previous = 0
    for item in items:
        if not _is_int(item) or item <= previous:
            return False
        previous = item
    return True


# --- the schemas --------------------------------------------------------------------------------------------

_CHAIN_SCHEMA: Final[_Schema] = {
    "batch_size": _Key(_integer(1, 1000), required=False),
    "poll_interval": _Key(_number(0.1, 60.0), required=False),
    "request_timeout": _Key(_number(0.5, 120.0), required=False),
    "max_backoff": _Key(_number(1.0, 3600.0), required=False),
}

_LOG_SCHEMA: Final[_Schema] = {
    "format": _Key(_choice("auto", "console", "json"), required=False),
    "level": _Key(_choice("debug", "info", "warning", "error"), required=False),
}

_PER_METRIC_TEMPLATE_SCHEMAS: Final[Mapping[str, _Schema]] = {
    kind: {metric.value: _Key(_template(kind), required=False) for metric in Metric}
    for kind in ("badge", "next_target")
}


def _per_metric_templates(kind: str, defaults: Mapping[Metric, str]) -> _Parser:
    def parse(value: object, where: str) -> Mapping[Metric, str]:
        given = _parse_mapping({} if value is None else value, _PER_METRIC_TEMPLATE_SCHEMAS[kind], where)
        return MappingProxyType({metric: given.get(metric.value, defaults[metric]) for metric in Metric})

    return parse


_BIRTHDAY_TEMPLATES_SCHEMA: Final[_Schema] = {
    "one": _Key(_template("birthday"), required=False),
    "other": _Key(_template("birthday"), required=False),
}

_TEMPLATES_SCHEMA: Final[_Schema] = {
    "header": _Key(_template("header"), required=False),
    "footer": _Key(_template("footer"), required=False),
    "badge": _Key(_per_metric_templates("badge", Templates().badge), required=False),
    "next_target": _Key(_per_metric_templates("next_target", Templates().next_target), required=False),
    "birthday": _Key(_section(_BIRTHDAY_TEMPLATES_SCHEMA, BirthdayTemplates, optional=True), required=False),
    **{kind: _Key(_template(kind), required=False) for kind in ("board_url", "ranking_url", "image_url")},
}

_HISTORY_SCHEMA: Final[_Schema] = {
    "calls_per_second": _Key(_number(0.01, 100.0), required=False),
    "nodes": _Key(_nodes, required=False),
    "in_flight": _Key(_integer(1, 64), required=False),
    "page_size": _Key(_integer(1, MAX_PAGE), required=False),
}

_NOTIFICATIONS_SCHEMA: Final[_Schema] = {
    "max_post_age": _Key(_duration(60, 365 * 86_400), required=False),
    "min_interval": _Key(_duration(3, 86_400), required=False),
    "per_account_interval": _Key(_duration(0, 365 * 86_400), required=False),
    "digest_interval": _Key(_duration(60, 365 * 86_400), required=False),
    "max_crossing_age": _Key(_duration(0, 365 * 86_400), required=False),
    "rc_reserve": _Key(_number(0, 100), required=False),
    "max_attempts": _Key(_integer(1, 1000), required=False),
    "expiration": _Key(_duration(30, 3600), required=False),
    "ignore": _Key(_accounts, required=False),
    "decline_payout": _Key(_boolean, required=False),
    "custom_json_id": _Key(_custom_json_id, required=False),
    "beneficiaries": _Key(_beneficiaries, required=False),
    "templates": _Key(_section(_TEMPLATES_SCHEMA, Templates, optional=True), required=False),
}


def _listen(value: object, where: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if host and port.isdigit() and 1 <= int(port) <= 65_535 and not any(c.isspace() for c in host):
        return host.strip("[]"), int(port)
    raise _Invalid(where, f'must be "host:port" (e.g. "127.0.0.1:8080"), got {_show(value)}')


def _public_url(value: object, where: str) -> str:
    _check_url(value, where)
    assert isinstance(value, str)
    parts = urlsplit(value)
    if parts.query or parts.fragment or "{" in value or "}" in value:
        raise _Invalid(
            where, f"must be the board's address without ?query, #fragment or braces, got {_show(value)}"
        )
    return value.rstrip("/")


_WEB_SCHEMA: Final[_Schema] = {
    "listen": _Key(_listen, required=False),
    "public_url": _Key(_public_url, required=False),
    "max_lag": _Key(_duration(10, 30 * 86_400), required=False),
    "replica": _Key(_replica, required=False),
}

_METRICS_SCHEMA: Final[_Schema] = {
    "listen": _Key(_listen, required=False),
}


def _takeover(value: object, where: str) -> float:
    seconds: float = _duration(1, 3600)(value, where)
    try:
        _ = HaSettings(takeover=seconds).terms  # the lease's own check of its terms
    except ValueError as exc:
        raise _Invalid(where, str(exc)) from None
    return seconds


def _holder(value: object, where: str) -> str:
    if isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable() and value.strip() == value:
        return value
    raise _Invalid(
        where,
        f"must be this process's name in the lease: 1 to 200 printable characters, "
        f"no space at either end, got {_show(value)}",
    )


_HA_SCHEMA: Final[_Schema] = {
    "takeover": _Key(_takeover, required=False),
    "holder": _Key(_holder, required=False),
}

_LADDER_SCHEMA: Final[_Schema] = {
    "thresholds": _Key(_thresholds),
}


def _ladder(value: object, where: str) -> tuple[int, ...]:
    thresholds: tuple[int, ...] = _parse_mapping(value, _LADDER_SCHEMA, where)["thresholds"]
    return thresholds


OPTIONAL_FAMILIES: Final = frozenset({Metric.REPLIES, Metric.PAYOUT})
"""Badge families added after the first four (``replies``, ``payout``; ``birthday`` is optional too, an
occasion turned on or off): off (no ladder, no badge; still counted and ranked) unless ``badges:`` names
them, so a config written before them keeps its meaning. The first four stay required. A payout ladder is in
whole HP, like every ladder in the unit people read (:func:`bot.metrics.unit`)."""
_OCCASION_SCHEMA: Final[_Schema] = {
    "enabled": _Key(_boolean),
}


def _occasion(value: object, where: str) -> bool:
    enabled: bool = _parse_mapping(value, _OCCASION_SCHEMA, where)["enabled"]
    return enabled


_BADGES_SCHEMA: Final[_Schema] = {
    **{metric.value: _Key(_ladder, required=metric not in OPTIONAL_FAMILIES) for metric in Metric},
    Occasion.BIRTHDAY.value: _Key(_occasion, required=False),
}
"""The ladders, and the occasions: a family without a ladder is turned on or off (``birthday: {enabled:
true}``), off when absent like an optional ladder, so a config written before it keeps its meaning."""


def _badges(value: object, where: str) -> tuple[Mapping[Metric, tuple[int, ...]], bool]:
    """The ladders, and whether the birthday family is on."""
    ladders = _parse_mapping(value, _BADGES_SCHEMA, where)
    birthday = bool(ladders.get(Occasion.BIRTHDAY.value, False))
    return MappingProxyType({metric: ladders.get(metric.value, ()) for metric in Metric}), birthday


_CONFIG_SCHEMA: Final[_Schema] = {
    "account": _Key(_account),
    "nodes": _Key(_nodes),
    "posting_key_env": _Key(_posting_key_env),
    "posting_key_file": _Key(_key_file, required=False),
    "store": _Key(_store),
    "start_block": _Key(_start_block),
    "dry_run": _Key(_boolean),
    "count_self_votes": _Key(_boolean, required=False),
    "bootstrap": _Key(_choice("history", "none"), required=False),
    "history": _Key(_section(_HISTORY_SCHEMA, HistorySettings, optional=True), required=False),
    "chain": _Key(_section(_CHAIN_SCHEMA, ChainSettings, optional=True), required=False),
    "log": _Key(_section(_LOG_SCHEMA, LogSettings, optional=True), required=False),
    "notifications": _Key(
        _section(_NOTIFICATIONS_SCHEMA, NotificationSettings, optional=True), required=False
    ),
    "badges": _Key(_badges),
    "web": _Key(_section(_WEB_SCHEMA, WebSettings, optional=True), required=False),
    "metrics": _Key(_section(_METRICS_SCHEMA, MetricsSettings, optional=True), required=False),
    "ha": _Key(_section(_HA_SCHEMA, HaSettings, optional=True), required=False),
}
