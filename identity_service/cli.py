"""The `identity-service` command line: run the server, migrate the database,
and the operator commands for tenants, credentials, users and groups.

Flags override the environment (ROSTER_*), which overrides the defaults; see
`identity_service.settings`. Errors a caller can cause print `error: ...` on
stderr and exit 1; usage and configuration errors exit 2."""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import sqlalchemy as sa
from pydantic import ValidationError

from identity_service import cli_client as client
from identity_service import cli_commands as commands
from identity_service.domain.errors import DomainError, StorageUnavailable
from identity_service.settings import DEFAULT_DATABASE_URL, DEFAULT_LISTEN, Settings

_Group: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_ENVIRONMENT = """\
environment:
  ROSTER_DATABASE_URL, ROSTER_LISTEN, ROSTER_TLS_CERT_FILE, ROSTER_TLS_KEY_FILE,
  ROSTER_TLS_CLIENT_CA_FILE, ROSTER_SHUTDOWN_GRACE_SECONDS, ROSTER_LOG_LEVEL,
  ROSTER_CHANGE_RETENTION_DAYS set what the flags of the same name set; a flag
  wins over its variable. ROSTER_WATCH_CHECKPOINT_SECONDS and
  ROSTER_WATCH_POLL_SECONDS tune WatchChanges streams (default: 15 and 2).
  ROSTER_DATABASE_POOL_SIZE, ROSTER_DATABASE_MAX_OVERFLOW (PostgreSQL pool),
  ROSTER_HEALTH_CHECK_SECONDS, ROSTER_HEALTH_CHECK_TIMEOUT_SECONDS (readiness),
  ROSTER_MAX_CONNECTION_AGE_SECONDS, ROSTER_MAX_CONNECTION_AGE_GRACE_SECONDS,
  ROSTER_KEEPALIVE_SECONDS, ROSTER_AUTH_CACHE_SECONDS, ROSTER_LOG_FORMAT,
  ROSTER_METRICS_LISTEN: see README
  "Configuration" and docs/deploy.md.
  ROSTER_TOKEN is the bearer credential of `watch` and `audit`.
"""


def main(argv: Sequence[str] | None = None) -> None:
    """The console script `identity-service`."""
    raise SystemExit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the command, and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings(**_overrides(args))
    except ValidationError as exc:
        return commands.fail(_describe(exc), status=2)
    command: commands.Command = args.command
    try:
        return command(args, settings)
    except StorageUnavailable as exc:
        cause = exc.__cause__
        if isinstance(cause, sa.exc.OperationalError):
            return commands.fail(_database_problem(cause))
        return commands.fail(exc.message)
    except DomainError as exc:
        return commands.fail(exc.message)
    except sa.exc.OperationalError as exc:
        return commands.fail(_database_problem(exc))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="identity-service",
        description="Roster's identity service and its operator commands.",
        epilog=_ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--database-url",
        metavar="URL",
        help=f"sqlite:///PATH or postgresql://USER@HOST/DB (default: {DEFAULT_DATABASE_URL})",
    )
    _add_serve(group, database)
    _command(group, "migrate", commands.migrate, "apply the database migrations", database)
    _add_tenants(group, database)
    _add_credentials(group, database)
    users = _add_reading(group, database, "users", commands.users_list, commands.users_get)
    _command(
        users,
        "refresh-keys",
        commands.users_refresh_keys,
        "recompute the users' search keys (once every replica runs this release)",
        database,
    )
    _add_reading(group, database, "groups", commands.groups_list, commands.groups_get)
    _add_changes(group, database)
    _add_client(group)
    return parser


def _command(
    group: _Group, name: str, run: commands.Command, text: str, *parents: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=text, description=text, parents=list(parents))
    parser.set_defaults(command=run)
    return parser


def _commands(group: _Group, name: str, text: str) -> _Group:
    parser = group.add_parser(name, help=text, description=text)
    return parser.add_subparsers(title="commands", metavar="COMMAND", required=True)


def _add_serve(group: _Group, database: argparse.ArgumentParser) -> None:
    serve = _command(group, "serve", commands.serve, "run the gRPC server until SIGTERM", database)
    serve.add_argument(
        "--listen", metavar="HOST:PORT", help=f"address to bind (default: {DEFAULT_LISTEN})"
    )
    serve.add_argument("--tls-cert", dest="tls_cert_file", metavar="FILE", help="PEM certificate")
    serve.add_argument("--tls-key", dest="tls_key_file", metavar="FILE", help="PEM private key")
    serve.add_argument(
        "--tls-client-ca",
        dest="tls_client_ca_file",
        metavar="FILE",
        help="PEM CA bundle: require client certificates signed by it (mutual TLS)",
    )
    serve.add_argument(
        "--shutdown-grace-seconds",
        type=float,
        metavar="S",
        help="how long calls in flight may finish after SIGTERM (default: 10)",
    )
    serve.add_argument("--log-level", metavar="LEVEL", help="DEBUG, INFO, ... (default: INFO)")
    serve.add_argument(
        "--log-format", choices=("text", "json"), help="text or JSON lines (default: text)"
    )
    serve.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (default: off)",
    )


def _add_tenants(group: _Group, database: argparse.ArgumentParser) -> None:
    tenants = _commands(group, "tenants", "create, list, suspend and resume tenants")
    slug_help = "the tenant's id: lower-case letters, digits and hyphens"
    for name, run, text in (
        ("create", commands.tenants_create, "create a tenant and print its SCIM token last"),
        (
            "ensure",
            commands.tenants_ensure,
            "create a tenant unless it exists (token printed once)",
        ),
    ):
        command = _command(tenants, name, run, text, database)
        command.add_argument("slug", metavar="SLUG", help=slug_help)
        command.add_argument(
            "--display-name", default="", metavar="TEXT", help="a name for people to read"
        )
    listing = _command(tenants, "list", commands.tenants_list, "list every tenant", database)
    _add_json(listing)
    for name, run, text in (
        ("suspend", commands.tenants_suspend, "refuse every call of the tenant's credentials"),
        ("resume", commands.tenants_resume, "accept the tenant's credentials again"),
    ):
        _command(tenants, name, run, text, database).add_argument("slug", metavar="SLUG")


