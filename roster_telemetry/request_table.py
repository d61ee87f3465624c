"""Request counts and latency histograms kept in plain dictionaries by the
thread that serves (the event loop's), and turned into Prometheus metric
families only when /metrics is scraped: well under a microsecond per
request, where prometheus-client's Counter and Histogram took about 2 and
4 us, behind a lock each (decision 0020). The scraping thread copies the
dictionaries first (copying a dict or a list is atomic under the GIL)."""

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


@dataclass(frozen=True)
class Family:
    """A metric family's name, help text and label names."""

    name: str
    help: str
    labels: tuple[str, ...]


class RequestTable(Collector):
    """Requests counted by `counted`'s labels, and timed by `timed`'s."""

    def __init__(self, counted: Family, timed: Family, buckets: tuple[float, ...]) -> None:
        self._counted, self._timed, self._buckets = counted, timed, buckets
        self._bounds = [*map(floatToGoString, buckets), "+Inf"]
        # Label values are kept as given (an int status too) and made text
        # when scraped.
        self._counts: dict[tuple[object, ...], int] = {}
        # Per label set: a count per bucket (the last one above every
        # bound, so +Inf), then the sum of the seconds.
        self._latency: dict[tuple[object, ...], list[float]] = {}

    def add(self, counted: tuple[object, ...], timed: tuple[object, ...], seconds: float) -> None:
        self._counts[counted] = self._counts.get(counted, 0) + 1
        row = self._latency.get(timed)
        if row is None:
            row = self._latency[timed] = [0.0] * (len(self._buckets) + 2)
        row[bisect.bisect_left(self._buckets, seconds)] += 1
        row[-1] += seconds

    def collect(self) -> Iterable[Metric]:
        counts = CounterMetricFamily(
            self._counted.name, self._counted.help, labels=self._counted.labels
        )
        for labels, count in dict(self._counts).items():
            counts.add_metric([str(v) for v in labels], count)
        latency = HistogramMetricFamily(
            self._timed.name, self._timed.help, labels=self._timed.labels
        )
        for labels, row in dict(self._latency).items():
            copied = list(row)
            latency.add_metric(
                [str(v) for v in labels], self._cumulative(copied), sum_value=copied[-1]
            )
        return [counts, latency]

    def _cumulative(self, row: list[float]) -> list[tuple[str, float]]:
        """Prometheus buckets (upper bound, count at or below it)."""
        running, buckets = 0.0, []
        for bound, count in zip(self._bounds, row[:-1], strict=True):
            running += count
            buckets.append((bound, running))
        return buckets
