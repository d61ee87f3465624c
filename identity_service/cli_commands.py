"""What each `identity-service` command does. Operator commands work on the
database through the service layer, as a platform operator; they never run
SQL themselves. Each command returns its exit status."""

import argparse
import dataclasses
import functools
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.engine import make_url

from identity_service import cli_output as out
from identity_service import server
from identity_service.domain.errors import NotFound, TenantExists
from identity_service.domain.models import (
    Caller,
    Credential,
    ListQuery,
    Page,
    Scope,
    TenantState,
    now,
)
from identity_service.service.changes import Changes
from identity_service.service.groups import Groups
from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.service.users import Users
from identity_service.settings import Settings
from identity_service.store import migrate as migrations
from identity_service.store.engine import Database, create_engine
from roster_telemetry import logs

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound=out.Item)
Command = Callable[[argparse.Namespace, Settings], int]
# Users and groups need the read scope as well as the operator's admin scope.
READER = Caller(OPERATOR.credential_id, None, None, frozenset({Scope.ADMIN, Scope.READ}))
TENANT_SCOPES = ("scim",)


def on_database(command: Callable[[argparse.Namespace, Database], int]) -> Command:
    """A command that needs the database: opened from the settings, always closed."""

    @functools.wraps(command)
    def run(args: argparse.Namespace, settings: Settings) -> int:
        db = Database.from_url(settings.database_url)
        try:
            return command(args, db)
        finally:
            db.dispose()

    return run


def serve(args: argparse.Namespace, settings: Settings) -> int:
    logs.configure(settings.log_level, settings.log_format)
    # Alembic narrates the migration check at INFO; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        server.run(settings)
    except (server.ListenError, server.NotMigrated) as exc:
        return fail(str(exc))
    return 0


def changes_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Delete the change records older than the retention, in every tenant."""
    before = now() - timedelta(days=settings.change_retention_days)
    db = Database.from_url(settings.database_url)
    try:
        deleted = Changes(db).prune(OPERATOR, before=before)
    finally:
        db.dispose()
    print(f"pruned {deleted} change records committed before {before.isoformat()}")
    return 0


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    print(f"migrated {make_url(settings.database_url).render_as_string(hide_password=True)}")
    return 0


@on_database
def tenants_create(args: argparse.Namespace, db: Database) -> int:
    return _new_tenant(db, args.slug, args.display_name)


@on_database
def tenants_ensure(args: argparse.Namespace, db: Database) -> int:
    """Create the tenant and its token, once: a second run prints no token."""
    try:
        tenant = Tenants(db).get(OPERATOR, args.slug)
    except NotFound:
        try:
            return _new_tenant(db, args.slug, args.display_name)
        except TenantExists:  # created meanwhile by a concurrent run
            tenant = Tenants(db).get(OPERATOR, args.slug)
    print(f"tenant {tenant.slug} exists ({tenant.state.value}); for a new token run:")
    print(f"  identity-service credentials create --tenant {tenant.slug} --scopes scim")
    return 0


@on_database
def tenants_list(args: argparse.Namespace, db: Database) -> int:
    tenants = Tenants(db)
    pages = _pages(lambda token: tenants.list(OPERATOR, 0, token))
    return _show(pages, out.tenant_line, as_json=args.json)


@on_database
def tenants_suspend(args: argparse.Namespace, db: Database) -> int:
    print(out.tenant_line(Tenants(db).set_state(OPERATOR, args.slug, TenantState.SUSPENDED)))
    return 0


@on_database
def tenants_resume(args: argparse.Namespace, db: Database) -> int:
    print(out.tenant_line(Tenants(db).set_state(OPERATOR, args.slug, TenantState.ACTIVE)))
    return 0


@on_database
def credentials_create(args: argparse.Namespace, db: Database) -> int:
    scopes = args.scopes.split(",")
    return _new_credential(db, args.tenant, scopes, args.display_name, args.expires_in_days)


@on_database
def credentials_list(args: argparse.Namespace, db: Database) -> int:
    """One tenant's credentials, the platform's, or (neither asked) all of them."""
    credentials = Credentials(db)
    if args.tenant or args.platform:
        owners: list[str | None] = [args.tenant]
    else:
        all_tenants = _pages(lambda token: Tenants(db).list(OPERATOR, 0, token))
        owners = [None, *(tenant.slug for tenant in all_tenants)]
    found = (c for owner in owners for c in _credentials_of(credentials, owner, args.show_revoked))
    return _show(found, out.credential_line, as_json=args.json)


@on_database
def credentials_revoke(args: argparse.Namespace, db: Database) -> int:
    print(out.credential_line(Credentials(db).revoke(OPERATOR, args.tenant, args.id)))
    return 0


@on_database
def users_list(args: argparse.Namespace, db: Database) -> int:
    return _list_in_tenant(Users(db).list, args, out.user_line)


@on_database
def users_get(args: argparse.Namespace, db: Database) -> int:
    user = Users(db).get(READER, args.tenant, args.id, show_deleted=args.show_deleted)
    print(out.as_json(user) if args.json else out.detail(user))
    return 0


@on_database
def users_refresh_keys(args: argparse.Namespace, db: Database) -> int:
    """Recompute the users' stored search keys (after an upgrade, docs/deploy.md)."""
    stale = Users(db).refresh_search_keys(OPERATOR)
    print(f"refreshed the search keys of {stale} users")
    return 0


