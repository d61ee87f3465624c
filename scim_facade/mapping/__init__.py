"""SCIM resources <-> identity.v1 messages: the one place that knows both."""
