"""Where a store is: an SQLite file's path or a PostgreSQL URL (``store`` in the config, ``web.replica``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")
"""How a ``store`` (or ``web.replica``) value names a PostgreSQL server: libpq's two URL schemes."""


@dataclass(frozen=True)
class PostgresUrl:
    """A PostgreSQL connection URL (libpq's). It may hold no password: libpq finds it in ``PGPASSWORD``,
    ``~/.pgpass`` (or ``PGPASSFILE``) or a service file (``service=`` with ``PGSERVICEFILE``)."""

    url: str

    def __str__(self) -> str:
        """The URL as logs and messages show it: any password replaced by ``***``."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


Location = Path | PostgresUrl
"""Where a store is: an SQLite file or a PostgreSQL database."""


def is_postgres(text: str) -> bool:
    return text.startswith(SCHEMES)
