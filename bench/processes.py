"""The processes a benchmark run starts, and nothing else: each is stopped at the end, even on Ctrl-C.

Every child leads its own process group (so Ctrl-C in the terminal reaches only the runner, which
then stops them in order) and, on Linux, gets SIGTERM if the runner itself is killed outright.
Each logs to a file in the run's directory; a child that dies while the run waits for it fails the
run with the last lines of its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cli import die_with_parent_hook

STOP_TIMEOUT_S = 25.0  # longer than the worker's graceful shutdown for running activities
POLL_S = 0.1
LOG_TAIL_LINES = 25


class BenchError(Exception):
    """Something the run cannot go on without; the message says what and where to look."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    stop_timeout: float = STOP_TIMEOUT_S

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"\nLast lines of {self.log_path}:\n" + "\n".join(text)

    def signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


@dataclass
class Processes:
    """Started in order, stopped in reverse order (web and workers before the Temporal server)."""

    log_dir: Path
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        extra_env: dict[str, str] | None = None,
        stop_timeout: float = STOP_TIMEOUT_S,
    ) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("ab")
        try:
            process = subprocess.Popen(  # noqa: S603 (argv built by the runner, never from input)
                list(argv),
                cwd=self.log_dir,  # no .env file of a checkout leaks into the run
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.env, **(extra_env or {}), "PYTHONUNBUFFERED": "1"},
                process_group=0,
                preexec_fn=die_with_parent_hook(),  # only prctl: safe between fork and exec
            )
        except OSError as exc:
            log.close()
            raise BenchError(f"could not start {name} ({argv[0]}): {exc}") from exc
        child = Child(name, process, log_path, log, stop_timeout)
        self.children.append(child)
        return child

    def wait_for_port(self, child: Child, port: int, timeout: float) -> None:
        self._wait(child, lambda: port_open(port), timeout, f"accept connections on port {port}")

    def wait_for_line(self, child: Child, text: str, timeout: float) -> None:
        self._wait(
            child, lambda: text in child.log_path.read_text(errors="replace"), timeout, f"log {text!r}"
        )

    def check_alive(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                how = f"exited with code {code}" if code >= 0 else f"died of {signal.Signals(-code).name}"
                raise BenchError(f"{child.name} {how}.{child.log_tail()}")

    def stop(self, child: Child, timeout: float | None = None, *, quiet: bool = False) -> None:
        timeout = child.stop_timeout if timeout is None else timeout
        child.signal_group(signal.SIGTERM)
        try:
            child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if not quiet:
                sys.stderr.write(f"{child.name} did not stop in {timeout:g} s; killing it.\n")
        child.signal_group(signal.SIGKILL)  # whatever it left behind in its group
        if child.process.poll() is None:
            child.process.wait()
        child.log.close()
        self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)

    def _wait(self, child: Child, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"{child.name} did not {what} within {timeout:.0f} s.{child.log_tail()}")
            time.sleep(POLL_S)


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick; taken by the caller a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
