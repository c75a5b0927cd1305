"""The import rules that hold the design, checked on the source (ruff's banned-api holds the same for beem):

- the bot never imports the emulator (``devnet/``), except the demo's entry point, lazily;
- the emulator imports from the bot only what any client of the bot would;
- pure rule modules import no I/O, directly or through the bot modules they import;
- only ``bot/chain/`` imports beem;
- ``bot/`` has no import cycle among its module-level imports;
- no test module (``test_*.py``) imports another: what tests share lives in ``tests/support/`` or a
  ``conftest.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = (
    "bot.accounts",
    "bot.backlog",
    "bot.badges",
    "bot.birthdays",
    "bot.chain.verdicts",
    "bot.errors",
    "bot.history",
    "bot.lease",
    "bot.metrics",
    "bot.notifications",
    "bot.operations",
    "bot.optouts",
    "bot.plan",
    "bot.schema_pg",
    "bot.tallies",
)
"""The rules: decisions over plain data, testable without a node, a database or a clock."""
IO = ("sqlite3", "socket", "http", "urllib", "requests", "beem", "beemapi", "beembase", "beemgraphenebase",
      "apscheduler", "structlog", "threading", "subprocess", "os", "time", "fcntl", "devnet", "psycopg")  # fmt: skip
CLIENT_API = {"bot.app", "bot.config", "bot.location", "bot.logs", "bot.store"}
"""What the emulator may import from the bot: what a program running the bot would (the demo does)."""
BEEM = ("beem", "beemapi", "beembase", "beemgraphenebase")


def modules(package: str) -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in (ROOT / package).rglob("*.py")
    }


def imports(path: Path, *, module_level: bool = False) -> Iterator[tuple[str, int]]:
    """``(module imported, line)``; ``module_level``: only those run at import (not inside a function)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            yield from ((f"{node.module}.{alias.name}", node.lineno) for alias in node.names)


def under(name: str, roots: tuple[str, ...] | set[str]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


BOT = modules("bot")


def test_the_bot_never_imports_the_emulator_but_for_the_demo_lazily() -> None:
    found = {module for module, path in BOT.items() for name, _ in imports(path) if under(name, ("devnet",))}
    assert found == {"bot.cli"}
    assert not [name for name, _ in imports(BOT["bot.cli"], module_level=True) if under(name, ("devnet",))]


def test_the_emulator_imports_from_the_bot_only_what_a_client_would() -> None:
    used = {
        name
        for path in modules("devnet").values()
        for name, _ in imports(path)
        if under(name, ("bot",)) and name in BOT
    }
    assert used <= CLIENT_API, used - CLIENT_API


def bot_imports(module: str) -> set[str]:
    return {name for name, _ in imports(BOT[module], module_level=True) if name in BOT and name != module}


@pytest.mark.parametrize("module", PURE)
def test_a_pure_rule_module_imports_no_io(module: str) -> None:
    seen, todo = set(), [module]
    while todo:  # the module and every bot module it imports at module level
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(bot_imports(current))
    io = sorted(
        {f"{each} imports {name}" for each in seen for name, _ in imports(BOT[each]) if under(name, IO)}
    )
    assert io == []


def test_only_the_chain_adapter_imports_beem() -> None:
    found = {module for module, path in BOT.items() for name, _ in imports(path) if under(name, BEEM)}
    assert found and all(under(module, ("bot.chain",)) for module in found), found


def test_the_bot_has_no_import_cycle() -> None:
    graph = {module: bot_imports(module) - {module} for module in BOT}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join((*path[path.index(module) :], module)))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_no_test_module_imports_another() -> None:
    """Absolute imports only, so that the rule sees every one."""
    tests = modules("tests")
    found = sorted(
        f"{module} imports {name} (line {line})"
        for module, path in tests.items()
        if path.name.startswith("test_")
        for name, line in imports(path)
        if under(name, ("tests",)) and any(part.startswith("test_") for part in name.split("."))
    )
    relative = sorted(
        f"{module} line {node.lineno}"
        for module, path in tests.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    )
    assert found == [] and relative == [], found + relative


STORE = ("bot.store", "bot.counts", "bot.outbox", "bot.baselines", "bot.schema")
JOBS = ("bot.follower", "bot.poster", "bot.baseline_job")
ABOVE_THE_STORE = ("bot.chain", *JOBS, "bot.daemon", "bot.app", "bot.cli", "bot.web")


@pytest.mark.parametrize("module", STORE)
def test_the_store_never_imports_the_chain_the_jobs_or_the_web_app(module: str) -> None:
    assert not [name for name, _ in imports(BOT[module]) if under(name, ABOVE_THE_STORE)]


@pytest.mark.parametrize("module", sorted(name for name in BOT if under(name, ("bot.web",))))
def test_the_web_app_never_imports_the_chain_adapter_or_the_jobs(module: str) -> None:
    assert not [name for name, _ in imports(BOT[module]) if under(name, ("bot.chain", *JOBS, "bot.daemon"))]
