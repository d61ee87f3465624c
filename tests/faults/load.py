"""A SCIM write load through a real facade: worker threads that each keep
creating users, PATCH one "anchor" user of theirs with several operations,
and PATCH a group of theirs (add the new user and rename the group, one
request). Each worker remembers what was acknowledged (2xx received); a
failed request leaves its write in doubt."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx2

BASE = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Longer than the facade's deadline: the facade answers before the client gives up.
HTTP_SECONDS = 15.0


def anchor_patch(step: int) -> dict[str, object]:
    """Three operations that set three attributes to the same value."""
    value = f"v{step}"
    operations = [
        {"op": "replace", "path": attribute, "value": value}
        for attribute in ("displayName", "title", "nickName")
    ]
    return {"schemas": [PATCH], "Operations": operations}


def group_patch(step: int, worker: int, user_id: str) -> dict[str, object]:
    """Add the step's user and rename the group after the step, together."""
    operations = [
        {"op": "add", "path": "members", "value": [{"value": user_id}]},
        {"op": "replace", "path": "displayName", "value": group_name(worker, step)},
    ]
    return {"schemas": [PATCH], "Operations": operations}


def group_name(worker: int, step: int) -> str:
    return f"g{worker}-{step}"


@dataclass
class Acknowledged:
    """What one worker was told succeeded."""

    anchor_id: str
    group_id: str
    users: dict[int, str] = field(default_factory=dict)  # step -> id of u{worker}-{step}
    last_anchor_step: int = 0
    group_steps: list[int] = field(default_factory=list)
    # The status of each failed request; None when no answer came.
    failures: list[int | None] = field(default_factory=list)


class Worker(threading.Thread):
    """One IdP connection's writes, step after step, until stopped."""

    def __init__(self, url: str, secret: str, number: int, stopping: threading.Event) -> None:
        super().__init__(daemon=True)
        self._http = httpx2.Client(
            base_url=f"{url}{BASE}",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=HTTP_SECONDS,
        )
        self.number = number
        self._stopping = stopping
        self.progress = threading.Semaphore(0)
        anchor = self._created("/Users", {"schemas": [USER], "userName": f"anchor{number}"})
        group = self._created("/Groups", {"schemas": [GROUP], "displayName": group_name(number, 0)})
        self.acknowledged = Acknowledged(anchor, group)

    def _created(self, path: str, body: dict[str, object]) -> str:
        response = self._http.post(path, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def _ok(self, method: str, path: str, body: Mapping[str, object]) -> httpx2.Response | None:
        """The response when 2xx; None when it failed or never came."""
        try:
            response = self._http.request(method, path, json=body)
        except httpx2.TransportError:
            response = None
        if response is None or not response.is_success:
            self.acknowledged.failures.append(None if response is None else response.status_code)
            return None
        return response

    def run(self) -> None:
        step = 0
        while not self._stopping.is_set():
            step += 1
            self._step(step)
        self._http.close()

    def _step(self, step: int) -> None:
        done = self.acknowledged
        body = {"schemas": [USER], "userName": f"u{self.number}-{step}"}
        created = self._ok("POST", "/Users", body)
        if self._ok("PATCH", f"/Users/{done.anchor_id}", anchor_patch(step)):
            done.last_anchor_step = step
        if created is not None:
            user_id = str(created.json()["id"])
            done.users[step] = user_id
            patch = group_patch(step, self.number, user_id)
            if self._ok("PATCH", f"/Groups/{done.group_id}", patch):
                done.group_steps.append(step)
                self.progress.release()


class Load:
    """`workers` concurrent workers against the facade at `url`."""

    def __init__(self, url: str, secret: str, workers: int) -> None:
        self._stopping = threading.Event()
        self.workers = [Worker(url, secret, n, self._stopping) for n in range(workers)]
        for worker in self.workers:
            worker.start()

    def wait_for_steps(self, count: int, timeout: float) -> None:
        """Until every worker has `count` more fully acknowledged steps."""
        for worker in self.workers:
            while worker.progress.acquire(blocking=False):
                pass  # steps acknowledged before now
            for _ in range(count):
                assert worker.progress.acquire(timeout=timeout), worker.acknowledged

    def stop(self) -> list[Acknowledged]:
        self._stopping.set()
        for worker in self.workers:
            worker.join(timeout=2 * HTTP_SECONDS)
            assert not worker.is_alive()
        return [worker.acknowledged for worker in self.workers]
