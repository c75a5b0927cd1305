"""Names and words for the generated chain: valid Hive account names, titles, permlink slugs, bodies."""

from __future__ import annotations

import random
import re
import string

from devnet.rand import rng

ACCOUNT_NAME = re.compile(r"^(?=.{3,16}$)[a-z][a-z0-9-]*[a-z0-9](\.[a-z][a-z0-9-]*[a-z0-9])*$")
"""Hive account names: 3–16 chars; dot-separated labels of ≥ 3 chars, each starting with a letter and
ending with a letter or digit (the label-length and ``--`` rules are checked by :func:`is_account_name`)."""

PERMLINK = re.compile(r"^[a-z0-9-]{1,255}$")

_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
           "ch", "dr", "gr", "kr", "pl", "sh", "st", "tr", "th")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "y")
_CODAS = ("", "", "", "n", "r", "l", "s", "x", "k", "m")

WORDS = (
    "the", "a", "and", "of", "to", "in", "is", "it", "for", "on", "with", "as", "at", "by", "this", "that",
    "from", "we", "you", "they", "be", "are", "was", "have", "not", "but", "what", "all", "when", "your",
    "can", "more", "one", "about", "some", "out", "time", "day", "week", "today", "new", "first", "last",
    "good", "great", "little", "long", "best", "old", "big", "small", "high", "morning", "night", "city",
    "market", "garden", "coffee", "mountain", "river", "beach", "trip", "walk", "photo", "photos", "music",
    "song", "cover", "art", "drawing", "painting", "recipe", "food", "dinner", "bread", "soup", "cake",
    "game", "battle", "cards", "season", "reward", "token", "hive", "community", "post", "blog", "diary",
    "update", "report", "review", "guide", "tips", "story", "life", "family", "friends", "work", "home",
    "project", "build", "code", "node", "witness", "vote", "curation", "contest", "challenge", "winner",
    "prize", "weekly", "daily", "monday", "friday", "sunday", "summer", "winter", "rain", "sun", "flowers",
    "birds", "cat", "dog", "health", "running", "fitness", "book", "movie", "travel", "street", "colors",
    "light", "dream", "idea", "thoughts", "question", "answer", "thanks", "love", "happy", "beautiful",
    "café", "niño", "über", "déjà", "vu", "naïve", "crème", "brûlée", "señor", "straße", "日本", "東京",
)  # fmt: skip
EMOJI = ("🙂", "🔥", "🎉", "💪", "🌞", "❤️", "👍", "🙏", "😂", "🚀")
TAGS = (
    "hive-174578", "hive-163772", "hive-167922", "hive-148441", "hive-194913", "photography", "travel",
    "life", "leofinance", "gaming", "splinterlands", "art", "music", "food", "crypto", "actifit", "neoxian",
    "spanish", "proofofbrain", "palnet", "ecency", "hive-engine", "blog", "diy", "nature", "books",
)  # fmt: skip
APPS = ("peakd/2025.7.1", "ecency/4.2.0-vision", "hiveblog/0.1", "leothreads/0.3", "actifit/0.5.0",
        "inleo/1.0.0", "liketu/0.1", "ecency/3.3.3-mobile")  # fmt: skip


def is_account_name(name: str) -> bool:
    return (
        bool(ACCOUNT_NAME.match(name))
        and "--" not in name
        and all(len(label) >= 3 for label in name.split("."))
    )


def account_names(seed: int, count: int) -> tuple[str, ...]:
    """``count`` distinct, valid, deterministic account names (syllables, some with digits, '-' or '.')."""
    r = rng(seed, 0xACC0)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = _one_name(r)
        if name not in seen and is_account_name(name):
            seen.add(name)
            names.append(name)
    return tuple(names)


def _word(r: random.Random, syllables: int) -> str:
    parts = [r.choice(_ONSETS) + r.choice(_VOWELS) for _ in range(syllables)]
    return "".join(parts) + r.choice(_CODAS)


def _one_name(r: random.Random) -> str:
    style = r.random()
    if style < 0.55:
        name = _word(r, r.randint(2, 3))
    elif style < 0.75:
        name = _word(r, r.randint(1, 3)) + str(r.randint(1, 9999))
    elif style < 0.88:
        name = _word(r, r.randint(1, 2)) + "-" + _word(r, r.randint(1, 2))
    else:
        name = _word(r, r.randint(1, 2)) + "." + _word(r, r.randint(1, 2))
    return name[:16].rstrip("-.")


def base36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while True:
        n, rem = divmod(n, 36)
        out = digits[rem] + out
        if not n:
            return out
