"""The token buckets of servicers/ratelimit.py with an injected clock, and
their settings (decision 0018)."""

import pytest
from pydantic import ValidationError

from identity_service.domain.errors import RateLimited
from identity_service.domain.models import Caller, Scope
from identity_service.server import rate_limiter
from identity_service.servicers.ratelimit import Buckets, Rate, RateLimiter
from identity_service.settings import Settings

METHOD = "/identity.v1.UserService/GetUser"
OFF = Rate(0, 1)


@pytest.fixture(autouse=True)
def no_roster_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the real environment: start each test without ROSTER_*."""
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"ROSTER_{name.upper()}", raising=False)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _caller(credential: str, tenant: int | None) -> Caller:
    slug = None if tenant is None else f"t{tenant}"
    return Caller(credential, tenant, slug, frozenset({Scope.READ}))


def _refusal(limiter: RateLimiter, caller: Caller) -> RateLimited:
    with pytest.raises(RateLimited) as refused:
        limiter.admit(METHOD, caller)
    return refused.value


def test_a_bucket_refills_at_its_rate() -> None:
    """Empty, a bucket refuses with the wait for one token, shorter as time
    passes, and admits once that wait is over."""
    clock = Clock()
    limiter = RateLimiter(Rate(2, 2), OFF, clock)
    alice = _caller("c1", 1)
    limiter.admit(METHOD, alice)
    limiter.admit(METHOD, alice)
    first = _refusal(limiter, alice).retry_after
    clock.now += 0.25
    second = _refusal(limiter, alice).retry_after
    clock.now += 0.25

    limiter.admit(METHOD, alice)
    assert (first, second) == pytest.approx((0.5, 0.25))


def test_a_refused_call_takes_no_token_from_the_other_bucket() -> None:
    """Refused by its tenant's bucket, a call leaves its credential's token
    for the next call."""
    clock = Clock()
    limiter = RateLimiter(Rate(1, 1), Rate(0.001, 2), clock)
    alice = _caller("c1", 1)
    limiter.admit(METHOD, alice)
    assert _refusal(limiter, alice).metadata == {"bucket": "tenant"}
    clock.now += 1

    limiter.admit(METHOD, alice)
    assert _refusal(limiter, alice).metadata == {"bucket": "credential"}


def test_the_refusal_names_the_longest_wait() -> None:
    """When both buckets are empty, the wait is the one after which both
    hold a token again."""
    limiter = RateLimiter(Rate(10, 1), Rate(1, 1), Clock())
    alice = _caller("c1", 1)
    limiter.admit(METHOD, alice)

    refused = _refusal(limiter, alice)

    assert (refused.retry_after, refused.metadata) == (1.0, {"bucket": "credential"})


def test_a_platform_credential_has_only_its_credential_limit() -> None:
    """A platform credential belongs to no tenant: no tenant bucket applies."""
    limiter = RateLimiter(Rate(1, 1), Rate(1, 2), Clock())
    operator = _caller("p1", None)
    limiter.admit(METHOD, operator)
    limiter.admit(METHOD, operator)

    assert _refusal(limiter, operator).metadata == {"bucket": "credential"}


@pytest.mark.parametrize(
    "method",
    [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ],
)
def test_health_and_reflection_take_no_token(method: str) -> None:
    """Health checks and reflection pass an empty bucket and leave it as is."""
    limiter = RateLimiter(Rate(1, 1), OFF, Clock())
    alice = _caller("c1", 1)
    limiter.admit(method, alice)
    limiter.admit(METHOD, alice)

    limiter.admit(method, alice)
    assert _refusal(limiter, alice).metadata == {"bucket": "tenant"}


def test_full_buckets_are_forgotten() -> None:
    """Once 1,024 buckets exist, the ones that have refilled are dropped
    when the next one is made: memory follows the active callers."""
    buckets = Buckets(Rate(1, 2))
    for key in range(1023):
        buckets.wait(str(key), 0.0)
        buckets.take(str(key))
    buckets.wait("late", 1.0)
    buckets.take("late")

    buckets.wait("new", 2.5)

    assert len(buckets) == 2


def test_the_defaults_let_an_entra_sync_through_and_limit_a_runaway_client() -> None:
    """Defaults: 200 calls/s (bursts of 400) per tenant, 100 (200) per
    credential, at least twice Entra's 25 requests/s of 1-2 calls each."""
    settings = Settings()
    assert (
        settings.rate_limit_tenant_per_second,
        settings.rate_limit_tenant_burst,
        settings.rate_limit_credential_per_second,
        settings.rate_limit_credential_burst,
    ) == (200, 400, 100, 200)


def test_the_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROSTER_RATE_LIMIT_...: a rate of 0 turns that limit off."""
    monkeypatch.setenv("ROSTER_RATE_LIMIT_TENANT_PER_SECOND", "0")
    monkeypatch.setenv("ROSTER_RATE_LIMIT_CREDENTIAL_PER_SECOND", "1.5")
    monkeypatch.setenv("ROSTER_RATE_LIMIT_CREDENTIAL_BURST", "1")
    limiter = rate_limiter(Settings())
    alice = _caller("c1", 1)
    limiter.admit(METHOD, alice)

    refused = _refusal(limiter, alice)

    assert refused.metadata == {"bucket": "credential"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROSTER_RATE_LIMIT_TENANT_PER_SECOND", "-1"),
        ("ROSTER_RATE_LIMIT_CREDENTIAL_PER_SECOND", "-0.5"),
        ("ROSTER_RATE_LIMIT_TENANT_BURST", "0"),
        ("ROSTER_RATE_LIMIT_CREDENTIAL_BURST", "0"),
    ],
)
def test_a_negative_rate_or_an_empty_burst_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """Rates are 0 or more, bursts at least 1."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