def _add_credentials(group: _Group, database: argparse.ArgumentParser) -> None:
    credentials = _commands(group, "credentials", "create, list and revoke bearer credentials")
    create = _command(
        credentials, "create", commands.credentials_create, "create a credential", database
    )
    _add_owner(create, required=True)
    create.add_argument(
        "--scopes", required=True, help="comma-separated: read, write, scim, watch, admin"
    )
    create.add_argument(
        "--display-name", default="", metavar="TEXT", help="a name for people to read"
    )
    create.add_argument(
        "--expires-in-days", type=_positive, metavar="N", help="expire after N days"
    )
    listing = _command(
        credentials, "list", commands.credentials_list, "list credentials (default: all)", database
    )
    _add_owner(listing, required=False)
    listing.add_argument("--show-revoked", action="store_true", help="include revoked ones")
    _add_json(listing)
    revoke = _command(
        credentials, "revoke", commands.credentials_revoke, "revoke a credential now", database
    )
    revoke.add_argument("id", metavar="ID", help="the credential's id")
    _add_owner(revoke, required=True)


def _add_changes(group: _Group, database: argparse.ArgumentParser) -> None:
    changes = _commands(group, "changes", "maintain the change log")
    prune = _command(
        changes,
        "prune",
        commands.changes_prune,
        "delete change records older than the retention",
        database,
    )
    prune.add_argument(
        "--change-retention-days",
        type=_positive,
        metavar="N",
        help="keep the records of the last N days (default: 30)",
    )


def _add_client(group: _Group) -> None:
    """`watch` and `audit`: clients of the gRPC API, not of the database."""
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument(
        "--target",
        default=client.DEFAULT_TARGET,
        metavar="HOST:PORT",
        help=f"the identity_service to call (default: {client.DEFAULT_TARGET}); "
        f"the bearer credential comes from ${client.TOKEN_VARIABLE}",
    )
    api.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="use TLS and trust the server certificate this CA signed (PEM)",
    )
    api.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="present this client certificate (PEM) for mutual TLS; needs --tls-key",
    )
    api.add_argument("--tls-key", type=Path, metavar="FILE", help="the client certificate's key")
    watch = _command(
        group, "watch", client.watch, "tail a tenant's changes (needs the watch scope)", api
    )
    watch.add_argument(
        "--tenant",
        metavar="SLUG",
        help="the tenant (default: the credential's own; every tenant for a platform one)",
    )
    watch.add_argument(
        "--from",
        dest="start_cursor",
        default="",
        metavar="CURSOR",
        help="resume after this cursor (default: only changes from now on)",
    )
    watch.add_argument(
        "--json",
        action="store_true",
        help='print JSON, one change per line, and {"checkpoint": ...} lines to resume from',
    )
    audit = _command(group, "audit", client.audit, "print a tenant's provisioning history", api)
    audit.add_argument("--tenant", metavar="SLUG", required=True, help="the tenant")
    audit.add_argument("--user", metavar="USERNAME", help="only the records of this user")
    audit.add_argument(
        "--since",
        type=client.since,
        metavar="TIME",
        help="only records committed at or after TIME (RFC 3339, or a date: UTC midnight)",
    )


def _add_owner(parser: argparse.ArgumentParser, *, required: bool) -> None:
    owner = parser.add_mutually_exclusive_group(required=required)
    owner.add_argument("--tenant", metavar="SLUG", help="a credential of this tenant")
    owner.add_argument(
        "--platform", action="store_true", help="a platform credential, spanning tenants"
    )


def _add_reading(
    group: _Group,
    database: argparse.ArgumentParser,
    noun: str,
    list_run: commands.Command,
    get_run: commands.Command,
) -> _Group:
    nouns = _commands(group, noun, f"read a tenant's {noun}")
    tenant = argparse.ArgumentParser(add_help=False)
    tenant.add_argument("--tenant", metavar="SLUG", required=True, help="the tenant")
    tenant.add_argument("--show-deleted", action="store_true", help="include deleted ones")
    _add_json(tenant)
    listing = _command(nouns, "list", list_run, f"list {noun}, one per line", database, tenant)
    listing.add_argument("--filter", default="", help="a SCIM filter, e.g. 'userName sw \"a\"'")
    listing.add_argument(
        "--page-size",
        type=_positive,
        default=0,
        metavar="N",
        help="N per page (default 100, at most 1000)",
    )
    listing.add_argument("--page-token", default="", metavar="TOKEN", help="continue a listing")
    listing.add_argument("--all", action="store_true", help="every page, not just the first")
    get = _command(nouns, "get", get_run, f"show one of the {noun}", database, tenant)
    get.add_argument("id", metavar="ID")
    return nouns


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON, one object per line")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags: those win over the environment."""
    return {
        name: value
        for name in Settings.model_fields
        if (value := getattr(args, name, None)) is not None
    }


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        where = ".".join(map(str, error["loc"]))
        problems.append(f"{where}: {message}" if where else message)
    return "invalid settings: " + "; ".join(problems)


def _database_problem(exc: sa.exc.OperationalError) -> str:
    hint = "; run `identity-service migrate` first" if "no such table" in str(exc.orig) else ""
    return f"database: {exc.orig}{hint}"
