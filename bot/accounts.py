"""Hive account names: the one validator the config, the command line and the web pages share. Pure.

hived's rule (``is_valid_account_name`` in ``libraries/protocol/authority.cpp``): 3 to 16 characters, made
of dot-separated parts; each part is at least 3 characters long, starts with a lowercase letter, ends with a
lowercase letter or a digit, and has only lowercase letters, digits and '-' in between.
"""

from __future__ import annotations

import re
from typing import Final

_PART: Final = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")


def account_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Hive account name, in words for an error message; ``None`` if it can."""
    if name.startswith("@"):
        return "write it without the '@'"
    if not 3 <= len(name) <= 16:
        return "3 to 16 characters long"
    for part in name.split("."):
        if len(part) < 3:
            return "each dot-separated part at least 3 characters"
        if not _PART.fullmatch(part):
            return (
                "each part starts with a lowercase letter, uses only a-z, 0-9 and '-', "
                "ends with a letter or digit"
            )
    return None


def is_account_name(name: str) -> bool:
    return account_name_problem(name) is None
