"""`identity-service` as operators and `make run` use it: a real process
(`python -m identity_service`) on a real SQLite file, one file per test."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from identity_service.domain.errors import InvalidCredential
from identity_service.domain.models import Caller, NewUser, Scope
from identity_service.service.access import Access
from identity_service.service.groups import Groups
from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.service.tokens import Tokens
from identity_service.service.users import Users
from identity_service.store import migrate
from identity_service.store.engine import Database

# A platform caller that may write users and groups, to give the CLI something to read.
WRITER = Caller("test-writer", None, None, frozenset({Scope.ADMIN, Scope.READ, Scope.WRITE}))


def cli(
    *args: str, url: str | None, env: dict[str, str] | None = None
) -> "subprocess.CompletedProcess[str]":
    """Run `identity-service ARGS --database-url URL` with no ROSTER_* variables
    but those in `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
    command = [sys.executable, "-m", "identity_service", *args]
    if url is not None:
        command += ["--database-url", url]
    return subprocess.run(
        command,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def last_line(output: str) -> str:
    return output.rstrip("\n").rsplit("\n", 1)[-1]


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own."""
    database_url = f"sqlite:///{tmp_path / 'roster.db'}"
    database = Database.from_url(database_url)
    migrate.upgrade(database.engine)
    database.dispose()
    return database_url


@pytest.fixture
def database(url: str) -> Iterator[Database]:
    """The same file, opened in-process to check what the CLI did."""
    database = Database.from_url(url)
    yield database
    database.dispose()


@pytest.fixture
def acme(database: Database) -> str:
    """A tenant `acme` (made in-process, through the service layer)."""
    Tenants(database).create(OPERATOR, "acme")
    return "acme"


def test_migrate_creates_the_schema_in_a_new_sqlite_file(tmp_path: Path) -> None:
    """`migrate` creates the file and its directory and applies every migration."""
    url = f"sqlite:///{tmp_path / 'var' / 'roster.db'}"
    assert cli("migrate", url=url).returncode == 0
    listed = cli("tenants", "list", url=url)
    assert (listed.returncode, listed.stdout) == (0, "")


def test_an_unmigrated_database_is_an_error_that_names_the_fix(tmp_path: Path) -> None:
    """Operator commands on an empty file exit 1 and say to run `migrate`."""
    failed = cli("tenants", "list", url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert failed.returncode == 1
    assert "run `identity-service migrate` first" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_tenants_create_prints_a_working_scim_token_as_the_last_line(
    url: str, database: Database
) -> None:
    """The last line of stdout is the tenant's new bearer secret, with the scim scope."""
    created = cli("tenants", "create", "acme", "--display-name", "Acme Inc", url=url)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith('acme state=ACTIVE display_name="Acme Inc" ')
    secret = last_line(created.stdout)
    assert secret.startswith("rst_")
    caller = Access(database).authenticate(secret)
    assert (caller.tenant_slug, caller.scopes) == ("acme", frozenset({Scope.SCIM}))


def test_tenants_ensure_prints_a_token_the_first_time_only(url: str, database: Database) -> None:
    """`ensure` (used by `make run`) creates the tenant and its token once; a
    second run says the tenant exists and how to get a new token."""
    first = cli("tenants", "ensure", "demo", url=url)
    second = cli("tenants", "ensure", "demo", url=url)
    assert first.returncode == second.returncode == 0
    assert Access(database).authenticate(last_line(first.stdout)).tenant_slug == "demo"
    assert "rst_" not in second.stdout
    assert "credentials create --tenant demo --scopes scim" in second.stdout


def test_creating_a_tenant_twice_is_an_error(acme: str, url: str) -> None:
    """A duplicate slug exits 1 with the domain error's message, no traceback."""
    failed = cli("tenants", "create", "acme", url=url)
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr == "error: tenant 'acme' exists\n"


def test_a_malformed_slug_is_an_error(url: str) -> None:
    """Slugs are lower-case letters, digits and hyphens, starting with a letter."""
    failed = cli("tenants", "create", "Acme", url=url)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: tenant_id: 1-63 lower-case letters")


def test_suspend_and_resume_change_the_tenants_state(acme: str, url: str) -> None:
    """`tenants suspend` and `tenants resume` print the tenant in its new state."""
    suspended = cli("tenants", "suspend", "acme", url=url)
    resumed = cli("tenants", "resume", "acme", url=url)
    assert "state=SUSPENDED" in suspended.stdout
    assert "state=ACTIVE" in resumed.stdout


def test_credentials_create_list_and_revoke(acme: str, url: str, database: Database) -> None:
    """The secret is printed once, last; list shows the credential by id (never
    the secret) until it is revoked, and a revoked secret no longer works."""
    created = cli("credentials", "create", "--tenant", "acme", "--scopes", "read,watch", url=url)
    secret = last_line(created.stdout)
    credential_id = created.stdout.split()[0]
    listed = cli("credentials", "list", "--tenant", "acme", url=url)
    assert credential_id in listed.stdout
    assert secret not in listed.stdout
    revoked = cli("credentials", "revoke", credential_id, "--tenant", "acme", url=url)
    assert revoked.returncode == 0
    assert "revoked=" in revoked.stdout
    assert credential_id not in cli("credentials", "list", "--tenant", "acme", url=url).stdout
    shown = cli("credentials", "list", "--tenant", "acme", "--show-revoked", url=url)
    assert credential_id in shown.stdout
    with pytest.raises(InvalidCredential):
        Access(database).authenticate(secret)


def test_a_platform_credential_belongs_to_no_tenant(
    acme: str, url: str, database: Database
) -> None:
    """`--platform` creates a credential that spans tenants; listing without
    an owner shows the platform's credentials, then every tenant's."""
    Credentials(database).create(OPERATOR, "acme", scopes=["read"])
    created = cli("credentials", "create", "--platform", "--scopes", "admin", url=url)
    assert Access(database).authenticate(last_line(created.stdout)).is_platform
    listed = cli("credentials", "list", "--json", url=url).stdout.splitlines()
    assert [json.loads(line)["tenant_slug"] for line in listed] == [None, "acme"]


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--tenant", "acme", "--scopes", "read,fly"], 1, "unknown: fly"),
        (["--scopes", "read"], 2, "one of the arguments --tenant --platform is required"),
    ],
)
def test_credentials_create_refuses_bad_arguments(
    acme: str, url: str, args: list[str], status: int, message: str
) -> None:
    """Domain errors exit 1, usage errors exit 2; neither prints a secret."""
    failed = cli("credentials", "create", *args, url=url)
    assert failed.returncode == status
    assert message in failed.stderr
    assert "rst_" not in failed.stdout


def test_users_list_of_an_empty_tenant_prints_nothing(acme: str, url: str) -> None:
    """No users, no lines, exit 0."""
    listed = cli("users", "list", "--tenant", "acme", url=url)
    assert (listed.returncode, listed.stdout) == (0, "")


def test_users_list_pages_and_get_shows_one_user(acme: str, url: str, database: Database) -> None:
    """One line per user; `--page-size` stops after a page and names the next
    page's token on stderr, `--all` follows every page; `get` shows a user."""
    for name in ("alice", "bob", "carol"):
        Users(database).create(WRITER, "acme", NewUser(user_name=name))
    first = cli("users", "list", "--tenant", "acme", "--page-size", "2", url=url)
    every = cli("users", "list", "--tenant", "acme", "--page-size", "2", "--all", url=url)
    assert len(first.stdout.splitlines()) == 2
    assert "--page-token" in first.stderr
    assert len(every.stdout.splitlines()) == 3
    carol = cli("users", "list", "--tenant", "acme", "--filter", 'userName eq "carol"', url=url)
    user_id = carol.stdout.split()[0]
    shown = cli("users", "get", "--tenant", "acme", user_id, "--json", url=url)
    assert json.loads(shown.stdout)["user_name"] == "carol"


def test_groups_list_and_get_show_a_tenants_groups(acme: str, url: str, database: Database) -> None:
    """`groups list` prints one line per group with its member count."""
    group = Groups(database).create(WRITER, "acme", "Engineering")
    listed = cli("groups", "list", "--tenant", "acme", url=url)
    assert listed.stdout == f'{group.id} display_name="Engineering" members=0\n'
    shown = cli("groups", "get", "--tenant", "acme", group.id, url=url)
    assert "display_name: Engineering" in shown.stdout


def test_reading_another_tenant_that_does_not_exist_is_not_found(url: str) -> None:
    """A missing tenant is NOT_FOUND, printed as an error with exit 1."""
    failed = cli("users", "list", "--tenant", "nowhere", url=url)
    assert (failed.returncode, failed.stderr) == (1, "error: tenant 'nowhere' not found\n")


def test_the_database_url_comes_from_the_environment_and_a_flag_wins(
    url: str, tmp_path: Path
) -> None:
    """ROSTER_DATABASE_URL sets the default; --database-url overrides it."""
    elsewhere = {"ROSTER_DATABASE_URL": f"sqlite:///{tmp_path / 'unmigrated.db'}"}
    from_env = cli("tenants", "create", "acme", url=None, env={"ROSTER_DATABASE_URL": url})
    flag_wins = cli("tenants", "list", url=url, env=elsewhere)
    assert from_env.returncode == 0, from_env.stderr
    assert flag_wins.stdout.startswith("acme ")


def test_invalid_settings_are_a_usage_error(url: str, tmp_path: Path) -> None:
    """Half a TLS key pair exits 2 before serving, naming the problem."""
    key = tmp_path / "server.key"
    key.write_text("not used")
    half_tls = cli("serve", "--listen", "127.0.0.1:0", "--tls-key", str(key), url=url)
    assert half_tls.returncode == 2
    assert "TLS needs both a certificate and a key file" in half_tls.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    """`serve` does not start over a database that lacks the newest migration."""
    result = cli("serve", "--listen", "127.0.0.1:0", url=f"sqlite:///{tmp_path / 'new.db'}")
    assert result.returncode == 1
    assert "run `identity-service migrate` first" in result.stderr


def test_changes_prune_keeps_the_records_within_retention(acme: str, url: str) -> None:
    """`changes prune` deletes only records older than the retention (default 30 days)."""
    pruned = cli("changes", "prune", "--change-retention-days", "1", url=url)

    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("pruned 0 change records")


def test_users_refresh_keys_repairs_search_keys_an_older_release_left(
    acme: str, url: str, database: Database
) -> None:
    """A release before migration 0003 wrote users without emails_key (or
    changed their emails and left it stale): `users refresh-keys` makes
    `emails co` find them again, and a second run has nothing to do."""
    users = Users(database)
    for name in ("alice", "bob", "carol"):
        email = {"emails": [{"value": f"{name}@Example.com"}]}
        users.create(WRITER, "acme", NewUser(user_name=name, attributes=email))
    with database.write() as conn:  # as the older release's writes left them
        conn.execute(sa.text("UPDATE users SET emails_key = NULL WHERE user_name = 'alice'"))
        conn.execute(
            sa.text(
                "UPDATE users SET emails_key = '\x1fold@example.com\x1f' WHERE user_name = 'bob'"
            )
        )

    def found() -> set[str]:
        listed = cli(
            "users", "list", "--tenant", "acme", "--filter", 'emails co "example.com"', url=url
        )
        return {line.split()[1].split('"')[1] for line in listed.stdout.splitlines()}

    assert found() == {"bob", "carol"}
    first = cli("users", "refresh-keys", url=url)
    assert (first.returncode, first.stdout) == (0, "refreshed the search keys of 2 users\n")
    assert found() == {"alice", "bob", "carol"}
    again = cli("users", "refresh-keys", url=url)
    assert again.stdout == "refreshed the search keys of 0 users\n"


def test_credentials_create_names_the_oauth_client_id_that_gets_a_token(
    acme: str, url: str, database: Database
) -> None:
    """The client_id printed for OAuth (RFC 6749 §2.2) and the secret get an access token."""
    created = cli("credentials", "create", "--tenant", "acme", "--scopes", "scim", url=url)
    secret = last_line(created.stdout)
    client_id = created.stderr.split("client_id ", 1)[1].split(",")[0]
    assert client_id == created.stdout.split()[0]
    client = Access(database).authenticate(secret)
    issued = Tokens(database, lifetime=timedelta(minutes=5)).issue(client, client_id, ())
    assert Access(database).authenticate(issued.token).credential_id == client_id
