"""Badge notifications end to end: the bot signs and broadcasts with real beem to the devnet node, which checks
each transaction as hived would and includes it in the next block; users reply STOP and START with their
own keys. The head moves one block at a time (``SteppedBot``), so nothing waits on the wall clock."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from diff_match_patch import diff_match_patch
from structlog.testing import capture_logs

from bot.badges import Badge, select_announcements
from bot.errors import PermanentChainError, PostingKeyError
from bot.location import Location
from bot.metrics import Metric
from bot.notifications import Templates, render_notification
from bot.outbox import BadgeRecord, Notification, State
from bot.poster import may_comment
from bot.store import Store
from devnet.api import RpcError
from devnet.generator import ChainGenerator
from devnet.ledger import Accepted
from devnet.node import DevNode
from devnet.users import DevUser
from tests.chain.conformance.corpus import load
from tests.support.chains import chain_client
from tests.support.notifying import (
    BOT,
    LADDERS,
    SETTINGS,
    START,
    SteppedBot,
    bot_comments,
    generated_chain,
    posting_key,
)

SEGMENT_END = START + 400
DRAIN_END = SEGMENT_END + 150  # longer than per_account_interval (300 s = 100 blocks): all due ones go out


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return generated_chain()


@pytest.fixture
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    with DevNode(chain, head=START, irreversible_lag=1) as served:
        yield served


@pytest.fixture
def bot(node: DevNode, store_location: Location) -> Iterator[SteppedBot]:
    stepped = SteppedBot(node, store_location)
    yield stepped
    stepped.close()


def notifications(store: Store) -> list[Notification]:
    return [n for state in State for n in store.outbox.load_notifications(state)]


def user(node: DevNode, account: str, tmp_path: Path) -> DevUser:
    return DevUser(node, account, data_dir=tmp_path / "users" / account)


def first_delivered(bot: SteppedBot, until: int) -> Notification:
    """Run until a notification is delivered; that one."""
    for head in range(bot.node.clock.head() + 1, until + 1):
        bot.run(head)
        delivered = bot.poster_store.outbox.load_notifications(State.DELIVERED)
        if delivered:
            return delivered[0]
    raise AssertionError(f"no notification delivered by block {until}")


@pytest.fixture(scope="module")
def segment(chain: ChainGenerator, module_store_location: Location) -> Iterator[tuple[DevNode, Store]]:
    """A bot run over SEGMENT_END - START blocks of generated traffic, then DRAIN_END - SEGMENT_END more,
    on each backend."""
    path = module_store_location
    with DevNode(chain, head=START, irreversible_lag=1) as node:
        stepped = SteppedBot(node, path)
        stepped.run(DRAIN_END)
        stepped.close()
        with Store.open(path) as store:
            yield node, store


@pytest.mark.slow
def test_every_badge_due_on_a_segment_is_posted_exactly_once(segment: tuple[DevNode, Store]) -> None:
    node, store = segment
    comments = list(bot_comments(node, START, DRAIN_END))
    per_permlink = Counter(value["permlink"] for _, value in comments)
    assert len(per_permlink) >= 40
    assert set(per_permlink.values()) == {1}  # no comment re-sent, none posted twice
    by_permlink = {n.permlink: n for n in notifications(store)}
    assert {permlink for permlink in per_permlink} == {
        n.permlink for n in by_permlink.values() if n.state is State.DELIVERED
    }
    announced = [
        (badge, row)
        for account in {n.account for n in by_permlink.values()}
        for badge, row in _badges_of(store, account)
        if row["announced"] not in ("stale", "ignored", "opted_out")
    ]
    due = [(badge, row) for badge, row in announced if row["block"] <= SEGMENT_END]
    assert due and all(row["announced"] == State.DELIVERED for _, row in due)
    badge_notifications = Counter(badge for badge, _ in announced)
    assert set(badge_notifications.values()) == {1}  # each badge in one notification only


def _badges_of(store: Store, account: str) -> Iterator[tuple[tuple[str, str, int], dict[str, Any]]]:
    for row in store.outbox.load_badges(account):
        yield (account, str(row["metric"]), int(row["threshold"])), row  # type: ignore[call-overload]


@pytest.mark.slow
def test_each_notification_replies_to_the_accounts_newest_recent_root_post(
    segment: tuple[DevNode, Store],
) -> None:
    node, store = segment
    by_permlink = {n.permlink: n for n in notifications(store)}
    for block, value in bot_comments(node, START, DRAIN_END):
        notification = by_permlink[value["permlink"]]
        assert value["parent_author"] == notification.account
        parent = node.ledger.comment(value["parent_author"], value["parent_permlink"], block)
        assert parent is not None and parent.depth == 0
        # sent with the head at block - 1, when the bot knew the irreversible blocks up to block - 2
        known = block - 1 - node.clock.irreversible_lag
        newest = next(node.ledger.root_posts(notification.account, known, known - 30 * 28_800))
        assert newest[1] == value["parent_permlink"]
        assert node.ledger.block_time(block) - parent.created < 30 * 86_400


@pytest.mark.slow
def test_the_bots_comments_are_at_least_3_seconds_apart_in_chain_time(segment: tuple[DevNode, Store]) -> None:
    node, _ = segment
    times = [node.ledger.block_time(block) for block, _ in bot_comments(node, START, DRAIN_END)]
    assert len(times) >= 40
    assert all(later - earlier >= 3 for earlier, later in itertools.pairwise(times))


@pytest.mark.slow
def test_the_text_names_the_highest_badge_per_metric_and_the_next_target(
    segment: tuple[DevNode, Store],
) -> None:
    node, store = segment
    by_permlink = {n.permlink: n for n in notifications(store)}
    merged = 0
    for _, value in bot_comments(node, START, DRAIN_END):
        notification = by_permlink[value["permlink"]]
        announcements = select_announcements(notification.badges, LADDERS)
        assert value["body"] == render_notification(notification.account, BOT, announcements, Templates())
        assert value["body"].startswith(f"Congratulations @{notification.account}! ")
        assert json.loads(value["json_metadata"])["badges"] == [
            f"{item.metric.value}:{item.threshold}" for item in announcements
        ]
        assert "reply to this comment with the word `STOP`" in value["body"]
        merged += len(notification.badges) > 1
    assert merged >= 1  # several badges of one account went out as one comment


@pytest.mark.slow
def test_a_notification_per_account_waits_the_per_account_interval(segment: tuple[DevNode, Store]) -> None:
    node, store = segment
    by_permlink = {n.permlink: n for n in notifications(store)}
    sent: dict[str, list[int]] = defaultdict(list)
    for block, value in bot_comments(node, START, DRAIN_END):
        sent[by_permlink[value["permlink"]].account].append(node.ledger.block_time(block))
    gaps = [b - a for times in sent.values() for a, b in itertools.pairwise(times)]
    assert gaps, "no account was notified twice: the segment does not test the interval"
    assert min(gaps) >= SETTINGS.per_account_interval


@pytest.mark.slow
def test_a_stop_reply_opts_out_its_author_for_good(node: DevNode, bot: SteppedBot, tmp_path: Path) -> None:
    notified = first_delivered(bot, START + 300)
    stop = user(node, notified.account, tmp_path).stop(BOT, notified.permlink, body="Stop please!")
    assert stop is not None
    bot.run(START + 700)
    outbox = bot.poster_store.outbox
    assert [row[0] for row in outbox.load_optouts()] == [notified.account]
    later = [
        n for n in notifications(bot.poster_store) if n.account == notified.account and n.id != notified.id
    ]
    assert all(n.state is State.DROPPED for n in later)
    after_stop = [
        v for b, v in bot_comments(node, stop.block, START + 700) if v["parent_author"] == notified.account
    ]
    assert after_stop == []
    silent = [row for row in outbox.load_badges(notified.account) if row["announced"] == "opted_out"]
    assert silent, "the account kept earning badges, silently"


@pytest.mark.slow
def test_a_stop_by_someone_else_opts_out_only_that_someone(
    node: DevNode, bot: SteppedBot, tmp_path: Path, chain: ChainGenerator
) -> None:
    notified = first_delivered(bot, START + 300)
    other = next(name for name in chain.accounts if name != notified.account)
    assert user(node, other, tmp_path).stop(BOT, notified.permlink) is not None
    bot.run(START + 700)
    assert [row[0] for row in bot.poster_store.outbox.load_optouts()] == [other]
    again = [v for _, v in bot_comments(node, START, START + 700) if v["parent_author"] == notified.account]
    assert len(again) >= 2, "the author whose notification got the STOP is still notified"


@pytest.mark.slow
def test_start_opts_back_in(node: DevNode, bot: SteppedBot, tmp_path: Path) -> None:
    notified = first_delivered(bot, START + 300)
    replier = user(node, notified.account, tmp_path)
    stop = replier.stop(BOT, notified.permlink)
    assert stop is not None
    bot.run(stop.block + 2)
    assert bot.poster_store.outbox.load_opted_out([notified.account]) == {notified.account}
    start = replier.reply(BOT, notified.permlink, "Changed my mind: START again")
    assert start is not None
    bot.run(START + 900)
    assert bot.poster_store.outbox.load_opted_out([notified.account]) == set()
    after = [
        v for b, v in bot_comments(node, start.block, START + 900) if v["parent_author"] == notified.account
    ]
    assert after, "no notification after START"


def patch(before: str, after: str) -> str:
    """An edit's body as PeakD and Ecency send it: a diff-match-patch text turning ``before`` into ``after``."""
    dmp = diff_match_patch()
    text: str = dmp.patch_toText(dmp.patch_make(before, after))
    return text


