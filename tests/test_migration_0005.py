"""Migration 0005 recomputes every stored comparison key of existing rows with
the canonical caseless key (docs/decisions/0016), and refuses, changing
nothing, a database whose live users or groups would then collide."""

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from identity_service.store import migrate as migrations_api
from identity_service.store.engine import create_engine, fold
from identity_service.store.schema import emails_key
from tests.postgres import Postgres

AT = "2024-01-01 12:00:00"
# j with caron and dot below: precomposed lower case, and upper case with the
# marks in canonical order. NFC-then-casefold kept the marks in different orders.
J_CARON_DOT = "\u01f0\u0323"
J_UPPER_DOT_CARON = "J\u0323\u030c"
# alpha with ypogegrammeni and caron; folding turns the ypogegrammeni into an iota.
ALPHA_IOTA_CARON = "\u1fb3\u030c"


def _old_key(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database at revision 0004 with one tenant, on either engine."""
    if request.param == "postgresql":
        postgres: Postgres = request.getfixturevalue("postgres")
        url = postgres.database()
    else:
        url = f"sqlite:///{tmp_path / 'roster.db'}"
    created = create_engine(url)
    migrations_api.upgrade(created, "0004")
    with created.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO tenants (id, slug, display_name, state, create_time, update_time,"
            f" change_seq) VALUES (1, 'acme', 'Acme', 'ACTIVE', '{AT}', '{AT}', 0)"
        )
    yield created
    created.dispose()


def _user(id: str, user_name: str, display_name: str | None = None, **extra: Any) -> dict[str, Any]:
    attributes = extra.get("attributes", {})
    return {
        "tenant_id": 1, "id": id, "user_name": user_name, "user_name_key": _old_key(user_name),
        "display_name": display_name,
        "display_name_key": _old_key(display_name) if display_name else None,
        "state": "ACTIVE", "attributes": attributes,
        "emails_key": extra.get("emails_key"), "version": 1,
        "create_time": AT, "update_time": AT, "delete_time": extra.get("delete_time"),
    }  # fmt: skip


def _group(id: str, display_name: str) -> dict[str, Any]:
    return {
        "tenant_id": 1, "id": id, "display_name": display_name,
        "display_name_key": _old_key(display_name), "member_count": 0, "version": 1,
        "create_time": AT, "update_time": AT,
    }  # fmt: skip


def _insert(engine: sa.Engine, table: str, rows: list[dict[str, Any]]) -> None:
    columns = [sa.column(k, sa.JSON() if k == "attributes" else None) for k in rows[0]]
    with engine.begin() as conn:
        conn.execute(sa.table(table, *columns).insert(), rows)


def _keys(engine: sa.Engine, table: str, columns: str) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT id, {columns} FROM {table}").all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _revision(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar())


def test_migration_0005_recomputes_every_key_of_existing_rows(engine: sa.Engine) -> None:
    """userName, displayName and email keys become canonical caseless keys
    (Unicode §3.13 D145); the names themselves stay as sent."""
    emails = {"emails": [{"value": f"{ALPHA_IOTA_CARON}@Example.com"}]}
    users = [
        _user("u1", J_CARON_DOT, display_name=ALPHA_IOTA_CARON),
        _user("u2", "Alice", attributes=emails, emails_key=emails_key(emails)),
        _user("u3", "Bob", delete_time=AT),
    ]
    _insert(engine, "users", users)
    _insert(engine, "groups", [_group("g1", f"{ALPHA_IOTA_CARON} Ops")])

    migrations_api.upgrade(engine)

    stored = _keys(engine, "users", "user_name, user_name_key, display_name_key, emails_key")
    assert stored == {
        "u1": (J_CARON_DOT, fold(J_CARON_DOT), fold(ALPHA_IOTA_CARON), None),
        "u2": ("Alice", "alice", None, emails_key(emails)),
        "u3": ("Bob", "bob", None, None),
    }
    assert stored["u1"][1] != _old_key(J_CARON_DOT)
    assert _keys(engine, "groups", "display_name_key") == {"g1": (fold(f"{ALPHA_IOTA_CARON} Ops"),)}


def test_migration_0005_refuses_live_users_that_would_collide_and_changes_nothing(
    engine: sa.Engine,
) -> None:
    """Two live users whose names are one canonical caseless name stop the
    migration with both ids named; the database stays at 0003 as it was."""
    _insert(engine, "users", [_user("u1", J_CARON_DOT), _user("u2", J_UPPER_DOT_CARON)])
    before = _keys(engine, "users", "user_name_key")

    with pytest.raises(RuntimeError, match=r"tenant 1 users u1 .*; tenant 1 users u2 "):
        migrations_api.upgrade(engine)

    assert _revision(engine) == "0004"
    assert _keys(engine, "users", "user_name_key") == before
    assert "uq_users_live_user_name" in {i["name"] for i in sa.inspect(engine).get_indexes("users")}


def test_migration_0005_refuses_live_groups_that_would_collide(engine: sa.Engine) -> None:
    """Group displayNames are unique among live groups the same way."""
    _insert(engine, "groups", [_group("g1", J_CARON_DOT), _group("g2", J_UPPER_DOT_CARON)])

    with pytest.raises(RuntimeError, match=r"tenant 1 groups g1 .*; tenant 1 groups g2 "):
        migrations_api.upgrade(engine)

    assert _revision(engine) == "0004"


def test_migration_0005_lets_a_deleted_user_share_a_live_users_key(engine: sa.Engine) -> None:
    """Tombstones are outside the live uniqueness (soft delete frees the name)."""
    _insert(
        engine, "users", [_user("u1", J_CARON_DOT), _user("u2", J_UPPER_DOT_CARON, delete_time=AT)]
    )

    migrations_api.upgrade(engine)

    stored = _keys(engine, "users", "user_name_key")
    assert stored["u1"] == stored["u2"] == (fold(J_UPPER_DOT_CARON),)
    assert _revision(engine) == migrations_api.head()
