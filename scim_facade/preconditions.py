"""HTTP preconditions on SCIM versions (RFC 7644 §3.14, RFC 9110 §13.1):
If-Match on writes, If-None-Match on reads."""


def tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match_allows(header: str, etag: str) -> bool:
    """If-Match (RFC 9110 §13.1.1): absent, "*", or a list naming the
    current etag. SCIM versions are weak tags that clients send back as
    they got them (RFC 7644 §3.14), so they compare as sent."""
    listed = tags(header)
    return not listed or "*" in listed or etag in listed


def none_match(header: str, etag: str) -> bool:
    """If-None-Match (RFC 9110 §13.1.2): "*", or a list naming the etag
    under the weak comparison (W/ aside)."""
    listed = tags(header)
    weak = etag.removeprefix("W/")
    return "*" in listed or any(tag.removeprefix("W/") == weak for tag in listed)