THANKS = "re-badges-thanks"


def thanked(node: DevNode, bot: SteppedBot, tmp_path: Path) -> tuple[Notification, DevUser, int]:
    """The first notification delivered, and its author who replied "Thanks!" (permlink ``THANKS``) to it;
    the reply's block."""
    notified = first_delivered(bot, START + 300)
    replier = user(node, notified.account, tmp_path)
    first = replier.reply(BOT, notified.permlink, "Thanks!", permlink=THANKS)
    assert first is not None
    return notified, replier, first.block


def test_an_edit_sent_as_a_patch_is_read_as_the_text_it_makes(
    node: DevNode, bot: SteppedBot, tmp_path: Path
) -> None:
    notified, replier, first = thanked(node, bot, tmp_path)
    bot.run(first + 2)
    assert bot.poster_store.outbox.load_opted_out([notified.account]) == set()
    stop = patch("Thanks!", "Thanks! But please stop.")
    assert stop.startswith("@@ ") and "stop" not in stop.lower().split("please")[0]
    edit = replier.reply(BOT, notified.permlink, stop, permlink=THANKS)
    assert edit is not None
    bot.run(edit.block + 2)
    assert bot.poster_store.outbox.load_opted_out([notified.account]) == {notified.account}
    assert "condenser_api.get_content" not in node.requests  # from the blocks alone


