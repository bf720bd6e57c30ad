"""Oversized request bodies are refused with 413 before they are read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.web import ClientFactory


@pytest.fixture
def small_limit_client(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    from supplychain.settings import settings

    monkeypatch.setattr(settings, "MAX_REQUEST_BYTES", 2048)
    return make_client


def test_a_body_over_the_declared_limit_is_refused_up_front(small_limit_client: ClientFactory) -> None:
    client = small_limit_client()
    response = client.post("/login", content=b"x" * 4096, headers={"content-type": "text/plain"})
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"  # still one of our answers


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(small_limit_client: ClientFactory) -> None:
    client = small_limit_client()
    client.cookies.set("scp_lang", "en")

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"y" * 1024

    # A form is read by the CSRF check, so the body streams in until it passes the limit.
    response = client.post(
        "/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert "too large" in response.text


def test_a_body_within_the_limit_reaches_the_route(small_limit_client: ClientFactory) -> None:
    client = small_limit_client()
    response = client.post("/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 403  # the CSRF check answered: the body got through
