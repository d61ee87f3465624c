"""Schema migrations with Alembic: `identity-service migrate` and the tests use
`upgrade`; `revision` is for developers adding a migration."""

import enum
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


class SchemaState(enum.Enum):
    CURRENT = "current"  # at this code's newest migration
    BEHIND = "behind"  # not migrated, or not to this code's newest migration
    AHEAD = "ahead"  # at a migration this code does not know: a newer release's


def schema_state(engine: sa.Engine) -> SchemaState:
    """Where the database's schema stands relative to this code's migrations.
    A revision this code does not know was written by a newer release: during
    a rolling upgrade, old replicas run on the expanded schema (migrations
    only expand until every replica runs the new code, docs/deploy.md)."""
    scripts = ScriptDirectory.from_config(_config())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == set(scripts.get_heads()):
        return SchemaState.CURRENT
    known = {script.revision for script in scripts.walk_revisions()}
    return SchemaState.AHEAD if current and not current <= known else SchemaState.BEHIND


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the database back to `revision` ("base": empty)."""
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def head() -> str | None:
    """The newest migration's revision."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def revision(engine: sa.Engine, message: str) -> None:
    """Autogenerate a new migration from the difference between schema.py and
    the database."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
