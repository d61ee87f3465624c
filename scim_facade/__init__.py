"""scim_facade: the SCIM 2.0 service provider in front of identity.v1 (coming next)."""
