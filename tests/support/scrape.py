"""Reading a Prometheus ``/metrics`` answer over HTTP, with the client library's own parser."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Each sample's value by its name (``_total``, ``_count`` … included) and labels."""


def scrape(url: str) -> Samples:
    """The samples ``GET url`` answers; raises unless it answers 200 in Prometheus's text format."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("text/plain; version=")
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[("hive_badge_bot_" + name, frozenset(labels.items()))]


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """``{label value: sample value}`` of the samples of ``name``."""
    return {
        dict(labels)[label]: sample
        for (sample_name, labels), sample in samples.items()
        if sample_name == "hive_badge_bot_" + name
    }
