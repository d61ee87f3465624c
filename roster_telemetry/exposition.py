"""A process's Prometheus registry and its /metrics HTTP listener:
prometheus-client's own server on a thread, on a listener of its own (never
the SCIM or gRPC port: the tenant label names customers)."""

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    start_http_server,
)


def registry() -> CollectorRegistry:
    """A registry with the process's own metrics (process_*, python_gc_*)."""
    created = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        created.register(collector)
    return created


class Exposition:
    """Serves `metrics` at http://LISTEN/metrics until closed."""

    def __init__(self, listen: str, metrics: CollectorRegistry) -> None:
        host, _, port = listen.rpartition(":")
        self._server, self._thread = start_http_server(
            int(port), host.strip("[]"), registry=metrics
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
