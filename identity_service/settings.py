"""Typed configuration of identity_service: read once (environment variables
prefixed ROSTER_, overridden by command-line flags) and passed down."""

import logging
from typing import Literal, Self

from pydantic import Field, FilePath, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/roster.db"
DEFAULT_LISTEN = "127.0.0.1:50051"
# gRPC takes durations as int32 milliseconds.
_MAX_GRPC_SECONDS = (2**31 - 1) // 1000


class Settings(BaseSettings):
    """Everything the server and the operator commands are configured with."""

    model_config = SettingsConfigDict(env_prefix="ROSTER_", frozen=True, extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL: connections each process keeps open, and how many more it
    # may open under load (closed again when returned).
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    listen: str = DEFAULT_LISTEN
    tls_cert_file: FilePath | None = None
    tls_key_file: FilePath | None = None
    # A client CA additionally requires every client to present a certificate
    # signed by it (mutual TLS).
    tls_client_ca_file: FilePath | None = None
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # A credential the database accepted is accepted from memory for this
    # long (0: ask the database on every call). Revoking a credential or
    # suspending a tenant takes effect at once on the replica that did it,
    # within this time on the others (and for platform credentials).
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # OAuth 2.0 access tokens (TokenService, the facade's /oauth/token)
    # expire this long after they are issued.
    access_token_seconds: int = Field(default=3600, ge=1, le=86400)
    log_level: str = "INFO"
    # "json": one JSON object per line (time, level, logger, message and
    # the line's fields); "text": the message alone after time and level.
    log_format: Literal["text", "json"] = "text"
    # Prometheus metrics over HTTP at /metrics on HOST:PORT; empty: none
    # (decision 0020).
    metrics_listen: str = ""
    # WatchChanges: seconds between checkpoints of a stream, and between the
    # process's polls of the watched tenants' logs (the fallback for writes
    # on other replicas or a missed wake-up).
    watch_checkpoint_seconds: float = Field(default=15.0, gt=0)
    watch_poll_seconds: float = Field(default=2.0, gt=0)
    # `identity-service changes prune` deletes change records older than this;
    # a cursor into the pruned part of a log is CURSOR_EXPIRED.
    change_retention_days: int = Field(default=30, ge=1)
    # Readiness: every `health_check_seconds` the server runs a trivial query,
    # and reports NOT_SERVING while the database does not answer within
    # `health_check_timeout_seconds` (SERVING again once it does).
    health_check_seconds: float = Field(default=5.0, gt=0)
    health_check_timeout_seconds: float = Field(default=3.0, gt=0)
    # Connections are closed (GOAWAY) at about this age (0: never), and calls
    # still open `max_connection_age_grace_seconds` later are ended with
    # UNAVAILABLE, so clients reconnect, re-resolve and spread over replicas.
    max_connection_age_seconds: float = Field(default=1800.0, ge=0, le=_MAX_GRPC_SECONDS)
    max_connection_age_grace_seconds: float = Field(default=30.0, ge=0, le=_MAX_GRPC_SECONDS)
    # The server pings every connection idle this long (with or without
    # calls), closing it when the ping is not answered within 20 s.
    keepalive_seconds: float = Field(default=60.0, gt=0, le=_MAX_GRPC_SECONDS)
    # Rate limits (decision 0018): calls per second sustained and at once,
    # per tenant and per credential, in each process (0 per second: no
    # limit). Over a limit a call is RESOURCE_EXHAUSTED with RetryInfo.
    rate_limit_tenant_per_second: float = Field(default=200.0, ge=0)
    rate_limit_tenant_burst: int = Field(default=400, ge=1)
    rate_limit_credential_per_second: float = Field(default=100.0, ge=0)
    rate_limit_credential_burst: int = Field(default=200, ge=1)
    # The largest request message the server reads; a larger one fails with
    # RESOURCE_EXHAUSTED before any handler runs (gRPC's own check).
    max_receive_message_bytes: int = Field(default=4 << 20, ge=64 << 10, le=2**31 - 1)

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        return _checked_address(value)

    @field_validator("metrics_listen")
    @classmethod
    def _metrics_host_and_port(cls, value: str) -> str:
        return value and _checked_address(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("give DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @model_validator(mode="after")
    def _tls_files_together(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS needs both a certificate and a key file")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("a client CA (mutual TLS) needs a server certificate and key")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]


def _checked_address(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("give HOST:PORT, e.g. 127.0.0.1:50051 or [::]:50051 (port 0: any)")
    return value
