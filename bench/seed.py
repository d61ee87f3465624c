"""Roster databases holding a dataset, written straight into the tables of a
migrated database (executemany in large batches, as the large-group tests
seed), not through one SCIM POST at a time: a million users take about a
minute instead of hours.

SQLite: the seeded file is kept in bench/.data/ (gitignored), and each run
works on a copy of it, so writes of one run never reach the next. It is
seeded afresh unless `reuse` (BENCH_REUSE=1) finds it at the same seed
format and schema (its last migration). PostgreSQL (BENCH_DATABASE_URL): a
database per dataset, "<db>_seed_<dataset>_<version>", is the
template each run copies into "<db>_run_<dataset>" (CREATE DATABASE ...
TEMPLATE), so reuse works the same way there."""

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql

from bench import dataset
from bench.dataset import Dataset
from identity_service.store import migrate
from identity_service.store.engine import fold
from identity_service.store.schema import GroupRow, MembershipRow, TenantRow, UserRow, emails_key

TENANT = "bench"
CACHE = Path(__file__).with_name(".data")
_BATCH = 20_000
_CLI = (sys.executable, "-m", "identity_service")
# Bumped when the seeded data changes, so an old cached file is not reused.
_FORMAT = 2


@dataclass(frozen=True)
class Seeded:
    """A database holding a dataset, ready for one run, and how long it took."""

    url: str
    dataset: Dataset
    seed_seconds: float  # 0 when a seeded copy was reused
    reused: bool


def prepared(data: Dataset, workdir: Path, postgres_url: str | None, reuse: bool) -> Seeded:
    """A database for one run over `data`: a copy of the seeded one."""
    if postgres_url:
        return _postgres(data, postgres_url, reuse)
    cached = CACHE / f"roster-{data.name}-{_version()}.db"
    started = time.perf_counter()
    reused = reuse and cached.exists()
    if not reused:
        CACHE.mkdir(exist_ok=True)
        building = cached.with_suffix(".building")
        building.unlink(missing_ok=True)
        _seed(f"sqlite:///{building}", data)
        building.rename(cached)
    seconds = 0.0 if reused else time.perf_counter() - started
    copy = workdir / cached.name
    shutil.copyfile(cached, copy)
    return Seeded(f"sqlite:///{copy}", data, seconds, reused)


def _postgres(data: Dataset, url: str, reuse: bool) -> Seeded:
    base = sa.make_url(url)
    seed_db, run_db = (
        f"{base.database}_seed_{data.name.lower()}_{_version().replace('-', '_')}",
        f"{base.database}_run_{data.name.lower()}",
    )
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (seed_db,)).fetchone()
        reused = reuse and exists is not None
        if not reused:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(seed_db)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(seed_db)))
            _seed(base.set(database=seed_db).render_as_string(hide_password=False), data)
        seconds = 0.0 if reused else time.perf_counter() - started
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(run_db)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(run_db), sql.Identifier(seed_db)
            )
        )
    return Seeded(
        base.set(database=run_db).render_as_string(hide_password=False), data, seconds, reused
    )


def _version() -> str:
    """What a seeded copy must match to be reused: the seed's format and the
    schema's last migration (a release with a new migration seeds again)."""
    return f"v{_FORMAT}-{migrate.head()}"


def _seed(url: str, data: Dataset) -> None:
    """Migrate an empty database, make the tenant, and write the dataset."""
    for command in (("migrate",), ("tenants", "create", TENANT)):
        subprocess.run([*_CLI, *command, "--database-url", url], check=True, capture_output=True)  # noqa: S603
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _fast_sqlite)
    try:
        with engine.begin() as conn:
            tenant_id = conn.execute(
                sa.select(_table(TenantRow).c.id).where(_table(TenantRow).c.slug == TENANT)
            ).scalar_one()
            for batch in _batches(_user_rows(tenant_id, data.users)):
                conn.execute(_table(UserRow).insert(), batch)
            conn.execute(_table(GroupRow).insert(), list(_group_rows(tenant_id, data)))
            for size in data.group_sizes:
                for batch in _batches(_member_rows(tenant_id, size)):
                    conn.execute(_table(MembershipRow).insert(), batch)
        with engine.connect() as conn:  # the planner's statistics, as autovacuum keeps them
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    finally:
        engine.dispose()


def _fast_sqlite(dbapi_connection: Any, _record: object) -> None:
    """A seed that fails is thrown away whole, so it need not be durable."""
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _table(row: type[Any]) -> sa.Table:
    table: sa.Table = row.__table__
    return table


_SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _user_rows(tenant_id: int, count: int) -> Iterator[dict[str, Any]]:
    """The rows of users 0 .. count-1, with the attributes a SCIM POST of
    dataset.scim_user(i) stores (each run checks that user 0 reads back
    through SCIM as it was defined: bench.suite)."""
    for i in range(count):
        user = dataset.scim_user(i)
        attributes = {
            "nameParts": user["name"],
            "title": user["title"],
            "emails": user["emails"],
            "enterprise": user[dataset.ENTERPRISE_SCHEMA],
        }
        yield {
            "tenant_id": tenant_id,
            "id": dataset.user_id(i),
            "user_name": user["userName"],
            "user_name_key": fold(user["userName"]),
            "external_id": user["externalId"],
            "display_name": user["displayName"],
            "display_name_key": fold(user["displayName"]),
            "state": "ACTIVE",
            "attributes": attributes,
            "emails_key": emails_key(attributes),
            "version": 1,
            "create_time": _SEEDED_AT,
            "update_time": _SEEDED_AT,
        }


def _group_rows(tenant_id: int, data: Dataset) -> Iterator[dict[str, Any]]:
    for size in data.group_sizes:
        name = dataset.group_name(size)
        yield {
            "tenant_id": tenant_id,
            "id": dataset.group_id(size),
            "display_name": name,
            "display_name_key": fold(name),
            "external_id": f"ext-group-{size}",
            "member_count": size,
            "version": 1,
            "create_time": _SEEDED_AT,
            "update_time": _SEEDED_AT,
        }


def _member_rows(tenant_id: int, size: int) -> Iterator[dict[str, Any]]:
    group = dataset.group_id(size)
    for i in range(size):
        yield {
            "tenant_id": tenant_id,
            "group_id": group,
            "member_id": dataset.user_id(i),
            "member_type": "USER",
            "create_time": _SEEDED_AT,
        }


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
