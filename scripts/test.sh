#!/usr/bin/env bash
# Set up a virtual environment (.venv) with the bot and its dev tools, then run every check:
# ruff lint, ruff format check, mypy, and the whole pytest suite. `.ci/run` calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# the bot with its dev tools, and the local Hive node emulator (devnet/, a distribution of its own)
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./devnet
# the browser tests (tests/web/) drive Debian's Chromium through Playwright: never `playwright install`
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/test.sh: the browser tests need /usr/bin/chromium: run as root, or apt-get install chromium" >&2
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# pytest exits 5 when it collects no test: that must fail the run, and it does (set -e).
.venv/bin/pytest "$@"
