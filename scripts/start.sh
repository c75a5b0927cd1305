#!/usr/bin/env bash
# Set up a virtual environment (.venv) with the bot, then start it with the shipped config
# (dry-run against public mainnet nodes unless you changed config/bot.yaml). Extra arguments go to `run`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/hive-badge-bot run --config "${HIVE_BADGE_BOT_CONFIG:-config/bot.yaml}" "$@"