def edit_then_delete(node: DevNode, replier: DevUser, parent: str, body: str) -> int:
    """Edit ``replier``'s reply ``THANKS`` to the bot's ``parent`` with ``body``, then delete it, in two
    blocks the bot does not read yet; the block of the deletion."""
    node.clock.set_head(node.clock.head() + 1)
    edit = replier.reply(BOT, parent, body, permlink=THANKS)
    assert edit is not None
    node.clock.set_head(edit.block)
    deleted = replier.delete(THANKS)
    assert deleted is not None
    return deleted.block


@pytest.mark.parametrize("seen_before", [True, False], ids=["reply-read-in-an-earlier-batch", "same-batch"])
def test_a_stop_sent_as_a_patch_holds_though_the_reply_is_deleted_before_the_bot_reads_it(
    node: DevNode, bot: SteppedBot, tmp_path: Path, seen_before: bool
) -> None:
    notified, replier, first = thanked(node, bot, tmp_path)
    if seen_before:
        bot.run(first + 2)
    else:
        node.clock.set_head(first)
    stop = patch("Thanks!", "Thanks! But please stop.")
    deleted = edit_then_delete(node, replier, notified.permlink, stop)

    bot.run(deleted + 3)

    assert bot.errors == []
    assert bot.follower_store.load_checkpoint().block_num >= deleted  # type: ignore[union-attr]
    assert bot.poster_store.outbox.load_opted_out([notified.account]) == {notified.account}
    assert "condenser_api.get_content" not in node.requests  # read from the blocks alone


def test_a_patch_the_bot_cannot_apply_to_a_deleted_reply_holds_nothing_back(
    node: DevNode, bot: SteppedBot, tmp_path: Path
) -> None:
    notified, replier, first = thanked(node, bot, tmp_path)
    bot.run(first + 2)
    stop = patch("A text the bot never saw", "STOP")  # does not apply to "Thanks!": the node is asked
    deleted = edit_then_delete(node, replier, notified.permlink, stop)

    with capture_logs() as logs:
        bot.run(deleted + 3)

    assert bot.errors == []
    assert bot.follower_store.load_checkpoint().block_num >= deleted  # type: ignore[union-attr]
    assert bot.poster_store.outbox.load_opted_out([notified.account]) == set()  # the node had no text
    unread = [line for line in logs if line["event"] == "content_unavailable"]
    assert [(line["author"], line["permlink"]) for line in unread] == [(notified.account, THANKS)]
    assert not [line for line in logs if line["event"] == "node_failed"]


def test_with_a_head_that_moves_before_the_broadcast_arrives_no_comment_is_refused_and_each_posts_once(
    node: DevNode, bot: SteppedBot
) -> None:
    """At each block the bot's first broadcast reaches the node one block late: it lands two blocks past the
    head the bot read. Paced on that head, the next comment (sent with the head one block on) would land in
    the same block and be refused ("You may only comment once every 3 seconds"); paced on where the previous
    one landed (the account's ``last_post_edit``), none is."""
    backlog, end = START + 200, START + 300
    for head in range(START + 1, backlog + 1):  # the poster is off meanwhile: notifications pile up
        node.clock.set_head(head)
        while bot.follower.step() is not None:
            pass
    assert len(bot.poster_store.outbox.load_notifications(State.WAITING)) >= 5
    with capture_logs() as logs:
        for head in range(backlog + 1, end + 1):
            node.faults.late.clear()
            node.faults.late.add(blocks=1)
            bot.run(head)
        node.faults.late.clear()
        bot.run(end + 10)
    refused = [entry for entry in logs if entry["event"] in ("notification_failed", "notification_parked")]
    assert refused == []
    comments = list(bot_comments(node, START, end + 10))
    assert len(comments) >= 10
    assert Counter(value["permlink"] for _, value in comments) == Counter(
        {n.permlink: 1 for n in notifications(bot.poster_store) if n.state is not State.WAITING}
    )  # every notification sent is on chain once, none re-sent
    blocks = [block for block, _ in comments]
    assert len(set(blocks)) == len(blocks)


