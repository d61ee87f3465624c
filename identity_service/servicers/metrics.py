"""Prometheus metrics of identity_service, in a registry of their own and
served over HTTP on a listener of their own (ROSTER_METRICS_LISTEN;
decision 0020). Labels stay bounded: the RPC's full method name, its status
code and the tenant's slug (one tenant is one customer), never an id.

The interceptor reports every RPC through `observe`, on the event loop's
thread, into a RequestTable (request_table.py: well under a microsecond per
call). One server per process: the table is the module's."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from prometheus_client import (
    Gauge,
    Histogram,
)

from roster_telemetry import exposition
from roster_telemetry.request_table import Family, RequestTable

REGISTRY = exposition.registry()

# A unary RPC takes 0.3 to 50 ms; a slow list or a large group, seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Live delivery takes about a millisecond; a resumed stream replays older records.
_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300, 3600)


_RPCS = RequestTable(
    Family(
        "roster_rpc_requests",
        "RPCs served, by full method name, status code and tenant "
        "(platform: a platform credential; -: not authenticated)",
        ("method", "status", "tenant"),
    ),
    Family(
        "roster_rpc_duration_seconds",
        "Time to serve an RPC (a stream: until it ends), by full method name",
        ("method",),
    ),
    _LATENCY_BUCKETS,
)
REGISTRY.register(_RPCS)
_STREAMS = Gauge(
    "roster_watch_streams",
    "Open WatchChanges streams, by tenant (platform: every tenant's stream)",
    ("tenant",),
    registry=REGISTRY,
)
_LAG = Histogram(
    "roster_change_delivery_lag_seconds",
    "From a change record's commit time to its delivery to a WatchChanges stream",
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)


def observe(method: str, status: str, tenant: str, seconds: float) -> None:
    """Count one RPC and its duration."""
    _RPCS.add((method, status, tenant), (method,), seconds)


@contextmanager
def stream_open(tenant: str) -> Iterator[None]:
    """Count a WatchChanges stream as open while the block runs."""
    gauge = _STREAMS.labels(tenant)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def delivered(commit_time: datetime) -> None:
    """A change record committed at `commit_time` reached a stream now."""
    _LAG.observe(max(0.0, time.time() - commit_time.timestamp()))
