"""Manners, pure: opt commands by custom_json and by replies naming families, opt states, mutes read from
follow operations, and what they silence in a batch's plan."""

from __future__ import annotations

import json

import pytest

from bot.badges import Badge, BadgeRules, Silence
from bot.manners import Refused, find_custom_opts, find_mutes, parse_custom_opt, parse_mute
from bot.metrics import FAMILIES, Metric
from bot.operations import CustomJson, parse_blocks
from bot.optouts import Opt, OptCommand, OptState, apply_opts, parse_opt
from bot.plan import CountPlan, OutboxChanges, OutboxView, plan_batch
from bot.tallies import Tally
from tests.support.blocks import custom_json
from tests.support.paths import FIXTURES

R, G, P, C = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS
STOP, START = OptCommand.STOP, OptCommand.START
BOT = "badge-bot"


def opt_json(
    payload: object, *, posting: tuple[str, ...] = ("alice",), active: tuple[str, ...] = ()
) -> CustomJson:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return CustomJson("hive-badge-bot", text, active, posting)


# --- custom_json opt commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (opt_json({"stop": "all"}), ("alice", Opt(STOP, None, "custom_json"))),
        (opt_json({"start": "all"}), ("alice", Opt(START, None, "custom_json"))),
        (opt_json({"stop": ["posts"]}), ("alice", Opt(STOP, frozenset({P}), "custom_json"))),
        (opt_json({"stop": ["posts", "comments"]}), ("alice", Opt(STOP, frozenset({P, C}), "custom_json"))),
        (opt_json({"start": ["Upvotes_Given"]}), ("alice", Opt(START, frozenset({G}), "custom_json"))),
        (opt_json({"stop": ["posts", "all"]}), ("alice", Opt(STOP, None, "custom_json"))),
        # the active authority proves the account as well as the posting one
        (opt_json({"stop": "all"}, posting=(), active=("alice",)), ("alice", Opt(STOP, None, "custom_json"))),
    ],
)
def test_an_opt_command_signed_by_one_account_is_that_accounts(
    op: CustomJson, expected: tuple[str, Opt]
) -> None:
    assert parse_custom_opt(op) == expected


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        (opt_json({"stop": "all"}, posting=("alice", "bob")), "signed by 2 accounts"),
        (opt_json({"stop": "all"}, posting=("alice",), active=("bob",)), "signed by 2 accounts"),
        (opt_json("not json"), "not JSON"),
        (opt_json(["stop", "all"]), "not an object"),
        (opt_json({"stop": "all", "start": "all"}), "not an object with one key"),
        (opt_json({}), "not an object with one key"),
        (opt_json({"pause": "all"}), "the key is 'pause'"),
        (opt_json({"stop": "everything"}), 'not "all" nor a list'),
        (opt_json({"stop": []}), 'not "all" nor a list'),
        (opt_json({"stop": [1]}), 'not "all" nor a list'),
        (opt_json({"stop": ["posts", "payouts"]}), "unknown families: 'payouts'"),
    ],
)
def test_an_opt_command_that_is_not_one_is_refused_with_its_reason(op: CustomJson, reason: str) -> None:
    refused = parse_custom_opt(op)
    assert isinstance(refused, Refused)
    assert reason in refused.reason


def test_families_are_the_metrics_values_whatever_they_are() -> None:
    for metric in Metric:
        assert parse_custom_opt(opt_json({"stop": [metric.value]})) == (
            "alice",
            Opt(STOP, frozenset({metric}), "custom_json"),
        )


def test_only_custom_jsons_with_the_configured_id_are_read_and_refusals_are_reported() -> None:
    raw = [
        block_with(
            custom_json("hive-badge-bot", {"stop": ["posts"]}, "alice"),
            custom_json("other-app", {"stop": "all"}, "bob"),
            custom_json("my-bot", {"stop": "all"}, "carol"),
            custom_json("hive-badge-bot", {"stop": "nope"}, "dave"),
            custom_json("hive-badge-bot", {"start": "all"}, "alice"),
        )
    ]
    found = find_custom_opts(parse_blocks(raw), "hive-badge-bot")
    assert found.commands == {
        "alice": [Opt(STOP, frozenset({P}), "custom_json"), Opt(START, None, "custom_json")]
    }
    assert [refused.signers for refused in found.refused] == [("dave",)]
    assert find_custom_opts(parse_blocks(raw), "my-bot").commands == {
        "carol": [Opt(STOP, None, "custom_json")]
    }


