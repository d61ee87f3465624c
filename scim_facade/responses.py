"""SCIM responses: application/scim+json, rendered with orjson."""

from typing import Any

import orjson
from fastapi.responses import Response

SCIM_JSON = "application/scim+json"


class ScimResponse(Response):
    media_type = SCIM_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def scim(
    body: Any, status: int = 200, etag: str | None = None, location: str | None = None
) -> ScimResponse:
    headers = {}
    if etag:
        headers["ETag"] = etag
    if location:
        headers["Location"] = location
    return ScimResponse(body, status_code=status, headers=headers)