@pytest.mark.parametrize(
    ("now", "last_broadcast", "last_comment", "allowed"),
    [
        (1000, None, 0, True),  # never posted
        (1000, 994, 994, True),  # the previous one landed 6 s ago
        (1000, 997, 997, True),  # 3 s ago: the chain's minimum
        (1000, 997, 998, False),  # it landed later than the head it was sent with: 2 s ago
        (1000, 997, 990, False),  # not applied yet (the chain's is older than the head it was sent with)
        (1000, 900, 890, True),  # not applied, but expired (60 s): it never will be
        (1000, 940, 890, False),  # not applied, expiring now: it still may be
    ],
)
def test_the_next_comment_waits_for_the_previous_one_to_land(
    now: int, last_broadcast: int | None, last_comment: int, allowed: bool
) -> None:
    assert may_comment(now, last_broadcast, last_comment, min_interval=3, expiration=60) is allowed


def test_a_crash_after_a_broadcast_creates_no_second_comment(
    node: DevNode, bot: SteppedBot, tmp_path: Path
) -> None:
    for head in range(START + 1, START + 300):
        bot.run(head)
        if any(report.outcome == "sent" for report in bot.reports):
            break
    sent = next(report.notification for report in bot.reports if report.outcome == "sent")
    crashed_at = node.clock.head()
    restarted = bot.restarted()  # the comment is on its way; nothing of the bot's memory survives
    try:
        restarted.run(crashed_at + 40)
    finally:
        restarted.close()
    assert [v["permlink"] for _, v in bot_comments(node, START, crashed_at + 40)].count(sent.permlink) == 1
    with Store.open(bot.store_path) as store:
        found = store.outbox.load_notification(sent.id)
    assert found is not None and found.state is State.DELIVERED and found.attempts == 1


def test_a_crash_after_marking_sent_but_before_broadcasting_posts_once_after_expiry(
    node: DevNode, bot: SteppedBot
) -> None:
    """The poster commits 'sent' and dies before the broadcast: nothing is on chain. Once the transaction it
    would have sent has expired unseen, the notification goes out, once."""
    while not bot.poster_store.outbox.load_notifications(State.WAITING):
        bot.run(node.clock.head() + 1)
    waiting = bot.poster_store.outbox.load_notifications(State.WAITING)[0]
    head = node.clock.head()
    while waiting.not_before > node.ledger.block_time(head):
        head += 1
    node.clock.set_head(head)
    parent = bot.poster._reply_target(waiting.account, node.ledger.block_time(head))
    assert parent is not None
    assert bot.poster_store.outbox.mark_sent(waiting.id, parent, node.ledger.block_time(head))
    restarted = bot.restarted()
    try:
        restarted.run(head + 10)
        assert restarted.poster_store.outbox.load_notification(waiting.id).state is State.SENT  # type: ignore[union-attr]
        restarted.run(head + 150)  # expiration is 60 s = 20 blocks; then it waits its turn
        found = restarted.poster_store.outbox.load_notification(waiting.id)
    finally:
        restarted.close()
    assert found is not None and found.state is State.DELIVERED
    assert [v["permlink"] for _, v in bot_comments(node, head, head + 150)].count(waiting.permlink) == 1


def test_a_lost_transaction_is_sent_again_and_lands_once(node: DevNode, bot: SteppedBot) -> None:
    node.faults.drop()  # the next broadcast is answered "accepted" and never reaches a block
    with capture_logs() as logs:
        bot.run(START + 200)
    lost = [entry for entry in logs if entry["event"] == "notifications_lost"]
    assert lost and lost[0]["count"] == 1
    permlinks = Counter(v["permlink"] for _, v in bot_comments(node, START, START + 200))
    assert permlinks and set(permlinks.values()) == {1}
    assert bot.poster_store.outbox.load_notifications(State.SENT) == [] or all(
        n.sent_time is not None for n in bot.poster_store.outbox.load_notifications(State.SENT)
    )


