"""The badge images: one PNG per metric and threshold, drawn by Pillow (no hand-drawn files).

Hive front ends show a comment's images about 100–150 px wide through their image proxy, which displays
PNG everywhere; the image is 160 px square so that the threshold, the largest thing on it, stays legible
scaled down to 100 px. Drawing takes a few milliseconds: each image is drawn once per process and kept
(a ladder has a handful of thresholds).
"""

from __future__ import annotations

import functools
import io
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from bot.metrics import Family, Metric, Occasion

SIZE: Final = 160
COLOURS: Final = {
    Metric.UPVOTES_RECEIVED: "#c0392b",
    Metric.UPVOTES_GIVEN: "#d35400",
    Metric.POSTS: "#2471a3",
    Metric.COMMENTS: "#1e8449",
    Metric.REPLIES: "#7d3c98",
    Metric.PAYOUT: "#b7950b",
    Occasion.BIRTHDAY: "#b7950b",
}
LABELS: Final = {
    Metric.UPVOTES_RECEIVED: "UPVOTES IN",
    Metric.UPVOTES_GIVEN: "UPVOTES OUT",
    Metric.POSTS: "POSTS",
    Metric.COMMENTS: "COMMENTS",
    Metric.REPLIES: "REPLIES",
    Metric.PAYOUT: "HP PAYOUT",
    Occasion.BIRTHDAY: "YEARS",
}


@functools.lru_cache(maxsize=256)
def render_badge(metric: Family, threshold: int) -> bytes:
    """The PNG of the badge for reaching ``threshold`` in ``metric``."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, SIZE - 4, SIZE - 4), fill=COLOURS[metric], outline="#f4d03f", width=8)
    number, label = badge_words(metric, threshold)
    size = 64 if len(number) <= 3 else 48
    draw.text((SIZE / 2, SIZE / 2 - 8), number, fill="white", anchor="mm", font=ImageFont.load_default(size))
    draw.text((SIZE / 2, SIZE - 40), label, fill="white", anchor="mm", font=ImageFont.load_default(15))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def badge_words(metric: Family, threshold: int) -> tuple[str, str]:
    """What the badge reads, the number above its label: ``("100", "HP PAYOUT")`` — the threshold in the
    unit people read (HP for a payout, never the thousandths its count is kept in), as its label says."""
    return short_number(threshold), LABELS[metric]


def short_number(n: int) -> str:
    """``n`` in at most 4 characters where it can be: 950, 1K, 2.5K, 10K, 1M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if n >= size:
            value = n / size
            text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"
            return text + suffix if n % (size // 10) == 0 or value >= 10 else f"{n:,}"
    return str(n)
