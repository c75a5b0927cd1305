"""How fast ``migrate`` copies and verifies a store of realistic size.

    PYTHONPATH=. .venv/bin/python benchmarks/migrate.py [--comments 200000] [--votes 5] [--accounts 50000]

A store is generated (schema 9 through :class:`bot.store.Store`, then rows of the real shapes: ``counts``
for ``--accounts`` accounts, ``--comments`` comments each with ``--votes`` counted votes, a notification and a
badge per 100 accounts) and migrated into a throw-away PostgreSQL cluster (``tests/support/postgres.py``:
fsync off, so this measures the copy and the verification, not the disk), or into the server named by
``HIVE_BADGE_BOT_TEST_POSTGRES``. Printed: rows copied, seconds, rows per second (copy and verification
together, in one transaction).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bot.db import PostgresUrl
from bot.migrate import migrate
from bot.store import Store
from tests.support.postgres import cluster, session_database


def generate(path: Path, accounts: int, comments: int, votes: int) -> None:
    Store.open(path).close()
    rng = random.Random(1)
    names = [f"user{i:06d}" for i in range(accounts)]
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO checkpoint VALUES (1, 90000000, 'x', 1700000000)")
        db.executemany(
            "INSERT INTO counts VALUES (?, ?, ?, ?, ?)",
            (
                (n, rng.randrange(500), rng.randrange(500), rng.randrange(50), rng.randrange(200))
                for n in names
            ),
        )
        db.executemany(
            "INSERT INTO comments (id, author, permlink, created) VALUES (?, ?, ?, ?)",
            ((i, rng.choice(names), f"post-{i}", 1700000000 + i) for i in range(1, comments + 1)),
        )
        db.executemany(
            "INSERT INTO counted_votes VALUES (?, ?)",
            ((c, v) for c in range(1, comments + 1) for v in rng.sample(names, votes)),
        )
        db.executemany(
            "INSERT INTO notifications (id, account, permlink, state, not_before, created_block) "
            "VALUES (?, ?, ?, 'delivered', 0, 1)",
            ((i, n, f"badge-{n}") for i, n in enumerate(names[::100], 1)),
        )
        db.executemany(
            "INSERT INTO badges VALUES (?, 'posts', 1, 1, 1, ?, NULL)",
            ((n, i) for i, n in enumerate(names[::100], 1)),
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--comments", type=int, default=200_000)
    parser.add_argument("--votes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, ExitStack() as servers:
        path = Path(directory) / "bot.sqlite"
        generate(path, args.accounts, args.comments, args.votes)
        print(f"store: {path.stat().st_size / 1e6:.1f} MB")
        with session_database(os.environ, lambda: servers.enter_context(cluster()).url) as url:
            report = migrate(path, PostgresUrl(url))
    for table, rows in {**report.copied, **report.derived}.items():
        print(f"  {table:<22} {rows:>10,}")
    print(
        f"copied and verified {report.rows:,} rows in {report.seconds:.1f} s: "
        f"{report.rows / report.seconds:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