def test_an_answer_lost_after_the_chain_took_the_comment_sends_nothing_again(
    node: DevNode, bot: SteppedBot
) -> None:
    """The node takes the transaction and the connection dies before its answer: the bot cannot know. It
    waits for the chain rather than re-sending (which could only edit the comment), and the comment lands."""
    node.faults.lose_answer()
    with capture_logs() as logs:
        bot.run(START + 200)
    unconfirmed = [entry for entry in logs if entry["event"] == "notification_unconfirmed"]
    assert len(unconfirmed) == 1
    operations = Counter(v["permlink"] for _, v in bot_comments(node, START, START + 200))
    assert operations[unconfirmed[0]["permlink"]] == 1  # in a block once: neither lost nor edited
    assert set(operations.values()) == {1}
    found = [n for n in notifications(bot.poster_store) if n.permlink == unconfirmed[0]["permlink"]]
    assert found[0].state is State.DELIVERED and found[0].attempts == 1


def test_a_refused_broadcast_is_retried_with_the_same_permlink(node: DevNode, bot: SteppedBot) -> None:
    node.faults.reject("Assert Exception:comment.allow_replies: Comment is not accepting replies.")
    with capture_logs() as logs:
        bot.run(START + 200)
    failed = [entry for entry in logs if entry["event"] == "notification_failed"]
    assert len(failed) == 1
    operations = Counter(v["permlink"] for _, v in bot_comments(node, START, START + 200))
    assert operations[failed[0]["permlink"]] == 1
    found = [n for n in notifications(bot.poster_store) if n.permlink == failed[0]["permlink"]]
    assert found[0].state is State.DELIVERED and found[0].attempts == 2


def test_resource_credits_below_the_reserve_pause_posting_until_they_regenerate(
    node: DevNode, bot: SteppedBot
) -> None:
    node.ledger.set_rc(BOT, START, max_rc=10**12, current_mana=5 * 10**10)  # 5 %: below the 10 % reserve
    with capture_logs() as logs:
        bot.run(START + 150)
    assert list(bot_comments(node, START, START + 150)) == []
    assert [e for e in logs if e["event"] == "posting_paused"][:1] and sum(
        e["event"] == "posting_paused" for e in logs
    ) == 1  # one warning per pause, not one per try
    assert bot.poster_store.outbox.load_notifications(State.WAITING)
    node.ledger.set_rc(BOT, node.clock.head(), current_mana=10**12)
    with capture_logs() as logs:
        bot.run(START + 250)
    assert list(bot_comments(node, START + 150, START + 250))
    assert any(e["event"] == "posting_resumed" for e in logs)


def test_dry_run_broadcasts_nothing_and_records_what_it_would_post(node: DevNode, tmp_path: Path) -> None:
    dry = SteppedBot(node, tmp_path / "dry.sqlite", dry_run=True)
    try:
        with capture_logs() as logs:
            dry.run(START + 200)
        recorded = dry.poster_store.outbox.load_notifications(State.DRY_RUN)
    finally:
        dry.close()
    assert recorded
    assert not any("broadcast" in method for method in node.requests)
    assert list(bot_comments(node, START, START + 200)) == []
    lines = [e for e in logs if e["event"] == "notification_dry_run"]
    assert len(lines) == len(recorded)
    assert all(line["body"].startswith("Congratulations @") for line in lines)


def test_the_posting_key_must_be_the_accounts_posting_key(node: DevNode, bot: SteppedBot) -> None:
    bot.poster.check_key()  # the posting key passes
    for role in ("active", "owner"):
        bot.poster.key = posting_key(role=role)
        with pytest.raises(PostingKeyError, match=f"{role} key; the bot must have the POSTING key only"):
            bot.poster.check_key()
    bot.poster.key = posting_key(account="someone-else")
    with pytest.raises(PostingKeyError, match="is not a posting key of @badge-bot"):
        bot.poster.check_key()


def test_the_last_comment_time_of_an_account_the_chain_does_not_have_is_an_error(node: DevNode) -> None:
    with pytest.raises(PermanentChainError, match="no account 'nobody-here'"):
        chain_client(node.url).fetch_last_comment_time("nobody-here")


def test_the_posting_key_never_shows_in_its_repr() -> None:
    key = posting_key()
    assert key.wif() not in repr(key) and key.wif() not in str(key) and key.wif() not in f"{key}"
    assert repr(key) == f"PostingKey({key.public})"


def test_badges_found_long_after_they_were_earned_are_recorded_not_announced(
    node: DevNode, tmp_path: Path
) -> None:
    """A bot catching up after downtime: the blocks it reads are 23 hours older than the chain's head."""
    node.clock.set_head(START + 28_000)  # 23 hours later
    catching_up = SteppedBot(
        node, tmp_path / "late.sqlite", settings=replace(SETTINGS, max_crossing_age=3600)
    )
    try:
        catching_up.follower.step(START + 400)
        summary = catching_up.follower_store.outbox.load_summary()
    finally:
        catching_up.close()
    assert isinstance(summary["badges"], int) and summary["badges"] > 0
    assert summary["notifications"] == {state.value: 0 for state in State}


