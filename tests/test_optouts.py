"""STOP and START: which words are commands, which replies count, and whose last command wins."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.operations import Comment, parse_blocks
from bot.optouts import (
    OptCommand,
    count_opt_commands,
    is_patch,
    parse_opt_command,
    patched_replies,
    replies_to,
)
from tests.blocks import block, post, reply, vote

BOT = "badge-bot"
STOP, START = OptCommand.STOP, OptCommand.START


@pytest.mark.parametrize(
    ("text", "command"),
    [
        # any case, alone or with punctuation and other words around it
        ("stop", STOP),
        ("STOP", STOP),
        ("Stop please", STOP),
        ("STOP!", STOP),
        ("please, stop.", STOP),
        ("**STOP**", STOP),
        ("`STOP`", STOP),
        ("(stop)", STOP),
        ("bus-stop", STOP),  # '-' is not a letter or digit, so 'stop' is a whole word here
        ("stop_", STOP),  # '_' does not glue a word either
        ("_stop", STOP),
        ("@stop", STOP),
        ("\nthanks\nSTOP\n", STOP),
        ("\tstop\r\n", STOP),
        ("stop\u200b", STOP),  # a zero-width space is not a letter
        # not a whole word: a letter or digit is next to it
        ("nonstop", None),
        ("stopped", None),
        ("stops", None),
        ("unstoppable", None),
        ("stop2", None),
        ("2stop", None),
        ("éstop", None),  # unicode letters count as letters
        ("stopé", None),
        ("стоп", None),
        ("s top", None),
        ("s-t-o-p", None),
        ("ＳＴＯＰ", None),  # fullwidth letters are other characters
        # START opts back in, the same way
        ("start", START),
        ("START!", START),
        ("Start again please", START),
        ("start_", START),
        ("restart", None),
        ("started", None),
        ("ästart", None),
        # both: STOP wins, whatever the order
        ("start stop", STOP),
        ("stop start", STOP),
        ("START, no, STOP", STOP),
        # neither
        ("", None),
        ("Thanks for the badge!", None),
        ("   \n", None),
    ],
)
def test_which_texts_are_commands(text: str, command: OptCommand | None) -> None:
    assert parse_opt_command(text) == command


@given(st.text())
def test_any_text_parses_to_a_command_or_none_without_raising(text: str) -> None:
    assert parse_opt_command(text) in (STOP, START, None)


letters_or_digits = st.text(st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1)


@given(letters_or_digits, letters_or_digits, st.sampled_from(["stop", "STOP", "start", "Start"]))
def test_a_command_glued_to_letters_or_digits_is_not_a_command(left: str, right: str, word: str) -> None:
    assert parse_opt_command(f"{left}{word}") is None
    assert parse_opt_command(f"{word}{right}") is None
    assert parse_opt_command(f"{left}{word}{right}") is None


@given(st.text(), st.text(), st.sampled_from(" .,!?-_\n\t*`()"), st.sampled_from(" .,!?-_\n\t*`()"))
def test_stop_between_separators_is_a_stop_whatever_else_the_text_says(
    left: str, right: str, before: str, after: str
) -> None:
    assert parse_opt_command(f"{left}{before}sToP{after}{right}") is STOP


# --- which replies count --------------------------------------------------------------------------------------


def replies(*raw_blocks: dict[str, Any]) -> list[Comment]:
    return replies_to(parse_blocks(raw_blocks), BOT)


def test_only_replies_to_the_bot_count_never_the_bots_own() -> None:
    found = replies(
        block(
            1,
            reply("alice", "r1", BOT, "badge-posts-1-alice-0123abcd", "STOP"),
            reply("bob", "r2", "carol", "post", "STOP"),  # a reply to someone else
            reply(BOT, "r3", BOT, "badge-posts-1-alice-0123abcd", "STOP"),  # the bot answering itself
            post(BOT, "bot-post", "STOP"),
            post("dave", "stop", "STOP"),
            vote("erin", BOT, "badge-posts-1-alice-0123abcd"),
        ),
        block(2, reply("frank", "r4", BOT, "other", "start")),
    )

    assert [(r.author, r.permlink) for r in found] == [("alice", "r1"), ("frank", "r4")]


def test_edits_of_replies_to_the_bot_are_listed_in_chain_order() -> None:
    found = replies(
        block(1, reply("alice", "r1", BOT, "n", "thanks")),
        block(2, reply("alice", "r1", BOT, "n", "STOP")),
    )

    assert [r.body for r in found] == ["thanks", "STOP"]


@pytest.mark.parametrize(
    ("body", "patch"),
    [
        ("@@ -1,4 +1,4 @@\n-stop\n+cool\n", True),
        ("@@ ", True),
        ("@@-1 +1 @@", False),
        (" @@ -1 +1 @@", False),
        ("STOP", False),
        ("", False),
    ],
)
def test_a_patch_is_a_body_starting_with_the_diff_marker(body: str, patch: bool) -> None:
    assert is_patch(body) is patch


def test_patched_replies_are_the_ones_whose_text_must_be_read_from_the_chain() -> None:
    found = replies(
        block(1, reply("alice", "r1", BOT, "n", "@@ -1,5 +1,4 @@\n-thanks\n+STOP\n")),
        block(2, reply("bob", "r2", BOT, "n", "STOP")),
    )

    assert patched_replies(found) == {("alice", "r1")}


# --- count_opt_commands -----------------------------------------------------------------------------------


def comment(author: str, body: str, permlink: str = "r") -> Comment:
    return Comment(author, permlink, BOT, "badge-posts-1-x-0123abcd", body)


def test_each_replier_gets_their_own_command() -> None:
    commands = count_opt_commands(
        [comment("alice", "STOP"), comment("bob", "start"), comment("carol", "thanks!")], {}
    )

    assert commands == {"alice": STOP, "bob": START}


@pytest.mark.parametrize(
    ("bodies", "command"),
    [
        (["STOP", "START"], START),
        (["START", "STOP"], STOP),
        (["STOP", "thanks"], STOP),  # a reply without a command changes nothing
        (["thanks", "nice", "start"], START),
        (["stop start", "START"], START),
        (["START", "start and stop"], STOP),
    ],
)
def test_the_repliers_last_command_in_the_batch_wins(bodies: list[str], command: OptCommand) -> None:
    batch = [comment("alice", body, f"r{i}") for i, body in enumerate(bodies)]

    assert count_opt_commands(batch, {}) == {"alice": command}


def test_a_patched_reply_is_read_from_the_stored_text() -> None:
    patched = comment("alice", "@@ -1,6 +1,4 @@\n-thanks\n+STOP\n", "r1")

    assert count_opt_commands([patched], {("alice", "r1"): "STOP"}) == {"alice": STOP}
    assert count_opt_commands([patched], {("alice", "r1"): "thanks"}) == {}


def test_a_patched_reply_is_never_read_as_its_patch_text() -> None:
    # The patch itself says STOP, but the comment's text no longer does: no command.
    patched = comment("alice", "@@ -1,4 +1,6 @@\n-STOP\n+thanks\n", "r1")

    assert count_opt_commands([patched], {("alice", "r1"): "thanks"}) == {}


@pytest.mark.parametrize("stored", [{("alice", "r1"): None}, {}])
def test_a_patched_reply_whose_text_is_unknown_says_nothing(stored: dict[tuple[str, str], None]) -> None:
    earlier = comment("alice", "START", "r0")
    patched = comment("alice", "@@ -1 +1 @@\n+STOP\n", "r1")

    assert count_opt_commands([earlier, patched], stored) == {"alice": START}


def test_stored_texts_are_not_read_for_whole_bodies() -> None:
    assert count_opt_commands([comment("alice", "STOP", "r1")], {("alice", "r1"): "start"}) == {"alice": STOP}


def test_commands_from_hand_made_blocks_end_to_end() -> None:
    found = replies(
        block(1, reply("alice", "r1", BOT, "n", "Stop please"), reply("bob", "r2", BOT, "n", "@@ -1 +1 @@")),
        block(2, reply("alice", "r3", BOT, "n", "Actually, START again")),
        block(3, reply(BOT, "r4", BOT, "n", "STOP")),
    )

    commands = count_opt_commands(found, {("bob", "r2"): "stop!"})

    assert commands == {"alice": START, "bob": STOP}
