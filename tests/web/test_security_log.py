"""The security event log's line format, and the request id every answer carries (issue 11, items 3 and 5).

Which events each route writes is tested beside the route (login, admin, uploads, access denied).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from supplychain import security_log


def test_an_event_is_one_json_line_with_the_named_fields(security_events: list[dict[str, Any]]) -> None:
    security_log.security_event(
        "login", "failure", email="ann@example.com", client_ip="10.0.0.1", request_id="abc", reason="bad"
    )
    [line] = security_events
    assert line["event"] == "login" and line["outcome"] == "failure"
    assert line["email"] == "ann@example.com" and line["client_ip"] == "10.0.0.1"
    assert line["request_id"] == "abc" and line["reason"] == "bad"
    assert str(line["time"]).endswith("Z")  # UTC


def test_an_unknown_event_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown security event"):
        security_log.security_event("logn", "success")


def test_details_cannot_overwrite_the_standard_fields(security_events: list[dict[str, Any]]) -> None:
    security_log.security_event("logout", "success", user_id=7, time="forged")
    assert security_events[0]["time"] != "forged"


def test_the_log_file_is_created_owner_only_and_gets_one_line_per_event(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "security.jsonl"
    security_log.configure(log_file)
    try:
        security_log.security_event("logout", "success", user_id=3)
        security_log.security_event("login", "success", user_id=3)
    finally:
        security_log.configure(None)
    assert log_file.stat().st_mode & 0o777 == 0o600
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert events == ["logout", "login"]


def test_every_answer_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/login")
    second = client.get("/no-such-page")
    assert second.status_code == 404
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


def test_a_proxys_request_id_is_kept_only_when_plain(client: TestClient) -> None:
    kept = client.get("/login", headers={"X-Request-ID": "edge-1234abcd"}).headers["x-request-id"]
    assert kept == "edge-1234abcd"
    forged = client.get("/login", headers={"X-Request-ID": 'x" event="login'}).headers["x-request-id"]
    assert forged != 'x" event="login' and len(forged) == 32