def test_payout_options_go_with_the_reply(node: DevNode, tmp_path: Path, chain: ChainGenerator) -> None:
    """decline_payout and beneficiaries: a comment_options operation in the same transaction."""
    beneficiary = chain.accounts[5]  # a beneficiary must exist (the node checks, as hived does)
    settings = replace(SETTINGS, decline_payout=True, beneficiaries=((beneficiary, 500),))
    paying = SteppedBot(node, tmp_path / "options.sqlite", settings=settings)
    try:
        notified = first_delivered(paying, START + 300)
    finally:
        paying.close()
    options = [
        operation["value"]
        for num in range(START, node.clock.head() + 1)
        for transaction in (node.ledger.block(num) or {}).get("transactions", [])
        for operation in transaction["operations"]
        if operation["type"] == "comment_options_operation" and operation["value"]["author"] == BOT
    ]
    mine = [value for value in options if value["permlink"] == notified.permlink]
    assert len(mine) == 1
    assert mine[0]["max_accepted_payout"] == {"amount": "0", "precision": 3, "nai": "@@000000013"}
    assert mine[0]["extensions"] == [
        {
            "type": "comment_payout_beneficiaries",
            "value": {"beneficiaries": [{"account": beneficiary, "weight": 500}]},
        }
    ]


# --- manners: mutes and quiet opt-outs ---------------------------------------------------------------------


def comments_to(node: DevNode, account: str, first: int, last: int) -> list[int]:
    return [block for block, value in bot_comments(node, first, last) if value["parent_author"] == account]


def test_the_devnet_answers_hiveminds_relationship_from_the_follow_operations_it_saw(
    node: DevNode, tmp_path: Path, chain: ChainGenerator
) -> None:
    """The answer's keys: hivemind's pattern ``get_relationship_between_accounts/ignores.pat.json``."""
    alice = user(node, chain.accounts[0], tmp_path)
    chain_reader = chain_client(node.url)
    assert chain_reader.fetch_mutes(alice.account, BOT) is False
    muted = alice.mute(BOT)
    assert muted is not None
    node.clock.set_head(muted.block)
    assert chain_reader.fetch_mutes(alice.account, BOT) is True
    unmuted = alice.unmute(BOT)
    assert unmuted is not None
    node.clock.set_head(unmuted.block)
    assert chain_reader.fetch_mutes(alice.account, BOT) is False


@pytest.mark.slow
def test_a_muting_account_is_never_notified_until_it_unmutes(
    node: DevNode, bot: SteppedBot, tmp_path: Path
) -> None:
    notified = first_delivered(bot, START + 300)
    account = user(node, notified.account, tmp_path)
    mute = account.mute(BOT)
    assert mute is not None
    bot.run(START + 700)
    outbox = bot.poster_store.outbox
    assert outbox.load_mute(notified.account) is True
    assert comments_to(node, notified.account, mute.block, START + 700) == []
    assert [row for row in outbox.load_badge_records(notified.account) if row.announced == "muted"], (
        "the account kept earning badges, silently"
    )
    unmute = account.unmute(BOT)
    assert unmute is not None
    bot.run(START + 1100)
    assert outbox.load_mute(notified.account) is False
    later = [row for row in outbox.load_badge_records(notified.account) if row.block_num > unmute.block]
    assert all(row.announced not in ("muted", "opted_out") for row in later)


@pytest.mark.slow
def test_an_account_opted_out_of_a_family_by_custom_json_hears_only_of_the_others_until_it_starts(
    node: DevNode, bot: SteppedBot, tmp_path: Path
) -> None:
    notified = first_delivered(bot, START + 300)
    family = notified.badges[0].metric
    account = user(node, notified.account, tmp_path)
    stop = account.opt({"stop": [family.value]})
    assert stop is not None
    bot.run(START + 700)
    outbox = bot.poster_store.outbox
    after = [
        row
        for row in outbox.load_badge_records(notified.account)
        if row.block_num > stop.block and row.metric == family
    ]
    assert after, f"the account earned no {family} badge after its stop: nothing was tested"
    assert all(row.announced == "opted_out" for row in after)
    sent = [n for state in State for n in outbox.load_notifications(state) if n.account == notified.account]
    assert all(badge.metric != family for n in sent if n.id != notified.id for badge in n.badges)
    start = account.opt({"start": "all"})
    assert start is not None
    bot.run(START + 1100)
    assert bot.poster_store.outbox.load_view_of(notified.account).opt_state(notified.account).opted_in
    later = [row for row in outbox.load_badge_records(notified.account) if row.block_num > start.block]
    assert all(row.announced != "opted_out" for row in later)


