"""identity_service: the gRPC service that owns Roster's users, groups and tenants."""
