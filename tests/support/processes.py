"""The daemon as a user runs it: ``python -m bot run`` in a subprocess, and bounded waits on what it writes.
Nothing here sleeps to wait for a moment: a test polls the store, always with a bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.location import Location
from bot.store import Store
from tests.support.chains import Counts, load_all_counts
from tests.support.paths import ROOT

BOUND = 60.0  # seconds: the most any wait may take before the test fails


def start_bot(
    config: Path, *args: str, home: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``python -m bot run --config config *args``; ``home``: its HOME (beem must write nothing there)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    if home is not None:
        env["HOME"] = str(home)
        env.pop("XDG_DATA_HOME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]]]:
    """Wait for the bot to exit; its exit code and its JSON log lines."""
    _, stderr = process.communicate(timeout=BOUND)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return process.returncode, lines


def poll(condition: Callable[[], bool], what: str, *, bound: float = BOUND, every: float = 0.02) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every)


def checkpoint_of(store_path: Location) -> int | None:
    """The store's checkpoint; None before the bot made the store."""
    if isinstance(store_path, Path) and not store_path.exists():
        return None
    try:
        with Store.open(store_path, create=False) as store:
            checkpoint = store.load_checkpoint()
    except StoreError as exc:
        if "no store there yet" in str(exc):
            return None
        raise
    return None if checkpoint is None else checkpoint.block_num


def counts_of(store_path: Path) -> Counts:
    with Store.open(store_path, create=False) as store:
        return load_all_counts(store)


def children() -> list[int]:
    """This process's child processes (Linux)."""
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []
