"""Schema migrations with Alembic: `identity-service migrate` and the tests use
`upgrade`; `revision` is for developers adding a migration."""

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


def is_current(engine: sa.Engine) -> bool:
    """Whether the database is at the newest migration."""
    heads = set(ScriptDirectory.from_config(_config()).get_heads())  # one, normally
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


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
