"""The measurements: clicks, pages under load, and throughput, each beside its floor.

- Clicks: each human step's POST (timed to its 303) over `count` purchase orders, step by step as
  the people take turns: the store submits every request, then the approver approves them all, the
  supplier confirms, the supplier sends the ASN, the warehouse receives.
- Floor of a click: a bare Update with a validator (bench/floor_worker.py), one per workflow.
- Pages: each page at every connection count with wrk, and its floor page (the same rows) at 4.
- Throughput: purchase orders through the whole happy path with `in_flight` at a time, driven
  through the workflow API (bench/world.py), against bare workflows with as many activities.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import httpx
from temporalio.client import Client

from bench import world
from bench.browser import Browser, BrowserError, page_rows
from bench.floor_worker import BareStepsInput, BareStepsWorkflow, BareUpdateWorkflow, BumpInput
from bench.pages import FLOOR_CONNECTIONS, PageSpec, WrkResult, run_wrk
from supplychain.models import POStatus
from supplychain.replenishment import business_today

CLICKS = ("submit request", "approve", "confirm", "ASN", "receive")
WARM_UP_GETS = 3
# A healthy web app answers a page within this once wrk's connections are gone.
RECOVERY_S = 10.0


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Timings:
    seconds: list[float]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        if len(self.seconds) < 2:
            return self.seconds[0] * 1000
        return statistics.quantiles(self.seconds, n=20, method="inclusive")[18] * 1000


# --- clicks --------------------------------------------------------------------------------------


def clicks(browsers: dict[str, Browser], count: int) -> tuple[dict[str, Timings], list[str]]:
    """Each click's POST -> 303 seconds over `count` new purchase orders; returns them and the orders."""
    store, approver = browsers["store"], browsers["approver"]
    supplier, warehouse = browsers["supplier"], browsers["warehouse"]
    quantities = {
        f"qty-{sku_id}": str(quantity) for sku_id, quantity in world.sku_ids(world.EVERYDAY).items()
    }
    timed: dict[str, list[float]] = {name: [] for name in CLICKS}
    tomorrow = (business_today() + timedelta(days=1)).isoformat()

    numbers: list[str] = []
    last = world.last_po_id()
    for _ in range(count):
        timed["submit request"].append(store.click("/replenishment/new", "/replenishment/new", quantities))
        created = world.new_po_numbers(last)
        if len(created) != 1:
            raise BrowserError(f"one request should make one purchase order, it made {created}")
        last, number = created[0]
        numbers.append(number)
    say(f"  submit request: {count} purchase orders, {numbers[0]} .. {numbers[-1]}")

    for number in numbers:
        approval = world.wait_for(partial(world.pending_approval_id, number), f"{number} in the queue")
        timed["approve"].append(
            approver.click(
                "/approvals",
                "/approvals/bulk-approve",
                {"decision": "approve"},
                post_to=f"/approvals/{approval}/decide",
            )
        )
    say("  approve: done")

    for number in numbers:
        world.wait_for_status(number, POStatus.SENT)
        page = f"/purchase-orders/{number}"
        timed["confirm"].append(
            supplier.click(
                page,
                f"{page}/confirm",
                {},
                fill=lambda name: tomorrow if name.startswith("promised_date-") else None,
            )
        )
    say("  confirm: done")

    for number in numbers:
        page = f"/purchase-orders/{number}/shipments/new"
        typed = {"carrier": "顺丰速运", "tracking_number": f"SF{number.replace('-', '')}", "eta": tomorrow}
        timed["ASN"].append(supplier.click(page, page, typed))
    say("  ASN: done")

    for number in numbers:
        shipment = world.wait_for(partial(world.shipment_numbers, number), f"the shipment of {number}")[0]
        page = f"/warehouse/receipts/{shipment}"
        timed["receive"].append(warehouse.click(page, page, {}))
    for number in numbers:
        world.wait_for_status(number, POStatus.CLOSED)
    say("  receive: done, every order closed")
    return {name: Timings(seconds) for name, seconds in timed.items()}, numbers


