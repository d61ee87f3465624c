"""Helpers for tests: tenants, credentials, and reading rich gRPC errors."""

import uuid
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from identity.v1 import (
    credential_service_pb2_grpc,
    group_service_pb2_grpc,
    tenant_service_pb2_grpc,
    token_service_pb2_grpc,
    user_service_pb2_grpc,
)

from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.store.engine import Database

Metadata = tuple[tuple[str, str], ...]
Detail = TypeVar("Detail", bound=Message)


def bearer(secret: str) -> Metadata:
    """Call metadata that presents `secret` as a bearer token."""
    return (("authorization", f"Bearer {secret}"),)


@dataclass(frozen=True)
class Stubs:
    """The blocking stubs of every identity.v1 service (the `stubs` fixture)."""

    users: user_service_pb2_grpc.UserServiceStub
    groups: group_service_pb2_grpc.GroupServiceStub
    tenants: tenant_service_pb2_grpc.TenantServiceStub
    credentials: credential_service_pb2_grpc.CredentialServiceStub
    tokens: token_service_pb2_grpc.TokenServiceStub


@dataclass(frozen=True)
class TenantAccess:
    """A fresh tenant and a credential of it."""

    slug: str
    secret: str

    @property
    def parent(self) -> str:
        return f"tenants/{self.slug}"

    @property
    def metadata(self) -> Metadata:
        return bearer(self.secret)


def new_tenant(db: Database, scopes: tuple[str, ...] = ("scim",)) -> TenantAccess:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    Tenants(db).create(OPERATOR, slug)
    _, secret = Credentials(db).create(OPERATOR, slug, scopes=scopes)
    return TenantAccess(slug, secret)


def new_credential(db: Database, slug: str | None, scopes: tuple[str, ...]) -> str:
    """A further credential's secret: of tenant `slug`, or a platform one."""
    _, secret = Credentials(db).create(OPERATOR, slug, scopes=scopes)
    return secret


def _detail(error: grpc.RpcError, kind: type[Detail]) -> Detail | None:
    """The detail of type `kind` of a failed call's rich status, if it has one."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status"
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            found = kind()
            detail.Unpack(found)
            return found
    return None


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    """The ErrorInfo detail of a failed call's rich status."""
    info = _detail(error, error_details_pb2.ErrorInfo)
    if info is None:
        raise AssertionError("the status carries no ErrorInfo")
    return info


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """Field -> description from the BadRequest detail of a failed call."""
    bad_request = _detail(error, error_details_pb2.BadRequest)
    if bad_request is None:
        return {}
    return {v.field: v.description for v in bad_request.field_violations}


def retry_delay(error: grpc.RpcError) -> float:
    """Seconds of the RetryInfo detail of a failed call (google.rpc.RetryInfo)."""
    info = _detail(error, error_details_pb2.RetryInfo)
    if info is None:
        raise AssertionError("the status carries no RetryInfo")
    return float(info.retry_delay.ToTimedelta().total_seconds())
