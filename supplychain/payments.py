"""The payment adapter: how a payment run reaches the bank and how the bank's answer comes back.

`PaymentAdapter` is the interface the settlement activities call; `FileAdapter`, the default, writes
one instruction file per payment run into an outbox directory (PAYMENT_OUTBOX_DIR) for the bank's
host-to-host channel to pick up, and reads the bank's result file (uploaded by finance on the payment
run page, kept in PAYMENT_INBOX_DIR). Another bank interface implements the same two methods.

Never paid twice. Every payment carries an idempotency key (`<workflow id>:pay:<attempt>`, a new
attempt only after the bank reported the previous one failed). The adapter writes an instruction
whose key already appears in any earlier instruction file never again, whatever retries, crashes or
overlapping runs happen:

- the file of a run is named after the run's number and written whole (a temporary file renamed
  into place): a retried run finds its file and returns what it holds, writing nothing;
- choosing the payments, reading the earlier files and writing the new one happen under an
  exclusive lock on the outbox, so two runs at once cannot both take the same payment.

Instruction file `<run number>.csv` (UTF-8, comma-separated, one header row, then one row per payment):

    payment_number,idempotency_key,supplier_code,supplier_name,amount,currency,value_date
    PAY-2026-000001,settlement-st-2026-000001:pay:1,SUP001,华东食品,12345.67,CNY,2026-12-14

`amount` is what is paid (after any early-payment discount), with a dot and two places;
`value_date` is the day it is paid (ISO). The bank's account details are held by the bank's
supplier master under `supplier_code`.

Result file (same conventions), one row per instruction the bank settled:

    idempotency_key,status,bank_reference,reason
    settlement-st-2026-000001:pay:1,paid,BOC20261214001,
    settlement-st-2026-000002:pay:1,failed,,账户已冻结 account frozen

`status` is `paid` or `failed`; a paid row has a bank reference, a failed row a reason.
`parse_results` refuses the whole file on the first bad row (with its line number), so a half-read
file never changes anything.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from supplychain.i18n import lazy
from supplychain.rules.refusal import Refused

INSTRUCTION_COLUMNS = (
    "payment_number",
    "idempotency_key",
    "supplier_code",
    "supplier_name",
    "amount",
    "currency",
    "value_date",
)
RESULT_COLUMNS = ("idempotency_key", "status", "bank_reference", "reason")
CURRENCY = "CNY"
RESULT_FILE_MAX_BYTES = 1024 * 1024
REASON_MAX_LENGTH = 500
REFERENCE_MAX_LENGTH = 64


class BankStatus(StrEnum):
    PAID = "paid"
    FAILED = "failed"


@dataclass(frozen=True)
class Instruction:
    payment_number: str
    idempotency_key: str
    supplier_code: str
    supplier_name: str
    amount: Decimal
    value_date: date


@dataclass(frozen=True)
class BankResult:
    idempotency_key: str
    status: BankStatus
    bank_reference: str = ""
    reason: str = ""


class PaymentAdapter(Protocol):
    def write_instructions(self, run_number: str, candidates: Sequence[Instruction]) -> list[Instruction]:
        """Hand the bank the `candidates` not instructed before, as one run; return what the run's
        file holds (on a retry: the file already written, whatever `candidates` now are)."""
        ...

    def instructed_keys(self) -> set[str]:
        """Every idempotency key in any instruction file so far."""
        ...

    def instruction_name(self, run_number: str) -> str:
        """How the run's instructions are known to the bank (the file name)."""
        ...