async def update_floor(client: Client, task_queue: str, count: int) -> Timings:
    """A bare Update's round trip, once per workflow (after one untimed Update, as a PO's clicks are)."""
    handles = [
        await client.start_workflow(
            BareUpdateWorkflow.run, id=f"bare-update-{uuid.uuid4()}", task_queue=task_queue
        )
        for _ in range(count)
    ]
    seconds = []
    for handle in handles:
        await handle.execute_update(BareUpdateWorkflow.bump, BumpInput())
        started = time.perf_counter()
        await handle.execute_update(BareUpdateWorkflow.bump, BumpInput())
        seconds.append(time.perf_counter() - started)
    for handle in handles:
        await handle.signal(BareUpdateWorkflow.finish)
    return Timings(seconds)


# --- pages ---------------------------------------------------------------------------------------


@dataclass
class PageResult:
    spec: PageSpec
    url: str
    rows: list[list[str]]
    runs: dict[int, WrkResult] = field(default_factory=dict)
    stalled: list[int] = field(default_factory=list)  # connection counts after which it had to restart
    floor: WrkResult | None = None


def page_results(browsers: dict[str, Browser], specs: list[PageSpec], po_number: str) -> list[PageResult]:
    """Each page as its person sees it, with the rows the floor page will carry."""
    results = []
    for spec in specs:
        url = spec.url.format(po=po_number)
        results.append(PageResult(spec, url, page_rows(browsers[spec.role].get(url).text)))
    return results


def pages(
    base_url: str,
    floor_url: str,
    browsers: dict[str, Browser],
    results: list[PageResult],
    connections: list[int],
    seconds: float,
    restart_web: Callable[[], None],
) -> None:
    """Each page at each connection count, and its floor page right after the page's run at
    FLOOR_CONNECTIONS (so both see the machine in the same state). A web app that does not answer
    the page within RECOVERY_S after a run (stuck, say, waiting for database connections) is
    restarted and the run marked: sessions live in the database, so every browser stays logged in."""
    for result in results:
        browser, url = browsers[result.spec.role], result.url
        floor_page = f"{floor_url}/{result.spec.key}"
        for _ in range(WARM_UP_GETS):  # templates compiled, caches filled, as on a live server
            browser.get(url)
            httpx.get(floor_page).raise_for_status()
        for n in connections:
            result.runs[n] = run_wrk(base_url + url, n, seconds, browser.cookie)
            if not browser.answers(url, RECOVERY_S):
                result.stalled.append(n)
                say(f"  {url} unanswered {RECOVERY_S:.0f} s after {n} connections: restarting the web app")
                restart_web()
                browser.get(url)  # still logged in after the restart
            if n == FLOOR_CONNECTIONS:
                result.floor = run_wrk(floor_page, n, seconds)
        assert result.floor is not None, f"no run at {FLOOR_CONNECTIONS} connections"
        say(
            f"  {url} ({result.spec.role}, {len(result.rows)} rows): "
            + ", ".join(
                f"{n} conn. p50 {r.p50_ms:.1f} ms {r.per_second:.0f}/s"
                + (f" {r.errors} errors" if r.errors else "")
                for n, r in result.runs.items()
            )
            + f"; floor p50 {result.floor.p50_ms:.1f} ms {result.floor.per_second:.0f}/s"
        )


# --- throughput ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    count: int
    seconds: float
    activities: int  # per purchase order (or bare workflow)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def activities_per_second(self) -> float:
        return self.per_second * self.activities


async def po_throughput(client: Client, count: int, in_flight: int, activities: int) -> Throughput:
    orders = world.prepare_orders(count)
    seconds = await world.drive_all(client, orders, world.people(), POStatus.CLOSED, in_flight)
    return Throughput(count, seconds, activities)


async def bare_throughput(
    client: Client, task_queue: str, count: int, in_flight: int, activities: int
) -> Throughput:
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            await client.execute_workflow(
                BareStepsWorkflow.run,
                BareStepsInput(activities),
                id=f"bare-steps-{uuid.uuid4()}",
                task_queue=task_queue,
            )

    await asyncio.gather(*(one() for _ in range(in_flight)))  # warm-up: the worker's caches
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return Throughput(count, time.perf_counter() - started, activities)
