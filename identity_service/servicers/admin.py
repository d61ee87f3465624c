"""identity.v1.TenantService and CredentialService: adapt requests to the
Tenants and Credentials use cases."""

import asyncio
from datetime import UTC as _UTC
from typing import Any

import grpc
from identity.v1 import (
    credential_pb2,
    credential_service_pb2,
    credential_service_pb2_grpc,
    tenant_pb2,
    tenant_service_pb2,
    tenant_service_pb2_grpc,
)

from identity_service.domain.models import TenantState
from identity_service.service.tenants import Credentials, Tenants
from identity_service.servicers import convert, names
from identity_service.servicers.interceptor import caller

Context = grpc.aio.ServicerContext[Any, Any]


class TenantServicer(tenant_service_pb2_grpc.TenantServiceServicer):
    def __init__(self, tenants: Tenants) -> None:
        self._tenants = tenants

    async def CreateTenant(
        self, request: tenant_service_pb2.CreateTenantRequest, context: Context
    ) -> tenant_pb2.Tenant:
        tenant = await asyncio.to_thread(
            self._tenants.create, caller(), request.tenant_id, request.tenant.display_name
        )
        return convert.tenant(tenant)

    async def GetTenant(
        self, request: tenant_service_pb2.GetTenantRequest, context: Context
    ) -> tenant_pb2.Tenant:
        slug = names.tenant(request.name, "name")
        return convert.tenant(await asyncio.to_thread(self._tenants.get, caller(), slug))

    async def ListTenants(
        self, request: tenant_service_pb2.ListTenantsRequest, context: Context
    ) -> tenant_service_pb2.ListTenantsResponse:
        page = await asyncio.to_thread(
            self._tenants.list, caller(), request.page_size, request.page_token
        )
        return tenant_service_pb2.ListTenantsResponse(
            tenants=[convert.tenant(t) for t in page.items], next_page_token=page.next_page_token
        )

    async def SuspendTenant(
        self, request: tenant_service_pb2.SuspendTenantRequest, context: Context
    ) -> tenant_pb2.Tenant:
        slug = names.tenant(request.name, "name")
        tenant = await asyncio.to_thread(
            self._tenants.set_state, caller(), slug, TenantState.SUSPENDED
        )
        return convert.tenant(tenant)

    async def ResumeTenant(
        self, request: tenant_service_pb2.ResumeTenantRequest, context: Context
    ) -> tenant_pb2.Tenant:
        slug = names.tenant(request.name, "name")
        tenant = await asyncio.to_thread(
            self._tenants.set_state, caller(), slug, TenantState.ACTIVE
        )
        return convert.tenant(tenant)


class CredentialServicer(credential_service_pb2_grpc.CredentialServiceServicer):
    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    async def CreateCredential(
        self, request: credential_service_pb2.CreateCredentialRequest, context: Context
    ) -> credential_service_pb2.CreateCredentialResponse:
        wanted = request.credential
        credential, secret = await asyncio.to_thread(
            self._credentials.create,
            caller(),
            names.optional_tenant(request.parent),
            scopes=list(wanted.scopes),
            display_name=wanted.display_name,
            expire_time=wanted.expire_time.ToDatetime(tzinfo=_UTC)
            if wanted.HasField("expire_time")
            else None,
        )
        return credential_service_pb2.CreateCredentialResponse(
            credential=convert.credential(credential), secret=secret
        )

    async def GetCredential(
        self, request: credential_service_pb2.GetCredentialRequest, context: Context
    ) -> credential_pb2.Credential:
        slug, credential_id = names.credential(request.name)
        credential = await asyncio.to_thread(self._credentials.get, caller(), slug, credential_id)
        return convert.credential(credential)

    async def ListCredentials(
        self, request: credential_service_pb2.ListCredentialsRequest, context: Context
    ) -> credential_service_pb2.ListCredentialsResponse:
        page = await asyncio.to_thread(
            self._credentials.list,
            caller(),
            names.optional_tenant(request.parent),
            page_size=request.page_size,
            page_token=request.page_token,
            show_revoked=request.show_revoked,
        )
        return credential_service_pb2.ListCredentialsResponse(
            credentials=[convert.credential(c) for c in page.items],
            next_page_token=page.next_page_token,
        )

    async def RevokeCredential(
        self, request: credential_service_pb2.RevokeCredentialRequest, context: Context
    ) -> credential_pb2.Credential:
        slug, credential_id = names.credential(request.name)
        credential = await asyncio.to_thread(
            self._credentials.revoke, caller(), slug, credential_id
        )
        return convert.credential(credential)