# --- replies naming families -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Opt(STOP)),
        ("stop please", Opt(STOP)),
        ("STOP posts", Opt(STOP, frozenset({P}))),
        ("STOP posts please", Opt(STOP, frozenset({P}))),
        ("stop comments, posts", Opt(STOP, frozenset({P, C}))),
        ("Stop upvotes_given and posts!", Opt(STOP, frozenset({G, P}))),
        ("STOP upvotes-received & comments", Opt(STOP, frozenset({R, C}))),
        ("STOP all", Opt(STOP)),
        ("STOP posts and all", Opt(STOP)),
        ("STOP. Posts are fine", Opt(STOP)),  # the list ends at any other character
        ("stop payouts", Opt(STOP)),  # not a family: every family, never fewer
        ("stop posts, stop", Opt(STOP)),  # a bare STOP anywhere: every family
        ("stop posts then stop comments", Opt(STOP, frozenset({P, C}))),
        ("START posts", Opt(START, frozenset({P}))),
        ("start", Opt(START)),
        ("START posts but stop comments", Opt(STOP, frozenset({C}))),  # a STOP wins, as before
        ("nonstop posts", None),
        ("stopped posts", None),
    ],
)
def test_a_reply_names_the_families_listed_right_after_its_word(text: str, expected: Opt | None) -> None:
    assert parse_opt(text) == expected


# --- opt states ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "opts", "after"),
    [
        (OptState(), [Opt(STOP)], OptState(everything=True)),
        (OptState(), [Opt(STOP, frozenset({P}))], OptState(families=frozenset({P}))),
        (
            OptState(families=frozenset({P})),
            [Opt(STOP, frozenset({C}))],
            OptState(families=frozenset({P, C})),
        ),
        (
            OptState(families=frozenset({P, C})),
            [Opt(START, frozenset({P}))],
            OptState(families=frozenset({C})),
        ),
        (OptState(families=frozenset({P})), [Opt(START)], OptState()),
        (OptState(everything=True), [Opt(STOP, frozenset({P}))], OptState(everything=True)),
        # START of some after a STOP of all: the others stay stopped
        (
            OptState(everything=True),
            [Opt(START, frozenset({P}))],
            OptState(families=frozenset(FAMILIES) - {P}),
        ),
        (OptState(), [Opt(STOP, frozenset({P})), Opt(STOP), Opt(START)], OptState()),
    ],
)
def test_opt_commands_apply_in_order(before: OptState, opts: list[Opt], after: OptState) -> None:
    assert apply_opts(before, opts) == after


def test_an_opt_state_wants_the_families_not_stopped() -> None:
    state = OptState(families=frozenset({P}))
    assert [state.wants(metric) for metric in (R, G, P, C)] == [True, True, False, True]
    assert not any(OptState(everything=True).wants(metric) for metric in Metric)


# --- mutes --------------------------------------------------------------------------------------------------


def follow(
    follower: str, following: object, what: object, *, signer: str | None = None, kind: str = "follow"
) -> CustomJson:
    text = json.dumps([kind, {"follower": follower, "following": following, "what": what}])
    return CustomJson("follow", text, (), (signer or follower,))


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (follow("alice", BOT, ["ignore"]), ("alice", True)),
        (follow("alice", BOT, []), ("alice", False)),
        (follow("alice", BOT, [""]), ("alice", False)),
        (follow("alice", BOT, ["blog"]), ("alice", False)),
        (follow("alice", BOT, ["follow"]), ("alice", False)),
        (follow("alice", BOT, [False]), ("alice", False)),
        (follow("alice", [BOT, "carol"], ["ignore"]), ("alice", True)),  # a list of names
        (follow("alice", "", ["reset_muted_list"]), ("alice", False)),
        (follow("alice", None, ["reset_all_lists"]), ("alice", False)),
        (follow("alice", "carol", ["ignore"]), None),  # toward someone else
        (follow("alice", BOT, ["blacklist"]), None),  # blacklists are not mutes
        (follow("alice", BOT, ["ignore"], signer="mallory"), None),  # the follower must sign
        (follow("alice", BOT, "ignore"), None),  # what must be a list
        (follow("alice", BOT, ["ignore"], kind="reblog"), None),
        (
            CustomJson(
                "follow",
                json.dumps({"follower": "alice", "following": BOT, "what": ["ignore"]}),
                (),
                ("alice",),
            ),
            None,
        ),
        (CustomJson("follow", "[", (), ("alice",)), None),
        (
            CustomJson(
                "follow",
                json.dumps(["follow", {"follower": "alice", "following": BOT, "what": ["ignore"]}]),
                ("alice",),
                (),
            ),
            None,
        ),
        (
            CustomJson(
                "other",
                json.dumps(["follow", {"follower": "alice", "following": BOT, "what": ["ignore"]}]),
                (),
                ("alice",),
            ),
            None,
        ),
    ],
)
def test_follow_operations_mute_the_bot_or_end_a_mute_as_hivemind_reads_them(
    op: CustomJson, expected: tuple[str, bool] | None
) -> None:
    assert parse_mute(op, BOT) == expected


