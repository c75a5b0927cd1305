"""The store's births: each met account's creation time (table ``births``), and the birthday badges they
earn in a batch (:mod:`bot.birthdays` decides which; here, what the store reads and writes for it).

Written and read inside :meth:`bot.store.Store.commit_batch`'s transaction, the one that moves the
checkpoint: the badges a batch's days earn are in the store with the checkpoint past those days, or
neither is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from bot.birthdays import Birth, Birthday, birthday_key, birthday_keys, days_begun, find_birthdays
from bot.db import Database
from bot.metrics import Occasion


def remember_births(db: Database, births: Mapping[str, int]) -> None:
    """Keep the creation times of ``births`` (account → epoch seconds); a known one stays as it was."""
    db.executemany(
        "INSERT INTO births (account, created, birthday) VALUES (?, ?, ?) ON CONFLICT (account) DO NOTHING",
        [(account, created, birthday_key(created)) for account, created in sorted(births.items())],
    )


def load_missing_births(db: Database, accounts: Iterable[str]) -> set[str]:
    """Those of ``accounts`` whose creation time the store does not have."""
    wanted = sorted(set(accounts))
    if not wanted:
        return set()
    (text,) = db.execute(
        "SELECT coalesce(json_group_array(value), '[]') FROM (SELECT value FROM json_each(?)) AS w "
        "WHERE value NOT IN (SELECT account FROM births)",
        (_encode(wanted),),
    ).fetchone()
    return set(_NAMES.decode(text))


def find_stored_birthdays(db: Database, since: int, until: int) -> list[Birthday]:
    """The birthday badges the days beginning in ``(since, until]`` earn the accounts the store has
    births of, less those already earned: one index range per birthday key of each day."""
    keys = sorted({key for day in days_begun(since, until) for key in birthday_keys(day)})
    births = [
        Birth(account, int(created))
        for key in keys
        for account, created in db.execute("SELECT account, created FROM births WHERE birthday = ?", (key,))
    ]
    return find_birthdays(births, since, until, _held(db, {birth.account for birth in births}))


def _held(db: Database, accounts: set[str]) -> set[tuple[str, int]]:
    if not accounts:
        return set()
    (text,) = db.execute(
        "SELECT coalesce(json_group_array(json_array(account, threshold)), '[]') FROM badges "
        "WHERE metric = ? AND account IN (SELECT value FROM json_each(?))",
        (Occasion.BIRTHDAY, _encode(sorted(accounts))),
    ).fetchone()
    return {(account, int(years)) for account, years in _PAIRS.decode(text)}


def _encode(names: list[str]) -> str:
    return msgspec.json.encode(names).decode()


_NAMES = msgspec.json.Decoder(list[str])
_PAIRS = msgspec.json.Decoder(list[tuple[str, int]])
