"""The security event log: one JSON line per security-relevant event (OWASP ASVS V16).

Events go through the standard logging module on the `supplychain.security` logger, so a deployment
ships them like any other log: to standard error by default (where systemd, Docker or Kubernetes
collect it), or to SECURITY_LOG_FILE, reopened when logrotate moves it. Each line carries the UTC
time, the event, its outcome, who (user id, e-mail, organisation), from where (client address) and
the request id the user sees on an error page. Never a password, token or cookie: callers pass
only the named fields and short, non-secret details.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOGGER_NAME = "supplychain.security"
logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)  # written whatever the application log's level

# Every event the portal writes, so a reader of the log (or an alert rule) knows the whole vocabulary.
EVENTS = frozenset(
    {
        "login",  # outcome: success | failure | refused (lockout, inactive or demo account)
        "lockout",  # an account or client address reached its failure limit
        "logout",
        "password_change",
        "reauthentication",
        "user_created",
        "roles_changed",
        "organisation_changed",
        "user_changed",
        "user_deactivated",
        "access_denied",  # 403, or 404 on a document of another organisation
        "upload_refused",
        "cross_origin_refused",
    }
)
_OURS = "_supplychain_security_log"  # marks the handler `configure` installed
_FILE_KEYS = ("time", "event", "outcome", "user_id", "email", "organisation_id", "client_ip", "request_id")


class JsonLineFormatter(logging.Formatter):
    """The event's fields as one JSON object per line (non-ASCII kept readable)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = getattr(record, "security_event", None)
        if payload is None:
            payload = {"time": _utc(record.created), "event": "log", "message": record.getMessage()}
        return json.dumps(payload, ensure_ascii=False, default=str)


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def security_event(
    event: str,
    outcome: str,
    *,
    user_id: int | None = None,
    email: str | None = None,
    organisation_id: int | None = None,
    client_ip: str | None = None,
    request_id: str | None = None,
    **details: Any,
) -> None:
    """Write one security event. `details` are short, non-secret facts (a path, a reason, a target user)."""
    if event not in EVENTS:
        raise ValueError(f"unknown security event {event!r}: add it to supplychain.security_log.EVENTS")
    record: dict[str, Any] = {
        "time": _utc(datetime.now(UTC).timestamp()),
        "event": event,
        "outcome": outcome,
        "user_id": user_id,
        "email": email,
        "organisation_id": organisation_id,
        "client_ip": client_ip,
        "request_id": request_id,
    }
    for key, value in details.items():
        if key not in _FILE_KEYS:
            record[key] = value
    logger.info("%s %s", event, outcome, extra={"security_event": record})


def configure(log_file: Path | None) -> None:
    """Send security events to `log_file` (created owner-only) or, without one, to standard error.

    Safe to call more than once: the handler is replaced, not added again. Handlers added by
    others (a deployment's, a test's collector) stay.
    """
    for old in list(logger.handlers):
        if getattr(old, _OURS, False):
            logger.removeHandler(old)
            old.close()
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.touch(mode=0o600, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    setattr(handler, _OURS, True)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # one line per event, not a second copy in the application log
