"""Typed settings: defaults, ROSTER_* environment variables, explicit values
(the command line's flags) over both, and the TLS file rules."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from identity_service.settings import Settings


@pytest.fixture(autouse=True)
def no_roster_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the real environment: start each test without ROSTER_*."""
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"ROSTER_{name.upper()}", raising=False)


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """An existing file: the settings check that TLS files exist, not their content."""
    path = tmp_path / "file.pem"
    path.write_text("-----BEGIN NOTHING-----\n")
    return path


def test_defaults_serve_the_local_sqlite_file_on_localhost() -> None:
    """Without configuration: sqlite:///var/roster.db, 127.0.0.1:50051, no TLS."""
    settings = Settings()
    assert (settings.database_url, settings.listen) == (
        "sqlite:///var/roster.db",
        "127.0.0.1:50051",
    )
    assert (settings.tls, settings.shutdown_grace_seconds, settings.log_level) == (
        False,
        10,
        "INFO",
    )


def test_environment_variables_are_read_with_the_roster_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ROSTER_LISTEN sets `listen`; ROSTER_LOG_LEVEL is normalised to upper case."""
    monkeypatch.setenv("ROSTER_LISTEN", "[::]:0")
    monkeypatch.setenv("ROSTER_LOG_LEVEL", "debug")
    settings = Settings()
    assert (settings.listen, settings.host, settings.log_level) == ("[::]:0", "[::]", "DEBUG")


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line passes flags as explicit values, which beat ROSTER_*."""
    monkeypatch.setenv("ROSTER_DATABASE_URL", "sqlite:///from-env.db")
    assert Settings(database_url="sqlite:///from-flag.db").database_url == "sqlite:///from-flag.db"


def test_a_certificate_and_key_turn_tls_on(pem: Path) -> None:
    """Both files given: TLS."""
    assert Settings(tls_cert_file=pem, tls_key_file=pem).tls


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"tls_cert_file"}, "TLS needs both a certificate and a key file"),
        ({"tls_key_file"}, "TLS needs both a certificate and a key file"),
        ({"tls_client_ca_file"}, "a client CA (mutual TLS) needs a server certificate"),
    ],
    ids=["certificate-only", "key-only", "client-ca-only"],
)
def test_incomplete_tls_settings_are_refused(pem: Path, files: set[str], message: str) -> None:
    """Half a key pair, or a client CA without a server certificate, is an error
    rather than a silently plaintext port."""
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings.model_validate(dict.fromkeys(files, pem))


def test_a_missing_tls_file_is_refused(tmp_path: Path, pem: Path) -> None:
    """TLS files must exist when the settings are read, not at the first call."""
    with pytest.raises(ValidationError, match="tls_key_file"):
        Settings(tls_cert_file=pem, tls_key_file=tmp_path / "missing.key")


@pytest.mark.parametrize("listen", ["50051", "localhost", ":50051", "127.0.0.1:http", "h:70000"])
def test_a_listen_address_needs_a_host_and_a_port(listen: str) -> None:
    """`listen` is HOST:PORT with a numeric port (0: any free port)."""
    with pytest.raises(ValidationError, match="give HOST:PORT"):
        Settings(listen=listen)


def test_an_unknown_log_level_is_refused() -> None:
    """Log levels are the names the logging module knows."""
    with pytest.raises(ValidationError, match="give DEBUG, INFO"):
        Settings(log_level="chatty")
