"""The web process under load (issue 10, item 1): `portal web` as deployed, on the session's dev
server and portal worker, takes 100 requests at once (the buyer's purchase-order list, a purchase
order's page, the supplier's confirm click) and answers every one without a 5xx while /healthz
keeps answering; and SIGTERM in the middle of such a burst stops it within a few seconds.

Before the request path was reworked, 20 concurrent page requests exhausted the connection pool
(each held one connection and waited for a second), and the event loop ran database calls, so the
health check stopped answering too.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from tests.factories import DEFAULT_PASSWORD
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory
from tests.web.test_purchase_orders import World, as_user, submit_request, tomorrow
from tests.web.test_purchase_orders import fresh_numbers as fresh_numbers
from tests.web.test_purchase_orders import world as world

BURST = 100
START_TIMEOUT = 30.0
HEALTH_EVERY = 0.1
STOP_WITHIN = 10.0  # WEB_SHUTDOWN_SECONDS (5) plus the process's own exit
_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@dataclass
class WebProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web_process(portal_worker: WorkerThread, tmp_path: Path) -> Iterator[WebProcess]:
    """`portal web` in a process of its own, on the run's database, dev server and worker queue."""
    port = _free_port()
    log = tmp_path / "web.log"
    env = {
        **os.environ,  # DATABASE_URL, VAR_DIR and ENVIRONMENT of this run
        "TEMPORAL_ADDRESS": portal_worker.address,
        "TEMPORAL_TASK_QUEUE": portal_worker.task_queue,
        "LOGIN_RATE_LIMIT": "1000/minute",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "web", "--port", str(port)],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    web = WebProcess(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(f"{web.url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"portal web did not start:\n{web.log_tail()}")
        time.sleep(0.1)
    yield web
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _logged_in(base_url: str, email: str) -> tuple[dict[str, str], str]:
    """(cookies, CSRF token) of a fresh login over HTTP."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        token = _CSRF_FIELD.search(client.get("/login").text)
        assert token, "no CSRF field on the login page"
        response = client.post(
            "/login", data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code == 303, response.text[:500]
        page = client.get("/")
        csrf = _CSRF_FIELD.search(page.text) or re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert csrf, "no CSRF token on the home page"
        return dict(client.cookies), csrf.group(1)


Login = tuple[dict[str, str], str]


async def _burst(web: WebProcess, buyer: Login, supplier: Login, number: str) -> list[int]:
    """BURST requests at once: the buyer's list and the order's page, and the supplier's click."""
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    timeout = httpx.Timeout(60)
    async with (
        httpx.AsyncClient(base_url=web.url, cookies=buyer[0], limits=limits, timeout=timeout) as as_buyer,
        httpx.AsyncClient(
            base_url=web.url, cookies=supplier[0], limits=limits, timeout=timeout
        ) as as_supplier,
    ):
        click = {"quantity-1": "12", "promised_date-1": tomorrow(), "csrf_token": supplier[1]}
        requests = []
        for n in range(BURST):
            if n % 5 == 4:
                requests.append(as_supplier.post(f"/purchase-orders/{number}/confirm", data=click))
            elif n % 2:
                requests.append(as_buyer.get("/purchase-orders"))
            else:
                requests.append(as_buyer.get(f"/purchase-orders/{number}"))
        responses = await asyncio.gather(*requests, return_exceptions=True)
    return [r.status_code if isinstance(r, httpx.Response) else -1 for r in responses]


async def _health_meanwhile(web: WebProcess, stop: asyncio.Event) -> list[int]:
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        while not stop.is_set():
            try:
                statuses.append((await client.get("/healthz")).status_code)
            except httpx.HTTPError:
                statuses.append(-1)
            await asyncio.sleep(HEALTH_EVERY)
    return statuses


@pytest.mark.e2e
async def test_a_hundred_requests_at_once_are_all_answered_and_health_answers_meanwhile(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None, web_process: WebProcess
) -> None:
    numbers = submit_request(as_user(portal_client, world.store_a_user), world, qty_a=12, qty_b=0)
    buyer = _logged_in(web_process.url, world.buyer.email)
    supplier = _logged_in(web_process.url, world.supplier_a_user.email)
    stop = asyncio.Event()
    health = asyncio.create_task(_health_meanwhile(web_process, stop))
    statuses = await _burst(web_process, buyer, supplier, numbers[0])
    stop.set()
    health_statuses = await health
    failed = sum(s >= 500 or s < 0 for s in statuses)
    assert not failed, f"{failed} of {BURST} failed: {sorted(statuses)}\n{web_process.log_tail()}"
    assert statuses.count(303) >= 1, "no confirm click went through"
    assert health_statuses and all(status == 200 for status in health_statuses), health_statuses


@pytest.mark.e2e
async def test_sigterm_under_load_stops_the_web_process_within_seconds(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None, web_process: WebProcess
) -> None:
    numbers = submit_request(as_user(portal_client, world.store_a_user), world, qty_a=12, qty_b=0)
    buyer = _logged_in(web_process.url, world.buyer.email)
    supplier = _logged_in(web_process.url, world.supplier_a_user.email)
    load = asyncio.create_task(_burst(web_process, buyer, supplier, numbers[0]))
    await asyncio.sleep(0.5)
    web_process.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    while web_process.process.poll() is None:
        assert time.monotonic() - stopped_at < STOP_WITHIN, (
            f"portal web still running {STOP_WITHIN:.0f} s after SIGTERM:\n{web_process.log_tail()}"
        )
        await asyncio.sleep(0.1)
    await load  # whatever it got; the process is gone