STEADY_LADDERS = {**LADDERS, Metric.COMMENTS: tuple(range(2, 400, 2))}
"""A comments badge every two comments: an account that keeps replying keeps earning."""


def earn_a_comments_badge(bot: SteppedBot, replier: DevUser, parent: str, after: int) -> BadgeRecord:
    """Reply to the bot's comment ``parent`` until the replier earns a comments badge after block ``after``."""
    for attempt in range(4):
        sent = replier.reply(BOT, parent, "Nice badge!", permlink=f"re-nice-{after}-{attempt}")
        assert sent is not None
        bot.run(sent.block + 2)
        earned = [
            row
            for row in bot.poster_store.outbox.load_badge_records(replier.account)
            if row.metric is Metric.COMMENTS and row.block_num > after
        ]
        if earned:
            return earned[0]
    raise AssertionError(f"@{replier.account} earned no comments badge after block {after}")


def holding(store: Store, account: str, badge: BadgeRecord) -> list[Notification]:
    wanted = Badge(account, badge.metric, badge.threshold)
    return [n for n in notifications(store) if wanted in n.badges]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("silence", "resume", "silent_as"),
    [
        (lambda user: user.mute(BOT), lambda user: user.unmute(BOT), "muted"),
        (
            lambda user: user.opt({"stop": ["comments"]}),
            lambda user: user.opt({"start": ["comments"]}),
            "opted_out",
        ),
    ],
    ids=["mute-unmute", "custom-json-stop-start"],
)
def test_notifications_resume_after_an_unmute_or_a_start_with_one_comment_for_the_new_badge(
    node: DevNode,
    store_location: Location,
    tmp_path: Path,
    silence: Callable[[DevUser], Accepted | None],
    resume: Callable[[DevUser], Accepted | None],
    silent_as: str,
) -> None:
    bot = SteppedBot(node, store_location, ladders=STEADY_LADDERS)
    try:
        notified = first_delivered(bot, START + 300)
        account = user(node, notified.account, tmp_path)
        silenced = silence(account)
        assert silenced is not None
        bot.run(silenced.block + 1)
        quiet = earn_a_comments_badge(bot, account, notified.permlink, silenced.block)
        assert quiet.announced == silent_as and holding(bot.poster_store, account.account, quiet) == []
        resumed = resume(account)
        assert resumed is not None
        bot.run(resumed.block + 1)
        new = earn_a_comments_badge(bot, account, notified.permlink, resumed.block)
        bot.run(new.block_num + 150)  # past the per-account interval (100 blocks) and the delivery
        (announcing,) = holding(bot.poster_store, account.account, new)
        assert announcing.state is State.DELIVERED
        comments = [v["permlink"] for _, v in bot_comments(node, resumed.block, node.clock.head())]
        assert comments.count(announcing.permlink) == 1
        assert (
            holding(bot.poster_store, account.account, quiet) == []
        )  # the silent badge never announced later
    finally:
        bot.close()


@pytest.mark.slow
def test_an_account_hivemind_does_not_know_is_taken_as_not_muting_asked_once_and_notified(
    node: DevNode, bot: SteppedBot
) -> None:
    """hivemind refuses the question for an account it does not have, as a node whose hivemind lags refuses
    it for a new account: its answer is the real one (the corpus's ``bridge.get_relationship_between_
    accounts.account2_invalid``, hivemind's negative pattern), naming the account asked about."""
    real = load("bridge.get_relationship_between_accounts.account2_invalid").error
    assert real is not None

    def refuse(params: dict[str, Any]) -> Any:
        raise RpcError(real["code"], real["message"].replace("gtg", params["account1"]), real["data"])

    node.api.methods["bridge.get_relationship_between_accounts"] = refuse
    with capture_logs() as logs:
        notified = first_delivered(bot, START + 300)
        bot.run(START + 400)
    unknown = [entry["account"] for entry in logs if entry["event"] == "mute_unknown"]
    assert notified.account in unknown
    assert (
        len(unknown)
        == len(set(unknown))
        == list(node.requests).count("bridge.get_relationship_between_accounts")
    )  # once an account: the answer is remembered as no mute
    assert all(bot.poster_store.outbox.load_mute(account) is False for account in unknown)


@pytest.mark.slow
def test_the_poster_asks_a_node_once_per_account_whether_it_mutes_the_bot(
    segment: tuple[DevNode, Store],
) -> None:
    """Asked per notification, the node would hear as many questions as notifications reached the poster:
    more than the accounts that have any."""
    node, store = segment
    asked = list(node.requests).count("bridge.get_relationship_between_accounts")
    reached = [n for n in notifications(store) if n.state is not State.WAITING]
    delivered = {n.account for n in reached if n.state is State.DELIVERED}
    assert len(reached) > len({n.account for n in notifications(store)}), "nothing tests 'once'"
    assert len(delivered) <= asked <= len({n.account for n in notifications(store)})
    assert store.outbox.load_mutes() == []  # no generated account mutes the bot


