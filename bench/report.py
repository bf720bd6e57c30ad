"""The benchmark's one table (measurement, portal, floor, ratio, target) and the machine it ran on."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.pages import wrk_binary


@dataclass(frozen=True)
class Line:
    measurement: str
    product: str
    floor: str
    ratio: str
    target: str
    met: bool | None  # None: reported, no target

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "**no**")


HEADER = ("Measurement", "Portal", "Floor", "Ratio", "Target", "Met")


def markdown_table(lines: list[Line]) -> str:
    rows = [
        HEADER,
        *((ln.measurement, ln.product, ln.floor, ln.ratio, ln.target, ln.verdict) for ln in lines),
    ]
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:]]
    return "\n".join(out)


def plain_table(lines: list[Line]) -> str:
    rows = [
        HEADER,
        *((ln.measurement, ln.product, ln.floor, ln.ratio, ln.target, ln.verdict) for ln in lines),
    ]
    plain = [[cell.replace("**", "").replace("`", "") for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in plain) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in plain
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine, how busy it was besides the run."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine(load_at_start: str) -> list[tuple[str, str]]:
    """What the figures depend on: cores, CPU, memory, OS, versions, the load around the run."""
    return [
        ("Date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        (
            "Commit",
            _git("rev-parse", "--short", "HEAD")
            + (" (with local changes)" if _git("status", "--porcelain") else ""),
        ),
        ("CPU", f"{os.cpu_count()} cores, {_cpu_model()}"),
        ("Memory", _memory()),
        ("OS", f"{_os_name()}, kernel {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("temporalio", version("temporalio")),
        ("uvicorn", version("uvicorn")),
        ("wrk", _wrk_version()),
        ("Load average (1/5/15 min)", f"{load_at_start} at the start, {load_average()} at the end"),
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _wrk_version() -> str:
    done = subprocess.run([wrk_binary(), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split("[")[0].replace("wrk", "").strip() if first else "unknown"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607 (git from PATH, as a developer runs it)
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def markdown_report(lines: list[Line], notes: list[str], load_at_start: str) -> str:
    parts = ["| Machine | |", "|---|---|", *(f"| {key} | {value} |" for key, value in machine(load_at_start))]
    return "\n".join([markdown_table(lines), "", *(f"- {note}" for note in notes), "", *parts, ""]) + "\n"
