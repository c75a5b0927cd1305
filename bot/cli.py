"""The command line: ``hive-badge-bot run | serve | status | account | ranking | optout | backup | migrate |
bootstrap | demo | check-config``.

Exit codes: 0 success, 1 the bot could not do its job (store unusable, nodes unreachable …),
2 the config or the command line is wrong.
"""

from __future__ import annotations

import argparse
import datetime
import json
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.accounts import account_name_problem
from bot.app import build_baseline_job, chain_client, history_budget, open_web, run_daemon
from bot.baselines import Baseline
from bot.config import Config, ConfigError, load_config
from bot.daemon import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from bot.db import Location, PostgresUrl, is_postgres
from bot.errors import BotError, ChainError, PostingKeyError, StoreLockedError
from bot.logs import configure_logging
from bot.metrics import FAMILIES, Family, Metric, Occasion, count_json, shown, shown_threshold
from bot.migrate import MigrationReport, migrate, without_password
from bot.optouts import ALL, SOURCE_WORDS, parse_family
from bot.outbox import Manners
from bot.standby import load_lease
from bot.store import Store, lock_store
from bot.web.board import Board, load_board, make_board, manners_json

DEFAULT_CONFIG = Path("config/bot.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is demo_command:  # needs no config file
        return int(demo_command(args))
    try:
        config = load_config(args.config)
        configure_logging(config.log)
        command: Callable[[Config, argparse.Namespace], int] = args.command
        return command(config, args)
    except (ConfigError, PostingKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"the YAML config file (default: {DEFAULT_CONFIG})",
    )
    parser = argparse.ArgumentParser(prog="hive-badge-bot", description="A Hive badge bot.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="follow the chain and count (the daemon)")
    run.add_argument("--stop-at-block", type=_positive, metavar="N", help="exit 0 once block N is processed")
    run.set_defaults(command=run_command)

    serve = commands.add_parser(
        "serve", parents=[common], help="the board and the ranking: web pages and a JSON API over the store"
    )
    serve.set_defaults(command=serve_command)

    status = commands.add_parser("status", parents=[common], help="checkpoint, lag, accounts, store size")
    status.add_argument("--json", action="store_true")
    status.set_defaults(command=status_command)

    account = commands.add_parser("account", parents=[common], help="one account's counts")
    account.add_argument("name")
    account.add_argument("--json", action="store_true")
    account.set_defaults(command=account_command)

    ranking = commands.add_parser("ranking", parents=[common], help="accounts by count")
    ranking.add_argument("--metric", required=True, choices=[m.value for m in Metric])
    ranking.add_argument("--limit", type=_non_negative, default=20, help="how many (0: all; default 20)")
    ranking.add_argument("--json", action="store_true")
    ranking.set_defaults(command=ranking_command)

    optout = commands.add_parser(
        "optout", parents=[common], help="the accounts opted out (of all or some families) or muting the bot"
    )
    optout_commands = optout.add_subparsers(required=True, metavar="ACTION")
    listing = optout_commands.add_parser(
        "list", parents=[common], help="list opted-out accounts, their families, and mutes"
    )
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(command=optout_list_command)
    add = optout_commands.add_parser(
        "add", parents=[common], help="opt an account out of families (as if it replied STOP FAMILY…)"
    )
    remove = optout_commands.add_parser(
        "remove", parents=[common], help="opt an account back in to families (as if it replied START FAMILY…)"
    )
    for action, command in ((add, optout_add_command), (remove, optout_remove_command)):
        action.add_argument("name", type=_account_name)
        action.add_argument(
            "families",
            nargs="*",
            type=_family,
            metavar="FAMILY",
            help=f"{', '.join(family.value for family in FAMILIES)} or {ALL} (none named: {ALL})",
        )
        action.set_defaults(command=command)

    backup = commands.add_parser("backup", parents=[common], help="copy the store to a new file, safely")
    backup.add_argument("target", type=Path, help="the new file")
    backup.set_defaults(command=backup_command)

    moving = commands.add_parser(
        "migrate", parents=[common], help="copy the SQLite store into an empty PostgreSQL database, verified"
    )
    moving.add_argument(
        "--to", required=True, type=_postgres_url, metavar="URL", help="postgresql://user@host/database"
    )
    moving.set_defaults(command=migrate_command)

    bootstrap = commands.add_parser(
        "bootstrap", parents=[common], help="(re)compute accounts' lifetime counts from their history"
    )
    bootstrap.add_argument("names", nargs="+", type=_account_name, metavar="NAME")
    bootstrap.set_defaults(command=bootstrap_command)

    demo = commands.add_parser(
        "demo", help="watch the bot work against a local chain: no Hive account, key or network needed"
    )
    demo.add_argument("--seconds", type=_positive, default=60, help="how long it runs (default 60)")
    demo.add_argument("--speed", type=float, default=10.0, help="chain seconds per second (default 10)")
    demo.set_defaults(command=demo_command)

    check = commands.add_parser("check-config", parents=[common], help="validate the config and exit")
    check.set_defaults(command=check_config_command)
    return parser


def run_command(config: Config, args: argparse.Namespace) -> int:
    return run_daemon(config, stop_at=args.stop_at_block)


def serve_command(config: Config, args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM (uvicorn handles both: it finishes the answers under way)."""
    import uvicorn  # the daemon's commands need no web server: loaded only here

    host, port = config.web.listen
    for signum in (signal.SIGTERM, signal.SIGINT):
        # uvicorn stops on the signal, then raises it again for the handler it found: this one, a no-op,
        # so that a requested stop exits 0 (as `run` does), not killed by the signal
        signal.signal(signum, lambda *_: None)
    with open_web(config) as app:
        uvicorn.run(app, host=host, port=port, log_level=config.log.level, access_log=False)
    return EXIT_OK


def status_command(config: Config, args: argparse.Namespace) -> int:
    with Store.open(config.store, create=False) as store:
        checkpoint = store.load_checkpoint()
        report: dict[str, Any] = {
            "store": str(config.store),
            "checkpoint": None if checkpoint is None else checkpoint.block_num,
            "dry_run": config.dry_run,
            **store.load_summary(),
            **store.outbox.load_summary(),
            "bootstrap": config.bootstrap,
            **store.baselines.load_summary(),
            **(
                store.baselines.load_backlog(config.history.page_size, history_budget(config))
                if config.with_baselines
                else {}
            ),
            **lease_report(config.store),
        }
    try:
        state = chain_client(config, quick=True).fetch_state()
    except ChainError as exc:
        report.update(irreversible_block=None, lag=None, chain_error=str(exc))
    else:
        lag = None if checkpoint is None else state.irreversible_block - checkpoint.block_num
        report.update(irreversible_block=state.irreversible_block, lag=lag)
    _print(report, args.json, _format_status)
    return EXIT_OK


def lease_report(store: Location) -> dict[str, Any]:
    """On PostgreSQL, the lease: who is active, since when, until when (the database's clock), its token;
    ``active`` false once it expired or was released. Nothing on SQLite (one bot, held by the lock file)."""
    if not isinstance(store, PostgresUrl):
        return {}
    view = load_lease(store)
    if view is None:
        return {"lease": None}
    lease = view.lease
    return {
        "lease": {
            "holder": lease.holder,
            "token": lease.token,
            "acquired_at": _utc(lease.acquired_at),
            "expires_at": None if lease.expires_at == float("-inf") else _utc(lease.expires_at),
            "active": view.active,
        }
    }


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


def account_command(config: Config, args: argparse.Namespace) -> int:
    """What the board shows of the account (its loader, :func:`bot.web.board.load_board`: counts, each
    family's opt-out, the mute, the digest), with what the operator needs besides: the checkpoint, the
    baseline's pages, each badge's state and permlink."""
    with Store.open(config.store, create=False) as store:
        known = load_board(store, args.name, config.badges)
        checkpoint = store.load_checkpoint()
        badges = store.outbox.load_badges(args.name)
        baseline = store.baselines.load(args.name)
        estimate = store.baselines.load_estimate(args.name)
    board = known or make_board(args.name, {}, [], Manners(), None, config.badges)
    report = {
        "account": args.name,
        "counts": {line.metric.value: count_json(line.metric, line.count) for line in board.lines},
        "known": known is not None,
        "checkpoint": None if checkpoint is None else checkpoint.block_num,
        **manners_json(board),
        "baseline": None
        if baseline is None
        else {
            "state": baseline.state.value,
            "counts": {metric.value: count_json(metric, n) for metric, n in baseline.counts.items()},
            "pages": baseline.pages,
            "entries_left": estimate,
            "error": baseline.error,
        },
        "badges": badges,
    }
    _print(report, args.json, lambda report: _format_account(report, board))
    return EXIT_OK


def ranking_command(config: Config, args: argparse.Namespace) -> int:
    metric = Metric(args.metric)
    with Store.open(config.store, create=False) as store:
        rows = store.load_ranking(metric, args.limit or None)
    report = {
        "metric": metric.value,
        "ranking": [
            {"rank": i, "account": a, "count": count_json(metric, n)} for i, (a, n) in enumerate(rows, 1)
        ],
    }
    _print(report, args.json, lambda report: _format_ranking(metric, rows))
    return EXIT_OK


def optout_list_command(config: Config, args: argparse.Namespace) -> int:
    with Store.open(config.store, create=False) as store:
        everything = store.outbox.load_optouts()
        families = store.outbox.load_family_optouts()
        mutes = store.outbox.load_mutes()
    report = {
        "opted_out": [{"account": a, "block": b, "source": s} for a, b, s in everything],
        "opted_out_of_families": [
            {"account": a, "family": f.value, "block": b, "source": s} for a, f, b, s in families
        ],
        "muting": [{"account": a, "block": b, "source": s} for a, b, s in mutes],
    }
    _print(report, args.json, _format_optouts)
    return EXIT_OK


def optout_add_command(config: Config, args: argparse.Namespace) -> int:
    """Families named: only those (``all`` among them: every family), as a STOP naming them would."""
    return _opt_by_operator(config, args, stop=True)


def optout_remove_command(config: Config, args: argparse.Namespace) -> int:
    """Families named: only those, as a START naming them would; none: every family, however stopped."""
    return _opt_by_operator(config, args, stop=False)


def _opt_by_operator(config: Config, args: argparse.Namespace, *, stop: bool) -> int:
    families = _families(args.families)
    with Store.open(config.store) as store:
        opt = store.outbox.add_optout if stop else store.outbox.remove_optout
        changed = opt(args.name, families)
    done, undone = ("is", "was already") if stop else ("is no longer", "was not")
    print(f"@{args.name} {done if changed else undone} opted out of {_families_words(families)}")
    return EXIT_OK


def _families(named: Sequence[Family | str]) -> frozenset[Family] | None:
    """The families an ``optout`` command names; None: every family (none named, or ``all``)."""
    if not named or ALL in named:
        return None
    return frozenset(family for family in named if isinstance(family, Metric | Occasion))


def _families_words(families: frozenset[Family] | None) -> str:
    return "every family" if families is None else ", ".join(sorted(families))


def backup_command(config: Config, args: argparse.Namespace) -> int:
    with Store.open(config.store, create=False) as store:
        store.backup(args.target)
        checkpoint = store.load_checkpoint()
    print(f"{args.target}: the store at block {checkpoint.block_num if checkpoint else 'none'}")
    return EXIT_OK


def migrate_command(config: Config, args: argparse.Namespace) -> int:
    """Stop the bot first: a bot running on the store makes the migration fail (its lock file)."""
    report = migrate(_sqlite_store(config, config.store), args.to)
    print(_format_migration(report, args.to))
    return EXIT_OK


def _sqlite_store(config: Config, store: Location) -> Path:
    if isinstance(store, PostgresUrl):
        raise ConfigError(
            config.path,
            f"already names a PostgreSQL store ({store}): there is no SQLite store to move",
            "store",
        )
    return store


def _format_migration(report: MigrationReport, target: PostgresUrl) -> str:
    width = max(map(len, [*report.copied, *report.derived]))
    lines = [
        f"copied {report.rows:,} rows to {target} in {report.seconds:.1f} s"
        f" ({report.rows / max(report.seconds, 1e-9):,.0f} rows/s):"
    ]
    lines += [f"  {table:<{width}} {rows:>12,}" for table, rows in report.copied.items()]
    lines += [f"  {table:<{width}} {rows:>12,}  (made from counts)" for table, rows in report.derived.items()]
    lines += [
        "verified: every table equal to the store's",
        f"next: in the config, set  store: {without_password(target)}  (a password goes in PGPASSWORD,"
        " ~/.pgpass or a service file, never in the config), then start the bot",
    ]
    return "\n".join(lines)


def bootstrap_command(config: Config, args: argparse.Namespace) -> int:
    """Queue the accounts' baselines afresh; with no daemon running, compute them here and now."""
    if config.bootstrap != "history":
        raise ConfigError(
            config.path, "lifetime counts are off: set it to 'history' to use this", "bootstrap"
        )
    with Store.open(config.store) as store:
        checkpoint = store.load_checkpoint()
        store.baselines.requeue(args.names, 0 if checkpoint is None else checkpoint.block_num)
        try:
            with _no_bot_running(config.store):
                return _bootstrap_here(config, store, args.names)
        except StoreLockedError:
            print(f"queued {len(args.names)} account(s): the running bot computes them (see `status`)")
            return EXIT_OK


@contextmanager
def _no_bot_running(store: Location) -> Iterator[None]:
    """Raise :class:`StoreLockedError` if a bot runs on ``store``. SQLite: its lock file, held meanwhile.
    PostgreSQL: an active lease. None is held meanwhile: a bot that takes the lease while this command
    computes writes beside it, one transaction at a time (the writer lock), and a page the command read
    while the bot committed the same baseline's is stale and dropped, never counted twice."""
    if not isinstance(store, PostgresUrl):
        with lock_store(store):
            yield
        return
    view = load_lease(store)
    if view is not None and view.active:
        raise StoreLockedError(f"{store}: {view.lease.holder} is the active bot on this store")
    yield


def _bootstrap_here(config: Config, store: Store, names: Sequence[str]) -> int:
    if store.baselines.load_live_start() is None:
        print("queued: the baselines are computed once the bot has followed its first block")
        return EXIT_OK
    baseline_job = build_baseline_job(config, store)
    pending = set(names)
    while pending:
        report = baseline_job.step()
        if report is None:
            break
        baseline = report.baseline
        if baseline.state.value != "waiting":
            pending.discard(baseline.account)
            print(format_baseline(baseline))
    return EXIT_OK


def format_baseline(baseline: Baseline) -> str:
    """A computed baseline as ``bootstrap`` prints it: its state, pages, and counts (a payout in HP)."""
    counts = ", ".join(f"{m.value} {shown(m, n)}" for m, n in baseline.counts.items())
    return f"@{baseline.account}: {baseline.state.value} after {baseline.pages} page(s): {counts}"


DEVNET_MISSING = (
    "the demo needs the local Hive node emulator, which is not installed: from the project's checkout, run "
    "`.venv/bin/pip install -e ./devnet` (./scripts/test.sh installs it too)"
)


def demo_command(args: argparse.Namespace) -> int:
    """The one place the bot reaches for the emulator, lazily: it is a tool of its own (``devnet/``),
    installed for tests and demos only, never part of the bot's wheel."""
    try:
        from devnet.demo import run_demo  # noqa: TID251 - the demo's entry point, the one allowed import
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "devnet":
            raise
        print(f"hive-badge-bot: {DEVNET_MISSING}", file=sys.stderr)
        return EXIT_FAILURE
    return run_demo(seconds=args.seconds, speed=args.speed)


def check_config_command(config: Config, args: argparse.Namespace) -> int:
    mode = "dry-run" if config.dry_run else "LIVE (will post)"
    print(
        f"{config.path}: OK — account @{config.account}, {len(config.nodes)} node(s), {mode}, store {config.store}"
    )
    return EXIT_OK


def _print(report: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(report, indent=2) if as_json else text(report))


def _format_status(report: dict[str, Any]) -> str:
    lag = "unknown (chain unreachable)" if report["irreversible_block"] is None else f"{report['lag']} blocks"
    notifications = ", ".join(f"{n} {state}" for state, n in report["notifications"].items() if n)
    lines = [
        f"store:              {report['store']} ({report['bytes'] / 1e6:.1f} MB)",
        f"checkpoint:         {report['checkpoint'] if report['checkpoint'] is not None else 'none yet'}",
        f"irreversible block: {report['irreversible_block'] or 'unknown'}",
        f"lag:                {lag}",
        f"accounts tracked:   {report['accounts']}",
        f"remembered:         {report['comments_remembered']} comments, {report['votes_remembered']} votes",
        f"badges earned:      {report['badges']}",
        f"notifications:      {notifications or 'none'}" + (" (dry-run)" if report["dry_run"] else ""),
        f"opted out:          {report['opted_out']} accounts",
        "baselines:          "
        + (
            ", ".join(f"{n} {state}" for state, n in report["baselines"].items() if n) or "none yet"
            if report["bootstrap"] == "history"
            else "off (bootstrap: none)"
        ),
    ]
    if "backlog" in report:
        lines.append(_format_backlog(report["backlog"]))
    if "lease" in report:
        lines.append(format_lease(report["lease"]))
    lines += [f"  failed: @{b['account']}: {b['error']}" for b in report["baselines_failed"]]
    lines += [
        f"  parked: @{p['account']} {p['permlink']} after {p['attempts']} attempts: {p['error']}"
        for p in report["parked"]
    ]
    return "\n".join(lines)


def format_lease(lease: dict[str, Any] | None) -> str:
    if lease is None:
        return "active bot:         none yet (no bot has run on this store)"
    if not lease["active"]:
        ended = "released" if lease["expires_at"] is None else f"expired {lease['expires_at']}"
        return f"active bot:         none (the last, {lease['holder']}, token {lease['token']}: {ended})"
    return (
        f"active bot:         {lease['holder']} (token {lease['token']}) since {lease['acquired_at']},"
        f" lease until {lease['expires_at']}"
    )


def _format_backlog(backlog: dict[str, Any]) -> str:
    if not backlog["accounts"]:
        return "backlog:            none"
    left = f"~{backlog['entries_left']:,} entries left" + (
        f" (+ {backlog['not_begun']} not begun)" if backlog["not_begun"] else ""
    )
    done = datetime.timedelta(seconds=round(backlog["seconds_left"]))
    return f"backlog:            {backlog['accounts']} accounts waiting, {left}, done in ~{done} at the node budget"


def _format_account(report: dict[str, Any], board: Board) -> str:
    lines = [f"@{report['account']}" + ("" if report["known"] else " (not seen yet)")]
    if board.opted_out:
        lines[0] += " — opted out of notifications"
    baseline = report["baseline"]
    if baseline is not None and baseline["state"] != "done":
        left = "" if baseline["entries_left"] is None else f", ~{baseline['entries_left']:,} entries left"
        lines[0] += (
            f" — lifetime counts {baseline['state']} ({baseline['pages']} page(s) read{left});"
            " counts below are partial"
        )
    lines += [f"  {line.metric.value:<17} {shown(line.metric, line.count)}" for line in board.lines]
    lines += _format_manners(board)
    lines += [
        f"  badge {b['metric']} {shown_threshold(b['metric'], b['threshold'])} (block {b['block']}):"
        f" {b['announced'] or 'waiting'}"
        for b in report["badges"]
    ]
    return "\n".join(lines)


def _format_manners(board: Board) -> list[str]:
    """Each family opted out of by name, the mute, the digest: as the board tells them."""
    manners = board.manners
    lines = [
        f"  stopped {family.value} {_learned({'block': since.block_num, 'source': since.source})}"
        for family, since in sorted(manners.families.items())
    ]
    if manners.mute is not None:
        lines.append(
            f"  muting the bot    {_mute_words({'block': manners.mute.block_num, 'source': manners.mute.source})}"
        )
    if board.digest_since is not None:
        lines.append(f"  weekly digest     chosen {board.digest_since}")
    return lines


def _format_optouts(report: dict[str, Any]) -> str:
    everything, families, mutes = report["opted_out"], report["opted_out_of_families"], report["muting"]
    lines = [f"{len(everything)} account(s) opted out of every family"]
    lines += [f"  @{row['account']:<16} {_learned(row)}" for row in everything]
    lines.append(f"{len({row['account'] for row in families})} account(s) opted out of some families")
    lines += [f"  @{row['account']:<16} {row['family']:<17} {_learned(row)}" for row in families]
    lines.append(f"{len(mutes)} account(s) muting the bot")
    lines += [f"  @{row['account']:<16} {_mute_words(row)}" for row in mutes]
    return "\n".join(lines)


def _mute_words(row: dict[str, Any]) -> str:
    return f"since block {row['block']}" if row["source"] == "chain" else "as a node answered when asked"


def _learned(row: dict[str, Any]) -> str:
    words = SOURCE_WORDS.get(row["source"], row["source"])
    return words if row["block"] is None else f"{words} (block {row['block']})"


def _format_ranking(metric: Metric, rows: Sequence[tuple[str, int]]) -> str:
    lines = [f"ranking by {metric.value}"]
    lines += [f"{rank:>5}. @{account:<16} {shown(metric, n)}" for rank, (account, n) in enumerate(rows, 1)]
    return "\n".join(lines)


def _account_name(text: str) -> str:
    """An account name as a person types it: the '@' may be there."""
    name = text.removeprefix("@")
    problem = account_name_problem(name)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Hive account name ({problem})")
    return name


def _family(text: str) -> Family | str:
    family = parse_family(text)
    if family is None:
        known = ", ".join(known.value for known in FAMILIES)
        raise argparse.ArgumentTypeError(f"{text!r} is not a family: the families are {known}, or {ALL}")
    return family


def _postgres_url(text: str) -> PostgresUrl:
    if not is_postgres(text):
        raise argparse.ArgumentTypeError("must be a postgresql:// (or postgres://) URL")
    return PostgresUrl(text)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value
