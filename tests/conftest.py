"""Fixtures every test shares."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import structlog

from tests.support.processes import children


@pytest.fixture(autouse=True)
def every_log_level() -> Iterator[None]:
    """Each test starts with structlog's defaults: ``capture_logs`` keeps the configured level filter, which
    a test before (one that ran the CLI, say) may have set to info, and tests read debug lines too."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


@pytest.fixture(autouse=True)
def no_stray_processes() -> Iterator[None]:
    """A failing test must not leave a bot running (the daemon, chain and stress tests start it as a
    subprocess)."""
    before = set(children())
    yield
    for pid in set(children()) - before:
        os.kill(pid, signal.SIGKILL)
