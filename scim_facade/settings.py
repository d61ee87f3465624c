"""Typed configuration of scim_facade: environment variables prefixed
ROSTER_FACADE_, overridden by command-line flags; read once and passed down."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROSTER_FACADE_", frozen=True, extra="forbid")

    listen: str = "127.0.0.1:4100"
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
