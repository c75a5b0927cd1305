"""STOP and START: which words are commands, which replies count, and whose last command wins."""

from __future__ import annotations

from typing import Any

import pytest
from diff_match_patch import diff_match_patch
from hypothesis import given
from hypothesis import strategies as st

from bot.operations import Comment, parse_blocks
from bot.optouts import (
    MAX_KEPT_TEXT,
    OptCommand,
    ReadReply,
    find_opt_commands,
    is_patch,
    parse_opt_command,
    read_replies,
    replies_to,
    text_after,
    texts_to_keep,
    unread_replies,
)
from tests.support.blocks import block, post, reply, vote

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


def patch(before: str, after: str) -> str:
    dmp = diff_match_patch()
    text: str = dmp.patch_toText(dmp.patch_make(before, after))
    return text


# --- the text after an operation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "body", "text"),
    [
        # a whole body is the text, whatever came before
        (None, "STOP", "STOP"),
        ("thanks", "Thanks, but START", "Thanks, but START"),
        (None, "", ""),
        # a patch is applied to the text before it
        ("Thanks!", patch("Thanks!", "Thanks! But please stop."), "Thanks! But please stop."),
        ("STOP", patch("STOP", "thanks"), "thanks"),
        ("Thanks!\n\nline two", patch("Thanks!\n\nline two", "Thanks!\n\nSTOP"), "Thanks!\n\nSTOP"),
        ("héllo wörld 🐝", patch("héllo wörld 🐝", "héllo STOP 🐝"), "héllo STOP 🐝"),  # escaped characters
        ("", patch("", "stop"), "stop"),
        # unknown: no text before, a patch made against another text, a body that only looks like a patch
        (None, patch("Thanks!", "STOP"), None),
        ("Thanks!", patch("A text never seen here", "STOP"), None),
        ("Thanks!", "@@ not a patch at all", None),
        ("Thanks!", "@@ -1,4 +1,4 @@\n-cool\n+stop\n", None),  # removes what is not there
    ],
)
def test_the_text_after_an_operation_is_its_body_or_its_patch_applied_to_the_text_before(
    previous: str | None, body: str, text: str | None
) -> None:
    assert text_after(previous, body) == text


@given(st.text(), st.text())
def test_a_patch_turns_the_text_it_was_made_from_into_the_text_it_was_made_for(
    before: str, after: str
) -> None:
    body = patch(before, after)
    if is_patch(body):  # an empty patch ("" for equal texts) is an empty body: a whole text
        assert text_after(before, body) == after


# --- reading replies ---------------------------------------------------------------------------------------


def comment(author: str, body: str, permlink: str = "r") -> Comment:
    return Comment(author, permlink, BOT, "badge-posts-1-x-0123abcd", body)


def texts(read: list[ReadReply]) -> list[str | None]:
    return [item.text for item in read]


def test_a_patch_applies_to_the_text_from_earlier_in_the_batch_or_kept_from_earlier_batches() -> None:
    batch = [
        comment("alice", "Thanks!", "r1"),
        comment("alice", patch("Thanks!", "Thanks! Stop."), "r1"),
        comment("bob", patch("Nice", "Nice, stop"), "r2"),
    ]

    read = read_replies(batch, {("bob", "r2"): "Nice", ("alice", "r1"): "an older text"})

    assert texts(read) == ["Thanks!", "Thanks! Stop.", "Nice, stop"]
    assert unread_replies(read) == set()
    assert texts_to_keep(read) == {("alice", "r1"): "Thanks! Stop.", ("bob", "r2"): "Nice, stop"}


def test_a_patch_whose_text_before_is_unknown_is_left_to_read_from_a_node() -> None:
    batch = [
        comment("alice", patch("Thanks!", "STOP"), "r1"),
        comment("alice", patch("STOP", "STOP!"), "r1"),  # applies to the node's text, not to nothing
        comment("bob", "START", "r2"),
    ]

    read = read_replies(batch, {})
    assert texts(read) == [None, None, "START"]
    assert unread_replies(read) == {("alice", "r1")}
    assert texts_to_keep(read) == {("alice", "r1"): None, ("bob", "r2"): "START"}

    fetched = read_replies(batch, {}, {("alice", "r1"): "STOP!"})  # the node's text now: after both edits
    assert texts(fetched) == ["STOP!", "STOP!", "START"]
    assert texts_to_keep(fetched) == {("alice", "r1"): None, ("bob", "r2"): "START"}  # only the blocks' texts

    deleted = read_replies(batch, {}, {("alice", "r1"): None})  # the node no longer has it
    assert texts(deleted) == [None, None, "START"]


def test_a_whole_body_needs_no_text_before_and_replaces_the_kept_one() -> None:
    read = read_replies([comment("alice", "STOP", "r1")], {("alice", "r1"): "start"}, {("alice", "r1"): "x"})

    assert texts(read) == ["STOP"]


def test_texts_longer_than_the_bound_are_not_kept() -> None:
    long = "x" * MAX_KEPT_TEXT
    read = read_replies([comment("alice", long, "r1"), comment("bob", long + "x", "r2")], {})

    assert texts_to_keep(read) == {("alice", "r1"): long, ("bob", "r2"): None}


# --- find_opt_commands -----------------------------------------------------------------------------------


def commands_of(
    replies: list[Comment], kept: dict[tuple[str, str], str] | None = None
) -> dict[str, OptCommand]:
    return {
        account: opts[-1].command
        for account, opts in find_opt_commands(read_replies(replies, kept or {})).items()
    }


def test_each_replier_gets_their_own_command() -> None:
    commands = commands_of([comment("alice", "STOP"), comment("bob", "start"), comment("carol", "thanks!")])

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

    assert commands_of(batch) == {"alice": command}


def test_a_patched_reply_is_read_from_its_text_after_the_patch() -> None:
    assert commands_of([comment("alice", patch("thanks", "STOP"), "r1")], {("alice", "r1"): "thanks"}) == {
        "alice": STOP
    }


def test_a_patched_reply_is_never_read_as_its_patch_text() -> None:
    # The patch itself says STOP, but the comment's text no longer does: no command.
    patched = comment("alice", patch("STOP", "thanks"), "r1")
    assert "STOP" in patched.body

    assert commands_of([patched], {("alice", "r1"): "STOP"}) == {}


def test_a_patched_reply_whose_text_is_unknown_says_nothing() -> None:
    earlier = comment("alice", "START", "r0")
    patched = comment("alice", "@@ -1 +1 @@\n+STOP\n", "r1")

    assert commands_of([earlier, patched]) == {"alice": START}


def test_commands_from_hand_made_blocks_end_to_end() -> None:
    found = replies(
        block(1, reply("alice", "r1", BOT, "n", "Stop please"), reply("bob", "r2", BOT, "n", "Hi")),
        block(2, reply("alice", "r3", BOT, "n", "Actually, START again")),
        block(3, reply(BOT, "r4", BOT, "n", "STOP"), reply("bob", "r2", BOT, "n", patch("Hi", "Hi, stop!"))),
    )

    assert commands_of(found) == {"alice": START, "bob": STOP}