def test_real_mainnet_follow_operations_are_read_and_reblogs_are_not() -> None:
    """workerbee's recorded answer for block 97,477,294 (one of the fixture's canned blocks, see
    tests/fixtures/README.md) holds gtg's and blocktrades' follows of thebeedevs (``"what": ["blog"]``) and
    two ``["reblog", …]`` operations under the same id, as mainnet front ends send them."""
    calls = json.loads((FIXTURES / "mainnet-2025-get_block-calls.json").read_text())
    blocks = parse_blocks([calls[3]["res"]["result"]["block"]])
    assert find_mutes(blocks, "thebeedevs") == {"gtg": False, "blocktrades": False}
    assert find_mutes(blocks, "fwaszkiewicz") == {}


def test_the_last_follow_operation_of_a_batch_decides() -> None:
    ops = [
        custom_json("follow", ["follow", {"follower": "alice", "following": BOT, "what": what}], "alice")
        for what in (["ignore"], [], ["ignore"])
    ]
    assert find_mutes(parse_blocks([block_with(*ops)]), BOT) == {"alice": True}


# --- what they silence --------------------------------------------------------------------------------------

RULES = BadgeRules({R: (1,), G: (1,), P: (1,), C: (1,)}, BOT)


def plan_silences(
    known: OutboxView, changes: OutboxChanges, badges: list[Badge]
) -> dict[Badge, Silence | None]:
    counted = CountPlan({}, crossings=tuple(badges))
    planned = plan_batch(counted, Tally(), changes, known, 10, 1_750_000_000)
    return {earned.badge: earned.silence for earned in planned.badges}


def test_an_account_opted_out_of_a_family_hears_of_the_others_only() -> None:
    badges = [Badge("alice", P, 1), Badge("alice", C, 1)]
    silences = plan_silences(
        OutboxView(stopped={"alice": frozenset({P})}), OutboxChanges(rules=RULES), badges
    )
    assert silences == {badges[0]: Silence.OPTED_OUT, badges[1]: None}


def test_a_batchs_family_stop_and_start_apply_before_its_badges() -> None:
    badges = [Badge("alice", P, 1), Badge("alice", C, 1)]
    changes = OutboxChanges(
        rules=RULES, opt_commands={"alice": [Opt(START, frozenset({P})), Opt(STOP, frozenset({C}))]}
    )
    silences = plan_silences(OutboxView(stopped={"alice": frozenset({P})}), changes, badges)
    assert silences == {badges[0]: None, badges[1]: Silence.OPTED_OUT}


@pytest.mark.parametrize(
    ("muted_before", "mutes", "silence"),
    [
        (False, {}, None),
        (True, {}, Silence.MUTED),
        (False, {"alice": True}, Silence.MUTED),
        (True, {"alice": False}, None),
    ],
)
def test_a_muting_account_hears_of_no_badge(
    muted_before: bool, mutes: dict[str, bool], silence: Silence | None
) -> None:
    badge = Badge("alice", P, 1)
    known = OutboxView(muted=frozenset({"alice"}) if muted_before else frozenset())
    assert plan_silences(known, OutboxChanges(rules=RULES, mutes=mutes), [badge]) == {badge: silence}


def test_the_plan_keeps_each_commanding_accounts_state_after_the_batch_and_its_last_source() -> None:
    changes = OutboxChanges(
        rules=RULES, opt_commands={"alice": [Opt(STOP), Opt(START, frozenset({P}), "custom_json")]}
    )
    planned = plan_batch(CountPlan({}), Tally(), changes, OutboxView(), 10, 1_750_000_000)
    assert planned.opt_states == {"alice": (OptState(families=frozenset(FAMILIES) - {P}), "custom_json")}


# --- helpers ------------------------------------------------------------------------------------------------


def block_with(*ops: dict[str, object]) -> dict[str, object]:
    return {
        "block_id": "00000009" + "0" * 32,
        "previous": "00000008" + "0" * 32,
        "timestamp": "2025-07-16T00:00:00",
        "transactions": [{"operations": [op]} for op in ops],
    }
