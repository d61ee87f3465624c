"""The gRPC client of identity_service: one channel, the caller's bearer
token forwarded on every call, a deadline on every call, retries for the
reads only, and calls spread over the replicas (declared in the channel's
service config)."""

import json
from typing import Any
from urllib.parse import quote

import grpc
from grpc_health.v1 import health_pb2_grpc
from identity.v1 import group_service_pb2_grpc, token_service_pb2_grpc, user_service_pb2_grpc

from scim_facade.settings import Settings

# Reads are idempotent and may be retried on UNAVAILABLE; writes never are
# (a lost answer to a write is surfaced as 503, and the IdP retries).
_READS = [
    {"service": "identity.v1.UserService", "method": m}
    for m in ("GetUser", "ListUsers", "BatchGetUsers")
] + [
    {"service": "identity.v1.GroupService", "method": m}
    for m in ("GetGroup", "ListGroups", "BatchGetGroups", "ListMembers", "ListMemberships")
]
_METHOD_CONFIG = {
    "methodConfig": [
        {
            "name": _READS,
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}

MAX_RECONNECT_BACKOFF_MS = 5000


def service_config(settings: Settings) -> dict[str, Any]:
    """The channel's service config. With round_robin each subchannel also
    watches grpc.health.v1 for the whole server (""), so a replica that
    reports NOT_SERVING (its database unreachable, or shutting down) gets no
    calls until it reports SERVING again."""
    policy = settings.identity_load_balancing
    config: dict[str, Any] = {**_METHOD_CONFIG, "loadBalancingConfig": [{policy: {}}]}
    if policy == "round_robin":
        config["healthCheckConfig"] = {"serviceName": ""}
    return config


def _credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    if settings.identity_ca_file is None:
        return None
    key, cert = settings.identity_client_key_file, settings.identity_client_cert_file
    return grpc.ssl_channel_credentials(
        root_certificates=settings.identity_ca_file.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


class IdentityClient:
    """Stubs of identity.v1 over one channel, and the call options."""

    def __init__(self, settings: Settings) -> None:
        options: list[tuple[str, Any]] = [
            ("grpc.service_config", json.dumps(service_config(settings))),
            ("grpc.enable_retries", 1),
            # After an outage, reconnect within 5 s of identity_service's
            # return, not after gRPC's default backoff of up to 120 s
            # (docs/decisions/0017-faults.md).
            ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
            # identity_service's answers are bounded by its page sizes and
            # by what was written; a receive limit (gRPC's default is 4 MiB)
            # would make a page of large users unreadable, RESOURCE_EXHAUSTED
            # that an IdP reads as 429 and retries forever.
            ("grpc.max_receive_message_length", -1),
        ]
        credentials = _credentials(settings)
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(settings.identity_target, options=options)
        else:
            self._channel = grpc.aio.secure_channel(
                settings.identity_target, credentials, options=options
            )
        self.timeout = settings.identity_timeout_seconds
        self.users = user_service_pb2_grpc.UserServiceStub(self._channel)
        self.groups = group_service_pb2_grpc.GroupServiceStub(self._channel)
        self.tokens = token_service_pb2_grpc.TokenServiceStub(self._channel)
        self.health = health_pb2_grpc.HealthStub(self._channel)

    async def close(self) -> None:
        await self._channel.close(grace=None)


# identity_service records these as the actor of the changes a call makes
# (servicers/interceptor.py reads them).
ORIGIN_METHOD = "x-roster-origin-method"
ORIGIN_PATH = "x-roster-origin-path"
ORIGIN_CLIENT = "x-roster-origin-client"
# The SCIM request's id: logged with the RPC, recorded in its changes.
REQUEST_ID = "x-request-id"


# The longest secret (bearer token, client secret) forwarded as metadata.
MAX_SECRET_LENGTH = 1024


def forwardable(secret: str) -> bool:
    """Whether `secret` may travel as call metadata: printable ASCII without
    spaces (RFC 6750 §2.1 holds a bearer token to that too), and short. Roster's
    secrets are about 50 characters; a far longer one would reach gRPC's metadata
    size limit, which refuses the call at random past its soft bound."""
    return (
        0 < len(secret) <= MAX_SECRET_LENGTH
        and secret.isascii()
        and secret.isprintable()
        and " " not in secret
    )


def metadata(
    token: str, origin: tuple[str, str, str] | None = None, request_id: str = ""
) -> tuple[tuple[str, str], ...]:
    """Call metadata that forwards the IdP's bearer token unchanged and, when
    given, the request's id and the IdP's request (method, path, client
    address): never a header value that could hold a secret."""
    forwarded: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),)
    if request_id:
        forwarded += ((REQUEST_ID, request_id),)
    if origin is None:
        return forwarded
    keys = (ORIGIN_METHOD, ORIGIN_PATH, ORIGIN_CLIENT)
    return forwarded + tuple((k, _ascii(v)) for k, v in zip(keys, origin, strict=True) if v)


# gRPC metadata values are printable ASCII: a path such as /Users/%C3%A9,
# which the IdP's request carries decoded, failed the call before it was sent.
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _ascii(value: str) -> str:
    """`value` with "%" and every character but printable ASCII percent-encoded
    (UTF-8, RFC 3986 §2.1), so the encoding can be told from the text."""
    return quote(value, safe=_PRINTABLE)
