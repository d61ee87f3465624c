"""Prometheus metrics of the facade, in a registry of their own, served over
HTTP on a listener of their own (ROSTER_FACADE_METRICS_LISTEN), never on
the SCIM port: the tenant label names customers (decision 0020). Labels
stay bounded: the route's template (never the raw path, which holds ids),
the HTTP method, the status code and the tenant identity_service served
the request for ("-" when no call authenticated)."""

from roster_telemetry import exposition
from roster_telemetry.request_table import Family, RequestTable

REGISTRY = exposition.registry()

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
