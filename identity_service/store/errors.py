"""Turns the database's uniqueness violations into domain errors."""

import sqlalchemy as sa

from identity_service.domain.errors import DomainError


def unique_violation(
    exc: sa.exc.IntegrityError, by_column: dict[str, DomainError]
) -> DomainError | None:
    """The domain error for the unique index that `exc` names, if any. Both
    SQLite ("UNIQUE constraint failed: users.tenant_id, users.user_name_key")
    and PostgreSQL (index name and key columns) name the columns involved."""
    message = str(exc.orig)
    for column, error in by_column.items():
        if column in message:
            return error
    return None
