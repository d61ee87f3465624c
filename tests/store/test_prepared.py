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
        "version": 1,
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


def _written(conn: sa.Connection, user_id: str) -> dict[str, Any]:
    return dict(conn.execute(sa.select(USERS).where(USERS.c.id == user_id)).one()._mapping)


def test_writes_store_what_sqlalchemy_stores(db: Database) -> None:
    """The same INSERT and UPDATE through SQLAlchemy and through Prepared
    leave the same row (JSON and datetimes through the type processors)."""
    attributes = {"emails": [{"value": "ada@example.com"}], "title": "Ça va"}
    keys = tuple(_user("k", "k"))
    insert = Prepared(USERS.insert(), keys)
    update = Prepared(
        USERS.update().where(USERS.c.id == sa.bindparam("where_id")),
        ("attributes", "update_time", "where_id"),
    )
    later = datetime(2024, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(USERS.insert(), _user("sa", "via-sa", attributes=attributes))
        assert insert.run(conn, _user("raw", "via-raw", attributes=attributes)) == 1
        changes = {"attributes": {"title": "x"}, "update_time": later}
        conn.execute(USERS.update().where(USERS.c.id == "sa"), changes)
        assert update.run(conn, {**changes, "where_id": "raw"}) == 1
        via_sa, via_raw = _written(conn, "sa"), _written(conn, "raw")
        many = [_user(f"m{i}", f"many-{i}") for i in range(3)]
        assert insert.run(conn, many) == 3
        assert conn.execute(sa.select(sa.func.count()).where(USERS.c.id.like("m_"))).scalar() == 3
    names = {"id": "raw", "user_name": "via-raw", "user_name_key": "via-raw"}
    assert via_raw == {**via_sa, **names}
    assert via_raw["attributes"] == {"title": "x"}
    assert via_raw["update_time"] == later.replace(tzinfo=None)  # SQLite keeps UTC, naive


def test_a_write_refuses_a_parameter_it_would_drop(db: Database) -> None:
    insert = Prepared(USERS.insert(), tuple(_user("k", "k")))
    with db.write() as conn, pytest.raises(KeyError):
        insert.run(conn, {**_user("x", "x"), "nickname": "dropped"})


def test_a_constraint_violation_is_sqlalchemys_integrity_error(db: Database) -> None:
    insert = Prepared(USERS.insert(), tuple(_user("k", "k")))
    with db.write() as conn, pytest.raises(sa.exc.IntegrityError) as caught:
        insert.run(conn, _user("u9", "ZOË"))  # the userName of u1, folded
    assert "UNIQUE" in str(caught.value.orig)
