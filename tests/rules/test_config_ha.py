"""The config's ``ha:`` section (active/standby on a PostgreSQL store): the lease's duration and this
process's name in it, defaults when left out, errors that name the key, refused beside an SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import HaSettings, load_config
from bot.lease import TAKEOVER, Terms
from tests.support.configs import assert_rejected_naming_the_key, changed, load_error, write, write_config

NODES = ["http://127.0.0.1:9"]
POSTGRES = "postgresql://bot@127.0.0.1:5432/badges"


def test_without_an_ha_section_the_lease_lasts_the_default_takeover_and_the_holder_is_chosen_at_start(
    tmp_path: Path,
) -> None:
    config = load_config(write_config(tmp_path, NODES, store=POSTGRES))

    assert config.ha == HaSettings(takeover=TAKEOVER, holder=None)
    assert config.ha.terms == Terms(duration=TAKEOVER, margin=TAKEOVER / 5)


def test_ha_takeover_and_holder_are_read_from_the_section(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, NODES, store=POSTGRES, ha={"takeover": "30s", "holder": "bot-a"})
    )

    assert config.ha == HaSettings(takeover=30.0, holder="bot-a")
    assert config.ha.terms.renew_every == 10.0
    assert config.ha.terms.margin == 6.0


def test_an_ha_section_beside_an_sqlite_store_is_an_error_naming_ha(tmp_path: Path) -> None:
    path = write(tmp_path, changed("ha", {"takeover": 10}))

    error = load_error(path)

    assert error.key == "ha"
    assert "PostgreSQL store only" in str(error)


@pytest.mark.parametrize(
    ("dotted_key", "value", "error_key", "words"),
    [
        ("ha.takeover", 0, "ha.takeover", "must be a duration from 1s to 1h"),
        ("ha.takeover", "2h", "ha.takeover", "must be a duration from 1s to 1h"),
        ("ha.takeover", "soon", "ha.takeover", "must be a duration"),
        ("ha.holder", "", "ha.holder", "this process's name in the lease"),
        ("ha.holder", " bot-a", "ha.holder", "no space at either end"),
        ("ha.holder", "bot\na", "ha.holder", "printable"),
        ("ha.holder", 7, "ha.holder", "this process's name in the lease"),
        ("ha.lease", 10, "ha", "unknown key 'lease'"),
    ],
)
def test_a_wrong_ha_value_is_an_error_naming_its_key(
    tmp_path: Path, dotted_key: str, value: object, error_key: str, words: str
) -> None:
    assert_rejected_naming_the_key(tmp_path, dotted_key, value, error_key, words)
