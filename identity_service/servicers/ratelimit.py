"""Rate limits per tenant and per credential: token buckets in this
process's memory (decision 0018). A call is admitted once it is
authenticated, before it does anything; a refused call takes no token from
either bucket, so a client that keeps retrying too early stays refused only
until its bucket has refilled."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from identity_service.domain.errors import RateLimited
from identity_service.domain.models import Caller

# Health checks need no credential and are never limited; reflection
# describes the API to tools (grpcurl) and is not limited either.
UNLIMITED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# The number of buckets of one kind at which full buckets are first swept out.
_FIRST_SWEEP = 1024


@dataclass(frozen=True)
class Rate:
    """`per_second` calls sustained, `burst` at once; 0 per second: no limit."""

    per_second: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def __str__(self) -> str:
        return f"{self.per_second:g} calls/s, bursts of {self.burst}"


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class Buckets:
    """One token bucket per key (a tenant, or a credential), each holding up
    to `rate.burst` tokens and refilled at `rate.per_second`."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._buckets: dict[str, _Bucket] = {}
        self._sweep_at = _FIRST_SWEEP

    def wait(self, key: str, now: float) -> float:
        """Seconds until the bucket of `key` holds a token (0: it holds one now)."""
        bucket = self._refilled(key, now)
        if bucket.tokens >= 1:
            return 0.0
        # Rounded up to the millisecond: a client that waits exactly this
        # long finds the token, whatever the float rounding.
        return math.ceil((1 - bucket.tokens) / self.rate.per_second * 1000) / 1000

    def take(self, key: str) -> None:
        """Take a token that `wait` just found."""
        self._buckets[key].tokens -= 1

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._sweep(now)
            bucket = self._buckets[key] = _Bucket(self.rate.burst, now)
            return bucket
        gained = (now - bucket.updated) * self.rate.per_second
        bucket.tokens = min(self.rate.burst, bucket.tokens + gained)
        bucket.updated = now
        return bucket

    def _sweep(self, now: float) -> None:
        """Forget the buckets that have refilled: a full bucket is the same
        as none. Amortised: the next sweep waits until the count doubles."""
        full_after = self.rate.burst / self.rate.per_second
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._buckets))


class RateLimiter:
    """Admits or refuses calls by their caller's tenant and credential. A
    platform credential has no tenant: only its credential's limit applies.
    `clock` is injectable so tests control time."""

    def __init__(
        self, tenant: Rate, credential: Rate, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buckets = {
            name: Buckets(rate)
            for name, rate in (("tenant", tenant), ("credential", credential))
            if rate.enabled
        }
        self._clock = clock

    def admit(self, method: str, caller: Caller) -> None:
        """Take one token from each of the caller's buckets, or raise
        RateLimited (taking none) when any of them is empty; its wait is the
        longest, so the call after it finds every bucket holding a token."""
        if not self._buckets or method.startswith(UNLIMITED_PREFIXES):
            return
        now = self._clock()
        held = [(name, key) for name in self._buckets if (key := _key(name, caller)) is not None]
        wait, name = max(((self._buckets[n].wait(key, now), n) for n, key in held), default=(0, ""))
        if wait > 0:
            raise RateLimited(
                f"rate limit of the {name} exceeded ({self._buckets[name].rate}): "
                f"retry in {wait:g}s",
                bucket=name,
                retry_after=wait,
            )
        for name, key in held:
            self._buckets[name].take(key)


def _key(kind: str, caller: Caller) -> str | None:
    """The caller's bucket of `kind`: its tenant (None for a platform
    credential), or its credential."""
    if kind == "tenant":
        return None if caller.tenant_id is None else str(caller.tenant_id)
    return caller.credential_id
