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
    start_http_server,
)

from scim_facade.request_table import Family, RequestTable

REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

# A GET takes 1 to 20 ms; a large group with its members, seconds.
_LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

_REQUESTS = RequestTable(
    Family(
        "roster_facade_requests",
        "SCIM requests answered, by route template, HTTP method, status code and tenant",
        ("route", "http_method", "status", "tenant"),
    ),
    Family(
        "roster_facade_request_duration_seconds",
        "Time to answer a SCIM request, by route template and HTTP method",
        ("route", "http_method"),
    ),
    _LATENCY_BUCKETS,
)
REGISTRY.register(_REQUESTS)


def observe(route: str, method: str, status: int, tenant: str, seconds: float) -> None:
    """Count one request and its duration (request_table.py: well under a
    microsecond)."""
    _REQUESTS.add((route, method, status, tenant), (route, method), seconds)


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
