"""Schema migrations: `identity-service migrate` builds, from an empty SQLite
file, exactly the schema that store/schema.py declares; it can run again
safely; and the migrations go down to nothing and up again."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from identity_service import cli, migrations
from identity_service.store import migrate as migrations_api
from identity_service.store.engine import create_engine
from identity_service.store.schema import emails_key, metadata
from tests.postgres import Postgres

SCRIPTS = Path(migrations.__file__).resolve().parent


def _head() -> str:
    head = migrations_api.head()
    assert head is not None
    return head


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "roster.db"


@pytest.fixture
def engine(database_file: Path) -> Iterator[sa.Engine]:
    created = create_engine(f"sqlite:///{database_file}")
    yield created
    created.dispose()


def migrate(database_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`identity-service migrate --database-url sqlite:///...`."""
    status = cli.run(["migrate", "--database-url", f"sqlite:///{database_file}"])
    assert status == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("migrated sqlite:///")


def differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def index_sql(engine: sa.Engine) -> set[str]:
    """The CREATE INDEX statements SQLite keeps, whitespace normalised: they
    carry the partial-index predicates that compare_metadata does not see."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).scalars()
        return {re.sub(r"\s+", " ", sql).strip() for sql in rows}


def test_the_migration_history_has_one_head() -> None:
    """Migrations form one line: `upgrade head` is unambiguous."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrating_an_empty_file_gives_exactly_the_declared_schema(
    database_file: Path, engine: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migrating an empty file gives schema.py exactly: compare_metadata finds nothing."""
    assert not database_file.exists()
    migrate(database_file, capsys)
    assert database_file.exists()
    assert revision(engine) == _head()
    assert differences(engine) == []


def test_migrated_indexes_match_the_declared_ones_to_the_predicate(
    tmp_path: Path, database_file: Path, engine: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migrated partial unique indexes have schema.py's WHERE clauses (live rows only)."""
    migrate(database_file, capsys)
    declared = create_engine(f"sqlite:///{tmp_path / 'declared.db'}")
    try:
        metadata.create_all(declared)
        expected = index_sql(declared)
    finally:
        declared.dispose()
    assert any("WHERE delete_time IS NULL" in sql for sql in expected)
    assert index_sql(engine) == expected


def test_migrating_twice_changes_nothing_and_keeps_the_data(
    database_file: Path, engine: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second `identity-service migrate` succeeds, keeps the rows and the schema."""
    migrate(database_file, capsys)
    assert (
        cli.run(["tenants", "create", "acme", "--database-url", f"sqlite:///{database_file}"]) == 0
    )
    capsys.readouterr()
    migrate(database_file, capsys)
    assert revision(engine) == _head()
    assert differences(engine) == []
    with engine.connect() as conn:
        slugs = conn.exec_driver_sql("SELECT slug FROM tenants").scalars().all()
    assert slugs == ["acme"]


def test_downgrading_to_base_and_upgrading_again_restores_the_schema(
    database_file: Path, engine: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Down to base leaves only alembic_version; up again gives schema.py exactly."""
    migrate(database_file, capsys)
    migrations_api.downgrade(engine, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    assert revision(engine) is None
    migrate(database_file, capsys)
    assert revision(engine) == _head()
    assert differences(engine) == []


def test_the_schema_state_tells_behind_current_and_a_newer_releases_migration(
    engine: sa.Engine,
) -> None:
    """`serve` refuses a database behind its release and serves on one a
    newer release migrated (a rolling upgrade, docs/deploy.md)."""
    states = [migrations_api.schema_state(engine)]
    migrations_api.upgrade(engine, "0001")
    states.append(migrations_api.schema_state(engine))
    migrations_api.upgrade(engine)
    states.append(migrations_api.schema_state(engine))
    with engine.begin() as conn:  # as a later release's migration would leave it
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    states.append(migrations_api.schema_state(engine))

    state = migrations_api.SchemaState
    assert states == [state.BEHIND, state.BEHIND, state.CURRENT, state.AHEAD]


def test_migrating_postgresql_gives_exactly_the_declared_schema(postgres: Postgres) -> None:
    """The same migrations build the declared schema on PostgreSQL, partial
    unique indexes with their predicates included, and go down and up again."""
    engine = create_engine(postgres.database())
    try:
        migrations_api.upgrade(engine)
        assert differences(engine) == []
        with engine.connect() as conn:
            partial = conn.execute(
                sa.text(
                    "SELECT indexname FROM pg_indexes"
                    " WHERE indexdef LIKE 'CREATE UNIQUE INDEX%' AND indexdef LIKE '% WHERE %'"
                )
            ).scalars()
            live_unique = set(partial)
        migrations_api.downgrade(engine, "base")
        migrations_api.upgrade(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()

    declared = {
        index.name
        for table in metadata.tables.values()
        for index in table.indexes
        if index.unique and index.dialect_options["postgresql"]["where"] is not None
    }
    assert declared
    assert live_unique == declared


def _users_before_0003(engine: sa.Engine) -> list[dict[str, object]]:
    """Users written at revision 0002, before users.emails_key existed."""
    migrations_api.upgrade(engine, "0002")
    at = "2024-01-01 12:00:00"
    attributes: list[dict[str, object]] = [
        {"emails": [{"value": "Ada@Example.COM", "primary": True}, {"value": "ada@home.org"}]},
        {"emails": [{"type": "work"}, {"value": 7}]},  # no string value
        {"emails": []},
        {"title": "no emails"},
        {"emails": [{"value": "Zoe\u0301@example.com"}]},  # NFD
    ]
    users = [
        {"tenant_id": 1, "id": f"u{i}", "user_name": f"u{i}", "user_name_key": f"u{i}",
         "state": "ACTIVE", "attributes": doc, "version": 1,
         "create_time": at, "update_time": at}
        for i, doc in enumerate(attributes)
    ]  # fmt: skip
    columns = [sa.column(k, sa.JSON() if k == "attributes" else None) for k in users[0]]
    table = sa.table("users", *columns)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO tenants (id, slug, display_name, state, create_time, update_time,"
            f" change_seq) VALUES (1, 'acme', 'Acme', 'ACTIVE', '{at}', '{at}', 0)"
        )
        conn.execute(table.insert(), users)
    return users


def _check_emails_keys_backfilled(engine: sa.Engine) -> None:
    users = _users_before_0003(engine)
    migrations_api.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, emails_key FROM users").all()
        stored: dict[str, str | None] = {row[0]: row[1] for row in rows}
    assert stored == {u["id"]: emails_key(u["attributes"]) for u in users}  # type: ignore[arg-type]
    assert stored["u0"] == "\x1fada@example.com\x1fada@home.org\x1f"
    assert stored["u4"] == "\x1fzoé@example.com\x1f"
    assert [stored[f"u{i}"] for i in (1, 2, 3)] == [None, None, None]


def test_migration_0003_fills_the_emails_key_of_existing_users(engine: sa.Engine) -> None:
    _check_emails_keys_backfilled(engine)


def test_migration_0003_fills_the_emails_key_on_postgresql(postgres: Postgres) -> None:
    engine = create_engine(postgres.database())
    try:
        _check_emails_keys_backfilled(engine)
    finally:
        engine.dispose()
