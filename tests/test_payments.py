"""The payment adapter: instruction files written once per key, result files read strictly."""

from __future__ import annotations

import stat
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from supplychain.payments import (
    BAD_ROW,
    EMPTY_FILE,
    NOT_UTF8,
    PROBLEM_COLUMNS,
    PROBLEM_REASON,
    PROBLEM_REFERENCE,
    PROBLEM_REPEATED,
    PROBLEM_STATUS,
    WRONG_HEADER,
    BankResult,
    BankStatus,
    FileAdapter,
    Instruction,
    parse_results,
    read_instructions,
)
from supplychain.rules.refusal import Refused


def _instruction(n: int) -> Instruction:
    return Instruction(
        payment_number=f"PAY-2026-{n:06d}",
        idempotency_key=f"settlement-st-2026-{n:06d}:pay:1",
        supplier_code="SUP001",
        supplier_name="华东食品, 有限公司",  # a comma and Chinese: quoted and UTF-8
        amount=Decimal("12345.60"),
        value_date=date(2026, 12, 14),
    )


def test_the_instruction_file_has_the_documented_layout(tmp_path: Path) -> None:
    adapter = FileAdapter(tmp_path)
    adapter.write_instructions("PR-2026-000001", [_instruction(1)])
    path = tmp_path / "PR-2026-000001.csv"
    assert path.read_text(encoding="utf-8").splitlines() == [
        "payment_number,idempotency_key,supplier_code,supplier_name,amount,currency,value_date",
        'PAY-2026-000001,settlement-st-2026-000001:pay:1,SUP001,"华东食品, 有限公司",12345.60,CNY,2026-12-14',
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_instructions(path.read_text(encoding="utf-8")) == [_instruction(1)]


def test_a_key_in_an_earlier_file_is_never_written_again(tmp_path: Path) -> None:
    adapter = FileAdapter(tmp_path)
    assert adapter.write_instructions("PR-1", [_instruction(1)]) == [_instruction(1)]
    assert adapter.write_instructions("PR-2", [_instruction(1), _instruction(2)]) == [_instruction(2)]
    # A retry of a run returns its file, whatever it is offered now.
    assert adapter.write_instructions("PR-1", [_instruction(3)]) == [_instruction(1)]
    assert adapter.instructed_keys() == {_instruction(1).idempotency_key, _instruction(2).idempotency_key}


def test_runs_at_the_same_moment_share_no_key(tmp_path: Path) -> None:
    adapter = FileAdapter(tmp_path)
    offered = [_instruction(n) for n in range(1, 21)]
    barrier = threading.Barrier(8)

    def run(n: int) -> None:
        barrier.wait()
        adapter.write_instructions(f"PR-{n}", offered)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [
        i.idempotency_key
        for path in tmp_path.glob("*.csv")
        for i in read_instructions(path.read_text("utf-8"))
    ]
    assert sorted(keys) == sorted(i.idempotency_key for i in offered)


def test_a_run_number_cannot_name_a_file_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FileAdapter(tmp_path).write_instructions("../x", [])


def test_a_result_file_is_read_into_results() -> None:
    data = ("idempotency_key,status,bank_reference,reason\nk1,paid,BOC1,\nk2,FAILED,,账户已冻结\n\n").encode()
    assert parse_results(data) == [
        BankResult("k1", BankStatus.PAID, "BOC1", ""),
        BankResult("k2", BankStatus.FAILED, "", "账户已冻结"),
    ]


@pytest.mark.parametrize(
    ("data", "message", "problem"),
    [
        (b"\xff\xfe", NOT_UTF8, None),
        (b"key,status\nk1,paid\n", WRONG_HEADER, None),
        (b"idempotency_key,status,bank_reference,reason\n", EMPTY_FILE, None),
        (b"idempotency_key,status,bank_reference,reason\nk1,paid,R\n", BAD_ROW, PROBLEM_COLUMNS),
        (b"idempotency_key,status,bank_reference,reason\nk1,maybe,R,\n", BAD_ROW, PROBLEM_STATUS),
        (b"idempotency_key,status,bank_reference,reason\nk1,paid,,\n", BAD_ROW, PROBLEM_REFERENCE),
        (b"idempotency_key,status,bank_reference,reason\nk1,failed,,\n", BAD_ROW, PROBLEM_REASON),
        (
            b"idempotency_key,status,bank_reference,reason\nk1,paid,R,\nk1,paid,R,\n",
            BAD_ROW,
            PROBLEM_REPEATED,
        ),
    ],
)
def test_a_bad_result_file_is_refused_whole(data: bytes, message: str, problem: str | None) -> None:
    with pytest.raises(Refused) as refused:
        parse_results(data)
    assert refused.value.message_id == message
    if problem is not None:
        assert refused.value.params["problem"] == problem
