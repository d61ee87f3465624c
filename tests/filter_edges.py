"""Filters at the edge of each of identity_service's filter limits, or one
past it, for the gRPC and the SCIM tests alike."""

from identity_service.store.filters import MAX_FILTER_LENGTH, MAX_FILTER_TERMS

# scim2-models' parser refuses a filter nesting more expressions than this.
MAX_FILTER_NESTING = 32
KINDS = ("length", "comparisons", "nesting")


def filter_at_edge(kind: str, past: bool) -> str:
    """A filter on displayName (users and groups have it) at the edge of
    one limit, or one past it."""
    if kind == "length":
        prefix = 'displayName eq "'
        return prefix + "a" * (MAX_FILTER_LENGTH + past - len(prefix) - 1) + '"'
    if kind == "comparisons":
        return " or ".join(['displayName eq "a"'] * (MAX_FILTER_TERMS + past))
    depth = MAX_FILTER_NESTING + past
    return "not (" * depth + "displayName pr" + ")" * depth