@on_database
def groups_list(args: argparse.Namespace, db: Database) -> int:
    return _list_in_tenant(Groups(db).list, args, out.group_line)


@on_database
def groups_get(args: argparse.Namespace, db: Database) -> int:
    group = Groups(db).get(READER, args.tenant, args.id, show_deleted=args.show_deleted)
    print(out.as_json(group) if args.json else out.detail(group))
    return 0


def fail(message: str, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _new_tenant(db: Database, slug: str, display_name: str) -> int:
    """A tenant and its SCIM credential; the secret is the last line of stdout."""
    tenant, credential, secret = Tenants(db).create_with_credential(
        OPERATOR, slug, display_name, scopes=TENANT_SCOPES
    )
    print(out.tenant_line(tenant))
    _print_secret(credential, secret)
    return 0


def _credentials_of(
    credentials: Credentials, owner: str | None, show_revoked: bool
) -> Iterator[Credential]:
    return _pages(
        lambda token: credentials.list(
            OPERATOR, owner, page_size=0, page_token=token, show_revoked=show_revoked
        )
    )


def _new_credential(
    db: Database,
    tenant: str | None,
    scopes: Sequence[str],
    display_name: str,
    expires_in_days: int | None,
) -> int:
    """Create a credential; its secret is the last line of stdout, shown once."""
    expire_time = now() + timedelta(days=expires_in_days) if expires_in_days else None
    credential, secret = Credentials(db).create(
        OPERATOR, tenant, scopes=scopes, display_name=display_name, expire_time=expire_time
    )
    _print_secret(credential, secret)
    return 0


def _print_secret(credential: Credential, secret: str) -> None:
    print(out.credential_line(credential))
    print("the last line is the bearer secret: it is shown once and not stored", file=sys.stderr)
    if credential.tenant_slug is not None:
        print(
            f"as OAuth 2.0 client credentials: client_id {credential.id}, "
            "client_secret the bearer secret",
            file=sys.stderr,
        )
    print(secret)


def _list_in_tenant(
    list_page: Callable[[Caller, str, ListQuery], Page[ItemT]],
    args: argparse.Namespace,
    line: Callable[[ItemT], str],
) -> int:
    """Users or groups of `--tenant`: one page, or with `--all` every page."""
    query = ListQuery(filter=args.filter, page_size=args.page_size, show_deleted=args.show_deleted)
    pages = _pages(
        lambda token: list_page(READER, args.tenant, dataclasses.replace(query, page_token=token)),
        first=args.page_token,
        every=args.all,
    )
    return _show(pages, line, as_json=args.json)


def _pages(fetch: Callable[[str], Page[T]], *, first: str = "", every: bool = True) -> Iterator[T]:
    """The items of the page at `first` and, when `every`, of all the pages
    after it; otherwise a hint on stderr names the next page's token."""
    token = first
    while True:
        page = fetch(token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return
        if not every:
            print(f"more: repeat with --page-token {token}, or use --all", file=sys.stderr)
            return


def _show(items: Iterator[ItemT], line: Callable[[ItemT], str], *, as_json: bool) -> int:
    for item in items:
        print(out.as_json(item) if as_json else line(item))
    return 0