class FileAdapter:
    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def write_instructions(self, run_number: str, candidates: Sequence[Instruction]) -> list[Instruction]:
        with self._locked():
            path = self.instruction_path(run_number)
            if path.exists():  # a retry of this run: what was handed over stands
                return read_instructions(path.read_text(encoding="utf-8"))
            already = self._keys_in_files()
            chosen = [c for c in candidates if c.idempotency_key not in already]
            _write_whole(path, format_instructions(chosen))
            return chosen

    def instructed_keys(self) -> set[str]:
        with self._locked():
            return self._keys_in_files()

    def instruction_name(self, run_number: str) -> str:
        return self.instruction_path(run_number).name

    def instruction_path(self, run_number: str) -> Path:
        if not run_number or "/" in run_number or run_number.startswith("."):
            raise ValueError(f"not a payment run number: {run_number!r}")
        return self.outbox / f"{run_number}.csv"

    def _keys_in_files(self) -> set[str]:
        keys: set[str] = set()
        for path in sorted(self.outbox.glob("*.csv")):
            keys.update(i.idempotency_key for i in read_instructions(path.read_text(encoding="utf-8")))
        return keys

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.outbox / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def format_instructions(instructions: Sequence[Instruction]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INSTRUCTION_COLUMNS)
    for i in instructions:
        writer.writerow(
            [
                i.payment_number,
                i.idempotency_key,
                i.supplier_code,
                i.supplier_name,
                f"{i.amount:.2f}",
                CURRENCY,
                i.value_date.isoformat(),
            ]
        )
    return out.getvalue()


def read_instructions(text: str) -> list[Instruction]:
    rows = list(csv.reader(io.StringIO(text)))
    return [
        Instruction(
            payment_number=row[0],
            idempotency_key=row[1],
            supplier_code=row[2],
            supplier_name=row[3],
            amount=Decimal(row[4]),
            value_date=date.fromisoformat(row[6]),
        )
        for row in rows[1:]
        if row
    ]


# Refusals of a result file (message ids, shown in the reader's language).
NOT_UTF8 = lazy("The result file is not UTF-8 text.")
WRONG_HEADER = lazy("The result file must start with the header row: %(header)s")
BAD_ROW = lazy("Line %(line)s of the result file: %(problem)s")
EMPTY_FILE = lazy("The result file holds no results.")
TOO_LARGE = lazy("The result file is too large.")
PROBLEM_COLUMNS = lazy("expected 4 columns")
PROBLEM_STATUS = lazy("the status must be paid or failed")
PROBLEM_REFERENCE = lazy("a paid row needs the bank reference")
PROBLEM_REASON = lazy("a failed row needs the reason")
PROBLEM_REPEATED = lazy("the same payment appears twice")
PROBLEM_TOO_LONG = lazy("a field is too long")


def parse_results(data: bytes) -> list[BankResult]:
    """The rows of a bank result file; `Refused` with the first problem (nothing is taken then)."""
    if len(data) > RESULT_FILE_MAX_BYTES:
        raise Refused(TOO_LARGE)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(NOT_UTF8) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise Refused(WRONG_HEADER, header=",".join(RESULT_COLUMNS)) from None
    if not rows or [cell.strip() for cell in rows[0]] != list(RESULT_COLUMNS):
        raise Refused(WRONG_HEADER, header=",".join(RESULT_COLUMNS))
    results: list[BankResult] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        problem = _row_problem(row, seen)
        if problem:
            raise Refused(BAD_ROW, line=line, problem=problem)
        key, status, reference, reason = (cell.strip() for cell in row)
        seen.add(key)
        results.append(BankResult(key, BankStatus(status.lower()), reference, reason))
    if not results:
        raise Refused(EMPTY_FILE)
    return results


def _row_problem(row: list[str], seen: set[str]) -> str | None:
    if len(row) != len(RESULT_COLUMNS):
        return PROBLEM_COLUMNS
    key, status, reference, reason = (cell.strip() for cell in row)
    if status.lower() not in {s.value for s in BankStatus}:
        return PROBLEM_STATUS
    if not key or len(key) > 200 or len(reference) > REFERENCE_MAX_LENGTH or len(reason) > REASON_MAX_LENGTH:
        return PROBLEM_TOO_LONG if key else PROBLEM_COLUMNS
    if status.lower() == BankStatus.PAID and not reference:
        return PROBLEM_REFERENCE
    if status.lower() == BankStatus.FAILED and not reason:
        return PROBLEM_REASON
    if key in seen:
        return PROBLEM_REPEATED
    return None


def _write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` so that the file is either absent or complete (owner-only)."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def default_adapter() -> FileAdapter:
    from supplychain.settings import settings

    assert settings.PAYMENT_OUTBOX_DIR is not None
    return FileAdapter(settings.PAYMENT_OUTBOX_DIR)
