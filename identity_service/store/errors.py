"""Turns the database's uniqueness violations into domain errors."""

import sqlalchemy as sa

from identity_service.domain.errors import DomainError


def _violated(exc: sa.exc.IntegrityError) -> str:
    """What the database names as violated, without the offending values:
    PostgreSQL's constraint (index) name, or SQLite's column list ("UNIQUE
    constraint failed: users.tenant_id, users.user_name_key")."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return str(diag.constraint_name)
    return str(exc.orig).partition("UNIQUE constraint failed:")[2]


def unique_violation(
    exc: sa.exc.IntegrityError, by_column: dict[str, DomainError]
) -> DomainError | None:
    """The domain error for the unique index that `exc` violated, if any; the
    index names contain their key column ("uq_users_live_user_name")."""
    violated = _violated(exc)
    for column, error in by_column.items():
        if column in violated:
            return error
    return None
