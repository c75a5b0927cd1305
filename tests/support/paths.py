"""Where the tests find the repository and the recorded mainnet answers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository: the daemon runs from here as ``python -m bot``, and ``config/`` is here."""
FIXTURES = ROOT / "tests" / "fixtures"
"""Real node answers, each file with its source in ``fixtures/README.md``."""
