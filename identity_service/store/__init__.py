"""SQL: tables, queries and migrations. Store functions take the tenant first and never commit."""
