"""The command line: ``hive-badge-bot run | status | account | ranking | check-config``.

Exit codes: 0 success, 1 the bot could not do its job (store unusable, nodes unreachable …),
2 the config or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.chain import ChainClient
from bot.config import Config, ConfigError, load_config
from bot.daemon import EXIT_FAILURE, EXIT_OK, Daemon
from bot.errors import BotError, ChainError
from bot.follower import Follower
from bot.logs import configure_logging
from bot.metrics import Metric
from bot.store import Store, lock_store
from bot.tallies import CountingRules

EXIT_USAGE = 2
DEFAULT_CONFIG = Path("config/bot.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        configure_logging(config.log)
        command: Callable[[Config, argparse.Namespace], int] = args.command
        return command(config, args)
    except ConfigError as exc:
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

    check = commands.add_parser("check-config", parents=[common], help="validate the config and exit")
    check.set_defaults(command=check_config_command)
    return parser


def run_command(config: Config, args: argparse.Namespace) -> int:
    with lock_store(config.store), Store.open(config.store) as store:
        chain = _chain(config)
        follower = Follower(
            chain,
            store,
            CountingRules(count_self_votes=config.count_self_votes),
            batch_size=config.chain.batch_size,
            start_block=config.start_block,
        )
        daemon = Daemon(follower, poll_interval=config.chain.poll_interval, stop_at=args.stop_at_block)
        return daemon.run()


def status_command(config: Config, args: argparse.Namespace) -> int:
    with Store.open(config.store, create=False) as store:
        checkpoint = store.load_checkpoint()
        report: dict[str, Any] = {
            "store": str(config.store),
            "checkpoint": None if checkpoint is None else checkpoint.block_num,
            **store.load_summary(),
        }
    try:
        state = _chain(config, quick=True).fetch_state()
    except ChainError as exc:
        report.update(irreversible_block=None, lag=None, chain_error=str(exc))
    else:
        lag = None if checkpoint is None else state.irreversible_block - checkpoint.block_num
        report.update(irreversible_block=state.irreversible_block, lag=lag)
    _print(report, args.json, _format_status)
    return EXIT_OK


def account_command(config: Config, args: argparse.Namespace) -> int:
    with Store.open(config.store, create=False) as store:
        counts = store.load_counts(args.name)
        checkpoint = store.load_checkpoint()
    report = {
        "account": args.name,
        "counts": {metric.value: (counts or {}).get(metric, 0) for metric in Metric},
        "known": counts is not None,
        "checkpoint": None if checkpoint is None else checkpoint.block_num,
    }
    _print(report, args.json, _format_account)
    return EXIT_OK


def ranking_command(config: Config, args: argparse.Namespace) -> int:
    metric = Metric(args.metric)
    with Store.open(config.store, create=False) as store:
        rows = store.load_ranking(metric, args.limit or None)
    report = {
        "metric": metric.value,
        "ranking": [{"rank": i, "account": a, "count": n} for i, (a, n) in enumerate(rows, 1)],
    }
    _print(report, args.json, _format_ranking)
    return EXIT_OK


def check_config_command(config: Config, args: argparse.Namespace) -> int:
    mode = "dry-run" if config.dry_run else "LIVE (will post)"
    print(
        f"{config.path}: OK — account @{config.account}, {len(config.nodes)} node(s), {mode}, store {config.store}"
    )
    return EXIT_OK


def _chain(config: Config, *, quick: bool = False) -> ChainClient:
    timeout = min(config.chain.request_timeout, 5.0) if quick else config.chain.request_timeout
    return ChainClient(
        config.nodes,
        timeout=timeout,
        max_backoff=config.chain.max_backoff,
        data_dir=config.store.parent / "beem",
    )


def _print(report: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(report, indent=2) if as_json else text(report))


def _format_status(report: dict[str, Any]) -> str:
    lag = "unknown (chain unreachable)" if report["irreversible_block"] is None else f"{report['lag']} blocks"
    return "\n".join(
        [
            f"store:              {report['store']} ({report['bytes'] / 1e6:.1f} MB)",
            f"checkpoint:         {report['checkpoint'] if report['checkpoint'] is not None else 'none yet'}",
            f"irreversible block: {report['irreversible_block'] or 'unknown'}",
            f"lag:                {lag}",
            f"accounts tracked:   {report['accounts']}",
            f"remembered:         {report['comments_remembered']} comments, {report['votes_remembered']} votes",
        ]
    )


def _format_account(report: dict[str, Any]) -> str:
    lines = [f"@{report['account']}" + ("" if report["known"] else " (not seen yet)")]
    lines += [f"  {metric:<17} {value}" for metric, value in report["counts"].items()]
    return "\n".join(lines)


def _format_ranking(report: dict[str, Any]) -> str:
    lines = [f"ranking by {report['metric']}"]
    lines += [f"{row['rank']:>5}. @{row['account']:<16} {row['count']}" for row in report["ranking"]]
    return "\n".join(lines)


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
