#!/usr/bin/env bash
# Set up a virtual environment (.venv) with the bot and its dev tools, then run every check:
# ruff lint, ruff format check, mypy, and the whole pytest suite. `.ci/run` calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# the bot with its dev tools, and the local Hive node emulator (devnet/, a distribution of its own)
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./devnet
# what the tests need from Debian, installed in one apt-get run when missing: Chromium for the browser tests
# (tests/web/, driven through Playwright: never `playwright install`), PostgreSQL's server for the store's
# tests (tests/support/postgres.py starts a throw-away cluster of its own on a free port)
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/test.sh: the tests need ${missing[*]} (/usr/bin/chromium, PostgreSQL's initdb):" \
            "run as root, or apt-get install ${missing[*]}" >&2
        exit 1
    fi
    # Debian would create and start a cluster 15/main on port 5432 that nothing uses: not on a fresh machine
    # (an existing createcluster.conf is the machine's own: left alone; ucf keeps ours over the package's)
    if [[ " ${missing[*]} " == *" postgresql "* && ! -e /etc/postgresql-common/createcluster.conf ]]; then
        mkdir -p /etc/postgresql-common
        printf '%s\n' "# scripts/test.sh of hive-badge-bot: no main cluster (Debian's defaults:" \
            "# /usr/share/postgresql-common/createcluster.conf)" "create_main_cluster = false" \
            >/etc/postgresql-common/createcluster.conf
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 apt-get install -y -qq "${missing[@]}"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# pytest exits 5 when it collects no test: that must fail the run, and it does (set -e).
.venv/bin/pytest "$@"
