"""The observability settings of both services: off by default, an address
when on, text or JSON logs (decision 0020)."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from identity_service.settings import Settings as ServiceSettings
from scim_facade.settings import Settings as FacadeSettings
from tests.processes import environment
from tests.replicas import migrate

SETTINGS = [ServiceSettings, FacadeSettings]
IDS = ["identity_service", "scim_facade"]


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_metrics_are_off_and_logs_are_text_by_default(
    settings: type[ServiceSettings | FacadeSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No metrics listener unless asked for: two replicas on one host would collide."""
    for name in ("ROSTER_METRICS_LISTEN", "ROSTER_FACADE_METRICS_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("ROSTER_LOG_FORMAT", "ROSTER_FACADE_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    configured = settings()

    assert (configured.metrics_listen, configured.log_format) == ("", "text")


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize("listen", ["9464", "localhost", ":9464", "127.0.0.1:99999", "h:p"])
def test_a_metrics_address_needs_a_host_and_a_port(
    settings: type[ServiceSettings | FacadeSettings], listen: str
) -> None:
    """HOST:PORT, like the other listen addresses."""
    with pytest.raises(ValidationError, match="HOST:PORT"):
        settings(metrics_listen=listen)


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_an_unknown_log_format_is_refused(settings: type[ServiceSettings | FacadeSettings]) -> None:
    """Only text and json."""
    with pytest.raises(ValidationError, match="text"):
        settings(log_format="xml")


def test_a_metrics_address_that_is_taken_fails_serve_with_a_message(tmp_path: Path) -> None:
    """`serve` with a metrics address already in use exits 1 naming it, not with a traceback."""
    url = f"sqlite:///{tmp_path}/roster.db"
    migrate(url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "identity_service", "serve", "--database-url", url]
        command += ["--listen", "127.0.0.1:0", "--metrics-listen", f"127.0.0.1:{port}"]
        done = subprocess.run(
            command, capture_output=True, timeout=60, check=False, env=environment()
        )

    assert done.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in done.stderr.decode()
