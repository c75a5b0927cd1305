"""Fixtures every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def every_log_level() -> Iterator[None]:
    """Each test starts with structlog's defaults: ``capture_logs`` keeps the configured level filter, which
    a test before (one that ran the CLI, say) may have set to info, and tests read debug lines too."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)
