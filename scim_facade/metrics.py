"""Prometheus metrics of the facade, in a registry of their own, served over
HTTP on a listener of their own (ROSTER_FACADE_METRICS_LISTEN), never on
the SCIM port: the tenant label names customers (decision 0020). Labels
stay bounded: the route's template (never the raw path, which holds ids),
the HTTP method, the status code and the tenant identity_service served
the request for ("-" when no call authenticated)."""

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)

REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

# A GET takes 1 to 20 ms; a large group with its members, seconds.
_LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

_REQUESTS = Counter(
    "roster_facade_requests",
    "SCIM requests answered, by route template, HTTP method, status code and tenant",
    ("route", "http_method", "status", "tenant"),
    registry=REGISTRY,
)
_DURATION = Histogram(
    "roster_facade_request_duration_seconds",
    "Time to answer a SCIM request, by route template and HTTP method",
    ("route", "http_method"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)

_counters: dict[tuple[str, str, int, str], Counter] = {}
_durations: dict[tuple[str, str], Histogram] = {}


def observe(route: str, method: str, status: int, tenant: str, seconds: float) -> None:
    """Count one request and its duration; label children are made once."""
    key = (route, method, status, tenant)
    counter = _counters.get(key)
    if counter is None:
        counter = _counters[key] = _REQUESTS.labels(route, method, str(status), tenant)
    counter.inc()
    timed = (route, method)
    duration = _durations.get(timed)
    if duration is None:
        duration = _durations[timed] = _DURATION.labels(route, method)
    duration.observe(seconds)


class Exposition:
    """The /metrics HTTP listener: prometheus-client's own server on a thread."""

    def __init__(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self._server, self._thread = start_http_server(
            int(port), host.strip("[]"), registry=REGISTRY
        )

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def close(self) -> None:
        server: WSGIServer = self._server
        server.shutdown()
        server.server_close()
        thread: threading.Thread = self._thread
        thread.join(timeout=5)
