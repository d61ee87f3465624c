"""Alembic migrations of the identity database (SQLite and PostgreSQL)."""
