"""store.engine.Prepared: on SQLite a prebuilt SELECT runs on the driver's
connection; its rows must be the rows SQLAlchemy returns, and its errors
the errors SQLAlchemy raises."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from identity_service.domain.errors import StorageUnavailable
from identity_service.store import members
from identity_service.store.engine import Database, Prepared, fold
from identity_service.store.schema import metadata

USERS, GROUPS, MEMBERS, TENANTS = (
    metadata.tables[name] for name in ("users", "groups", "group_members", "tenants")
)
NOON = datetime(2024, 1, 1, 12, tzinfo=UTC)


def _user(id: str, user_name: str, **columns: Any) -> dict[str, Any]:
    return {
        "tenant_id": 1,
        "id": id,
        "user_name": user_name,
        "user_name_key": fold(user_name),
        "external_id": None,
        "display_name": None,
        "state": "ACTIVE",
        "attributes": {},
        "create_time": NOON,
        "update_time": NOON,
        "deactivate_time": None,
        "delete_time": None,
        **columns,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("prepared")
    database = Database.from_url(f"sqlite:///{path}/t.db")
    metadata.create_all(database.engine)
    tenant = {"id": 1, "slug": "acme", "state": "ACTIVE", "create_time": NOON, "update_time": NOON}
    attributes = {"emails": [{"value": "zoë@example.com", "primary": True}], "n": 1.5}
    with database.write() as conn:
        conn.execute(TENANTS.insert(), [tenant])
        conn.execute(
            USERS.insert(),
            [
                _user("u1", "Zoë", external_id="E1", display_name="Zoë Z", attributes=attributes),
                _user("u2", "bob", state="DEACTIVATED", deactivate_time=NOON),
                _user("u3", "carol", delete_time=datetime(2024, 2, 1, tzinfo=UTC)),
            ],
        )
        group = {"tenant_id": 1, "id": "g1", "display_name": "Ops", "display_name_key": "ops"}
        conn.execute(GROUPS.insert(), [{**group, "create_time": NOON, "update_time": NOON}])
        conn.execute(
            MEMBERS.insert(),
            [
                {"tenant_id": 1, "group_id": "g1", "member_id": m, "member_type": "USER",
                 "create_time": NOON}
                for m in ("u1", "u2", "u9")
            ],
        )  # fmt: skip
    yield database
    database.dispose()


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        (sa.select(USERS).order_by(USERS.c.id), {}),
        (sa.select(USERS).where(USERS.c.id == sa.bindparam("id")), {"id": "u1"}),
        (sa.select(USERS).where(USERS.c.id == sa.bindparam("id")), {"id": "nobody"}),
        # Literals of the statement (coalesce's "", OFFSET 0) and a LIMIT.
        (members._FIRST_PAGE, {"tenant_id": 1, "group_id": "g1", "limit": 2}),
        (members._PAGE_AFTER.statement,
         {"tenant_id": 1, "group_id": "g1", "limit": 5, "after": "u1"}),
    ],
)  # fmt: skip
def test_rows_are_the_rows_sqlalchemy_returns(
    db: Database, statement: sa.Select[Any], params: dict[str, Any]
) -> None:
    with db.read() as conn:
        expected = conn.execute(statement, params).all()
        got = Prepared(statement).rows(conn, params)
        again = Prepared(statement).rows(conn, params)
    assert [tuple(r) for r in got] == [tuple(r) for r in expected]
    assert got == again
    for row, want in zip(got, expected, strict=True):
        for key in want._fields:
            assert getattr(row, key) == getattr(want, key)


def test_typed_values_come_back_typed(db: Database) -> None:
    query = sa.select(USERS).where(USERS.c.id == sa.bindparam("id"))
    with db.read() as conn:
        (row,) = Prepared(query).rows(conn, {"id": "u1"})
    assert row.attributes == {"emails": [{"value": "zoë@example.com", "primary": True}], "n": 1.5}
    assert isinstance(row.create_time, datetime)
    assert row.deactivate_time is None


def test_a_missing_parameter_is_an_error_not_a_null(db: Database) -> None:
    query = sa.select(USERS).where(USERS.c.id == sa.bindparam("id"))
    with db.read() as conn, pytest.raises(KeyError):
        Prepared(query).rows(conn, {})


def test_a_driver_error_is_sqlalchemys_and_so_storage_unavailable(db: Database) -> None:
    nowhere = sa.Table("nowhere", sa.MetaData(), sa.Column("id", sa.Integer))
    with pytest.raises(StorageUnavailable), db.read() as conn:
        Prepared(sa.select(nowhere)).rows(conn, {})
