"""The base URL resources are located under is Starlette's, remembered."""

import pytest
from starlette.requests import Request

from scim_facade.routes.common import PREFIX, _base_url


@pytest.mark.parametrize(
    ("scheme", "host", "server", "root_path"),
    [
        ("http", "scim.test", ("10.0.0.1", 8080), ""),
        ("https", "scim.example.com:8443", ("10.0.0.1", 8443), ""),
        ("https", "scim.example.com", None, "/roster"),
        ("https", "scim.example.com", None, "/roster/"),
        ("http", None, ("10.0.0.1", 80), ""),
        ("http", None, ("10.0.0.1", 8000), "/edge"),
        ("http", None, ("::1", 8000), ""),
        ("http", "[::1]:8000", None, ""),
        # Not a valid authority: Starlette falls back to the server address.
        ("http", "bad host:x", ("10.0.0.1", 8000), ""),
    ],
)
def test_base_url_is_the_one_starlette_reads(
    scheme: str, host: str | None, server: tuple[str, int] | None, root_path: str
) -> None:
    headers = [] if host is None else [(b"host", host.encode("latin-1"))]
    scope = {
        "type": "http",
        "scheme": scheme,
        "server": server,
        "root_path": root_path,
        "path": f"{root_path.rstrip('/')}/scim/v2/Users/1",
        "query_string": b"attributes=userName",
        "headers": headers,
        "method": "GET",
    }
    expected = str(Request(scope).base_url).rstrip("/") + PREFIX
    assert _base_url(scheme, host, server, root_path) == expected
