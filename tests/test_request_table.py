"""The request table both services count requests in: Prometheus counter
and histogram semantics, read when scraped."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from roster_telemetry import request_table

BUCKETS = (0.01, 0.1, 1.0)


def scraped(
    adds: list[tuple[tuple[object, ...], float]],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    table = request_table.RequestTable(
        request_table.Family("t_requests", "requests", ("route", "status")),
        request_table.Family("t_seconds", "seconds", ("route",)),
        BUCKETS,
    )
    for labels, seconds in adds:
        table.add(labels, labels[:1], seconds)
    registry = CollectorRegistry()
    registry.register(table)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_requests_are_counted_per_label_set_with_int_labels_as_text() -> None:
    """Each label set is its own counter; a status given as an int is its text."""
    found = scraped([(("/u", 200), 0.005), (("/u", 200), 0.005), (("/u", 404), 0.005)])

    assert found[("t_requests_total", (("route", "/u"), ("status", "200")))] == 2
    assert found[("t_requests_total", (("route", "/u"), ("status", "404")))] == 1


@pytest.mark.parametrize(
    ("seconds", "lowest_bucket"),
    [(0.005, "0.01"), (0.01, "0.01"), (0.5, "1.0"), (1.0, "1.0"), (7.0, "+Inf")],
)
def test_a_duration_falls_in_every_bucket_at_or_above_it(
    seconds: float, lowest_bucket: str
) -> None:
    """Prometheus buckets are cumulative and `le` is inclusive."""
    found = scraped([(("/u", 200), seconds)])

    bounds = ["0.01", "0.1", "1.0", "+Inf"]
    counts = [found[("t_seconds_bucket", (("le", b), ("route", "/u")))] for b in bounds]
    first = bounds.index(lowest_bucket)
    assert counts == [0.0] * first + [1.0] * (len(bounds) - first)
    assert found[("t_seconds_count", (("route", "/u"),))] == 1
    assert found[("t_seconds_sum", (("route", "/u"),))] == pytest.approx(seconds)
