"""Pages under load: wrk against one URL with a logged-in session's cookie, for a fixed time.

wrk keeps N connections busy (each sends its next request as soon as the last one is answered) and
reports latency percentiles and requests per second; bench/report.lua prints its summary as JSON
(p95 included). The same settings measure the portal's pages and the floor's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.processes import BenchError

LUA_REPORT = Path(__file__).parent / "report.lua"
WRK_THREADS = 2
CONNECTIONS = (4, 20, 50)
FLOOR_CONNECTIONS = 4  # where the targets compare a page with its floor
WRK_TIMEOUT = "10s"


class WrkError(BenchError):
    """wrk is missing or did not report."""


@dataclass(frozen=True)
class PageSpec:
    """A page as one person sees it: the role's session, the URL (`{po}`: a closed purchase order)."""

    key: str
    role: str
    url: str


# Every list page a role lands on, the catalogue the store orders from, the home page, and a
# purchase order's document page (lines, shipments, timeline, live state from its workflow).
PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "buyer", "/"),
    PageSpec("purchase-orders", "buyer", "/purchase-orders"),
    PageSpec("supplier-purchase-orders", "supplier", "/supplier/purchase-orders"),
    PageSpec("my-orders", "store", "/replenishment"),
    PageSpec("catalogue", "store", "/replenishment/new"),
    PageSpec("approvals", "approver", "/approvals"),
    PageSpec("inspections", "inspector", "/inspections"),
    PageSpec("receipts", "warehouse", "/warehouse/receipts"),
    PageSpec("supplier-shipments", "supplier", "/supplier/shipments"),
    PageSpec("stock", "buyer", "/stock"),
    PageSpec("price-lists", "buyer", "/price-lists"),
    PageSpec("notifications", "store", "/notifications"),
    PageSpec("po-detail", "buyer", "/purchase-orders/{po}"),
)


@dataclass(frozen=True)
class WrkResult:
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    errors: int  # connect/read/write errors, timeouts and non-2xx/3xx answers

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed: `make bench` installs it (Debian package `wrk`).")
    return found


def run_wrk(url: str, connections: int, seconds: float, cookie: str | None = None) -> WrkResult:
    argv = [
        wrk_binary(),
        "--threads",
        str(min(WRK_THREADS, connections)),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds:g}s",
        "--timeout",
        WRK_TIMEOUT,
        "--script",
        str(LUA_REPORT),
    ]
    if cookie:
        argv += ["--header", f"Cookie: {cookie}"]
    done = subprocess.run(  # noqa: S603 (argv built here)
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise WrkError(f"wrk against {url} failed ({done.returncode}): {done.stderr or done.stdout}")
    report = json.loads(lines[-1])
    errors = sum(value for key, value in report.items() if key.startswith("errors_"))
    return WrkResult(
        connections=connections,
        requests=int(report["requests"]),
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50_us"] / 1e3,
        p95_ms=report["p95_us"] / 1e3,
        errors=int(errors),
    )
