"""A payout badge's notification speaks HP, never the thousandths of HP the count is kept in: from the count
to the text, through the rules that find the crossings and choose what is announced."""

from __future__ import annotations

from bot.badges import find_crossings, select_announcements
from bot.metrics import Metric
from bot.notifications import Templates, notification_metadata, render_notification

LADDERS = {**{metric: () for metric in Metric}, Metric.PAYOUT: (100, 1_000, 5_000)}


def test_a_payout_notification_names_its_thresholds_in_hp() -> None:
    badges = find_crossings({}, {("alice", Metric.PAYOUT): 1_234_567}, LADDERS)  # 1,234.567 HP
    announcements = select_announcements(badges, LADDERS)
    body = render_notification(
        "alice", "badge-bot", announcements, Templates(image_url="https://b/{metric}/{threshold}.png")
    )
    assert (
        "![badge](https://b/payout/1000.png) You received more than 1000 HP as payout for your posts, comments and"
        " curation. Your next target is to reach 5000 HP as payout."
    ) in body.splitlines()
    assert "1234567" not in body and "1234" not in body
    assert '"badges":["payout:1000"]' in notification_metadata(announcements)
