"""Logging of `identity-service serve` and `scim-facade serve`: text lines,
or one JSON object per line (ROSTER_LOG_FORMAT / ROSTER_FACADE_LOG_FORMAT
=json) for log collectors. A JSON line carries the time, level, logger and
message, and the fields a line gives as `extra={"fields": {...}}` (one key
costs less per line than one per field; the per-RPC line: rpc, tenant,
status, duration_ms, request_id; the facade's per-request line:
http_method, route, status, duration_ms, tenant, request_id). Nothing here
adds a value to a line: what a caller did not log (a secret) cannot
appear."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Attributes every LogRecord has: the rest came from `extra=`. uvicorn's
# records carry their colour settings.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key == "fields" and isinstance(value, dict):
                entry.update(value)  # a line's fields, given as extra={"fields": {...}}
            elif key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str, log_format: Literal["text", "json"]) -> None:
    """Send every logger's records (uvicorn's too, in the facade) to stderr,
    as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
