"""No secret reaches a log: a full run of the operator commands and both
services at DEBUG (tenant and credentials made with the CLI, SCIM calls with
tokens, OAuth tokens issued, calls with wrong and revoked ones), then every
byte the processes wrote is searched for every secret."""

import base64
import hashlib
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.processes import Started, environment, free_port, wait_until_serving

SCIM_JSON = "application/scim+json"


@dataclass
class Run:
    """What the run's processes wrote, and every secret it handled."""

    directory: Path
    database_url: str
    secrets: set[str] = field(default_factory=set)
    # Authorization header values sent (Basic ones encode a client's secret).
    authorizations: set[str] = field(default_factory=set)
    logs: list[Path] = field(default_factory=list)

    def cli(self, *arguments: str) -> str:
        """Run an operator command; its stderr is kept as a log, its stdout returned."""
        done = subprocess.run(
            [sys.executable, "-m", "identity_service", *arguments],
            env=environment(ROSTER_DATABASE_URL=self.database_url, ROSTER_LOG_LEVEL="DEBUG"),
            capture_output=True,
            text=True,
            check=True,
        )
        log = self.directory / f"cli-{len(self.logs)}.log"
        log.write_text(done.stderr)
        self.logs.append(log)
        return done.stdout

    def new_secret(self, *arguments: str) -> tuple[str, str]:
        """Run a command that creates a credential: its id and its secret (stdout's last line)."""
        lines = self.cli(*arguments).strip().splitlines()
        secret = lines[-1]
        self.secrets.add(secret)
        return lines[-2].split()[0], secret

    def start(
        self, stack: ExitStack, module: str, arguments: list[str], env: dict[str, str]
    ) -> Started:
        """A service process whose stdout and stderr both go to its log."""
        log = self.directory / f"{module}.log"
        self.logs.append(log)
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", module, "serve", *arguments],
                env=environment(**env),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        stack.callback(_stop, process)
        return Started(process, log)


def _stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def _basic(run: Run, client_id: str, secret: str) -> str:
    value = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    run.authorizations.add(value)
    return value


def _traffic(run: Run, base: str, tenant_secret: str, client: tuple[str, str]) -> None:
    """SCIM calls with good, wrong and revoked tokens; OAuth tokens issued and refused."""
    scim = f"{base}/scim/v2"
    with httpx.Client(timeout=10) as http:
        good = {"Authorization": f"Bearer {tenant_secret}", "Content-Type": SCIM_JSON}
        created = http.post(f"{scim}/Users", json={"userName": "bjensen"}, headers=good)
        assert created.status_code == 201, created.text
        issued = http.post(
            f"{base}/oauth/token",
            content=b"grant_type=client_credentials",
            headers={
                "Authorization": _basic(run, *client),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        run.secrets.add(token)
        assert (
            http.get(f"{scim}/Users", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        wrong = {
            "Authorization": _basic(run, client[0], client[1][:-1] + "x"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        refused = http.post(
            f"{base}/oauth/token", content=b"grant_type=client_credentials", headers=wrong
        )
        assert refused.status_code == 401
        for bad in (tenant_secret[:-1], token[:-1], f"{client[1]}x"):
            run.authorizations.add(f"Bearer {bad}")
            answer = http.get(f"{scim}/Users", headers={"Authorization": f"Bearer {bad}"})
            assert answer.status_code == 401
        run.cli("credentials", "revoke", client[0], "--tenant", "acme")
        for revoked in (client[1], token):
            answer = http.get(f"{scim}/Users", headers={"Authorization": f"Bearer {revoked}"})
            assert answer.status_code == 401


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("secret-logs")
    run = Run(directory, f"sqlite:///{directory / 'roster.db'}")
    run.cli("migrate")
    _, tenant_secret = run.new_secret("tenants", "create", "acme")
    client = run.new_secret("credentials", "create", "--tenant", "acme", "--scopes", "scim")
    with ExitStack() as stack:
        service = run.start(
            stack,
            "identity_service",
            ["--listen", "127.0.0.1:0", "--log-level", "DEBUG"],
            {"ROSTER_DATABASE_URL": run.database_url, "ROSTER_AUTH_CACHE_SECONDS": "0"},
        )
        target = f"127.0.0.1:{service.port()}"
        wait_until_serving(target)
        port = free_port()
        facade = run.start(
            stack,
            "scim_facade",
            ["--listen", f"127.0.0.1:{port}", "--identity-target", target, "--log-level", "DEBUG"],
            {},
        )
        assert facade.port() == port
        _traffic(run, f"http://127.0.0.1:{port}", tenant_secret, client)
    return run


def _forms(secret: str) -> list[str]:
    """A secret as a log could hold it: itself, without its prefix, its hash."""
    return [secret, secret[len("rst_") :], hashlib.sha256(secret.encode()).hexdigest()]


def test_the_run_wrote_debug_logs_of_both_services(run: Run) -> None:
    """The search below is over real DEBUG output (a silent run would prove nothing)."""
    texts = {log.name: log.read_text() for log in run.logs}
    assert "DEBUG" in texts["identity_service.log"]
    assert "DEBUG" in texts["scim_facade.log"]
    assert "request method=POST route=/oauth/token status=200" in texts["scim_facade.log"]
    assert len(run.secrets) == 3  # the tenant's token, the client's secret, an access token


def test_no_secret_appears_in_any_log_or_output_of_the_run(run: Run) -> None:
    """Bearer tokens, client secrets, access tokens, Basic values and hashes: in no log at all."""
    logged = "".join(log.read_text(errors="replace") for log in run.logs)
    for secret in run.secrets:
        for form in _forms(secret):
            assert form not in logged
    assert len(run.authorizations) == 5  # two Basic values, three wrong bearer tokens
    for value in run.authorizations:
        assert value.split()[1] not in logged