@pytest.mark.slow
def test_a_family_stopped_by_custom_json_leaves_a_waiting_notification_dropped_if_nothing_is_left(
    node: DevNode, store_location: Location, tmp_path: Path
) -> None:
    """The notification holds the comments badge alone (the per-account interval holds it back); a
    notification keeping other families' badges is tested on the store (``tests/store/test_outbox.py``)."""
    bot = SteppedBot(node, store_location, ladders=STEADY_LADDERS)
    try:
        notified = first_delivered(bot, START + 300)
        account = user(node, notified.account, tmp_path)
        earned = earn_a_comments_badge(bot, account, notified.permlink, node.clock.head())
        (waiting,) = holding(bot.poster_store, account.account, earned)
        assert waiting.state is State.WAITING  # the per-account interval holds it back
        stop = account.opt({"stop": ["comments"]})
        assert stop is not None
        bot.run(stop.block + 1)
        after = bot.poster_store.outbox.load_notification(waiting.id)
        assert after is not None and after.badges == () and after.state is State.DROPPED
        records = bot.poster_store.outbox.load_badge_records(account.account)
        same = [row for row in records if (row.metric, row.threshold) == (earned.metric, earned.threshold)]
        assert [row.announced for row in same] == ["opted_out"]
        bot.run(stop.block + 150)
        permlinks = [v["permlink"] for _, v in bot_comments(node, stop.block, node.clock.head())]
        assert holding(bot.poster_store, account.account, earned) == []
        assert waiting.permlink not in permlinks
    finally:
        bot.close()


# --- digests -----------------------------------------------------------------------------------------------

DIGEST_SETTINGS = replace(SETTINGS, digest_interval=900, max_crossing_age=300)
"""A digest period of 300 blocks (a week on mainnet), three times the per-account interval, and longer than
``max_crossing_age``: a badge waiting in a digest is not found late."""


def delivered_to(store: Store, account: str, after: int) -> list[Notification]:
    """``account``'s delivered notifications sent after chain time ``after``, in order."""
    found = [n for n in store.outbox.load_notifications(State.DELIVERED) if n.account == account]
    return sorted((n for n in found if (n.sent_time or 0) > after), key=lambda n: n.sent_time or 0)


@pytest.mark.slow
def test_an_account_on_a_digest_gets_one_comment_with_all_its_badges_a_period_after_its_last_until_it_stops(
    node: DevNode, store_location: Location, tmp_path: Path
) -> None:
    bot = SteppedBot(node, store_location, settings=DIGEST_SETTINGS)
    try:
        last = first_delivered(bot, START + 300)
        assert last.sent_time is not None
        account = user(node, last.account, tmp_path)
        chosen = account.opt({"digest": "weekly"})
        assert chosen is not None
        chosen_time = node.ledger.block_time(chosen.block)
        bot.run(chosen.block + 400)
        store, time_of_block = bot.poster_store, node.ledger.block_time
        assert store.outbox.load_view_of(last.account).digests == {last.account: chosen_time}
        [digest] = delivered_to(store, last.account, last.sent_time)
        assert digest.sent_time is not None and digest.sent_time >= max(chosen_time, last.sent_time) + 900
        assert [
            v["permlink"] for v in comment_values(node, last.account, chosen.block, chosen.block + 400)
        ] == [digest.permlink]
        period = [
            row
            for row in store.outbox.load_badge_records(last.account)
            if last.sent_time <= time_of_block(row.block_num) < digest.sent_time
        ]
        assert len(period) >= 2, (
            "the account earned fewer than two badges in the period: nothing was gathered"
        )
        assert {row.permlink for row in period} == {digest.permlink}  # all in it, none silenced as late
        [comment] = comment_values(node, last.account, chosen.block, chosen.block + 400)
        announcements = select_announcements(digest.badges, LADDERS)
        assert comment["body"] == render_notification(last.account, BOT, announcements, Templates())

        off = account.opt({"digest": "off"})
        assert off is not None
        bot.run(off.block + 300)
        assert store.outbox.load_view_of(last.account).digests == {}
        after_off = delivered_to(store, last.account, digest.sent_time)
        assert after_off, "no notification after the digest was turned off: nothing was tested"
        next_time = after_off[0].sent_time or 0
        # today's pace again: the per-account interval after the digest, sooner than a digest period
        assert digest.sent_time + 300 <= next_time < digest.sent_time + 900
    finally:
        bot.close()


def comment_values(node: DevNode, account: str, first: int, last: int) -> list[dict[str, Any]]:
    """The bot's comments to ``account`` in blocks ``first`` … ``last``."""
    return [value for _, value in bot_comments(node, first, last) if value["parent_author"] == account]
