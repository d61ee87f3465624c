"""Typed configuration of scim_facade: environment variables prefixed
ROSTER_FACADE_, overridden by command-line flags; read once and passed down."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, FilePath, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROSTER_FACADE_", frozen=True, extra="forbid")

    listen: str = "127.0.0.1:4100"
    # HTTPS on the facade's own listener: a PEM certificate (chain) and key.
    tls_cert_file: FilePath | None = None
    tls_key_file: FilePath | None = None
    # A gRPC target: HOST:PORT, or dns:///NAME:PORT naming every replica.
    identity_target: str = "127.0.0.1:50051"
    # How calls spread over the addresses the target resolves to:
    # round_robin sends each call to the next replica whose health check
    # answers SERVING; pick_first keeps one connection (an L7 proxy's).
    identity_load_balancing: Literal["round_robin", "pick_first"] = "round_robin"
    # Deadline of each call to identity_service.
    identity_timeout_seconds: float = Field(default=10.0, gt=0)
    # TLS towards identity_service: its CA, and a client certificate for mTLS.
    identity_ca_file: Path | None = None
    identity_client_cert_file: Path | None = None
    identity_client_key_file: Path | None = None
    # The largest page a list answers (ServiceProviderConfig filter.maxResults).
    # identity.v1 answers at most 1,000 per page.
    max_results: int = Field(default=1000, ge=1, le=1000)
    # The largest request body of every route but /Bulk (413 beyond it).
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    bulk_max_operations: int = Field(default=1000, ge=1)
    bulk_max_payload_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: str = "INFO"
    # "json": one JSON object per line; "text": time, level, logger, message.
    log_format: Literal["text", "json"] = "text"
    # Prometheus metrics over HTTP at /metrics on HOST:PORT, a listener of
    # their own (never the SCIM port); empty: none (decision 0020).
    metrics_listen: str = ""
    # /healthz/ready: how long identity_service's health check may take.
    ready_timeout_seconds: float = Field(default=1.0, gt=0)

    @field_validator("metrics_listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if value and (not sep or not host or not port.isdigit() or int(port) > 65535):
            raise ValueError("give HOST:PORT, e.g. 127.0.0.1:9465 (port 0: any), or nothing")
        return value

    @model_validator(mode="after")
    def _tls_files_together(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS needs both a certificate and a key file")
        return self

    @property
    def scheme(self) -> str:
        return "http" if self.tls_cert_file is None else "https"

    @model_validator(mode="after")
    def _client_certificate_pair(self) -> Self:
        if (self.identity_client_cert_file is None) != (self.identity_client_key_file is None):
            raise ValueError("mutual TLS needs both a client certificate and its key")
        if self.identity_client_cert_file is not None and self.identity_ca_file is None:
            raise ValueError("a client certificate needs identity_ca_file (TLS)")
        return self

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])
