"""The timeline names steps, fields and values for people, in their language."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session

from supplychain import i18n
from supplychain.events import record_event, timeline
from supplychain.models import OrgKind, Role
from tests.factories import make_organisation, make_user
from web.timeline import action_label, field_label, value_label


def test_steps_fields_and_values_read_as_words_in_each_language() -> None:
    with i18n.use_locale("en"):
        assert action_label("shipment_created") == "Shipment notified (ASN)"
        assert field_label("line_2.quantity_confirmed") == "Line 2 · Confirmed quantity"
        assert value_label("status", "pending_approval") == "Waiting for approval"
        assert value_label("line_1.status", "short_closed") == "Short-closed"
        assert value_label("total_amount", "140.34") == "CN¥140.34"
        assert value_label("promised_date", "2026-11-28") == "Nov 28, 2026"
        assert value_label("status_reason", None) == "—"
        assert action_label("something.new") == "something.new"  # unknown steps still show
    with i18n.use_locale("zh_CN"):
        assert action_label("shipment_created") == "已发货通知（ASN）"
        assert field_label("line_2.quantity_confirmed") == "第 2 行 · 确认数量"
        assert value_label("total_amount", Decimal("140.34")) == "¥140.34"


def test_a_lot_of_a_receipt_line_is_named_in_each_language_and_its_batch_shown_as_typed() -> None:
    with i18n.use_locale("en"):
        assert field_label("line_1.lot_2.batch_no") == "Line 1 · Lot 2 · Batch number"
        assert field_label("line_1.lot_2.quantity") == "Line 1 · Lot 2 · Quantity"
        assert field_label("lot_no") == "Lot"
        assert value_label("line_1.lot_2.quantity", 40) == "40"
        assert value_label("batch_no", "2027-03-01") == "2027-03-01"  # a batch number, not a date
        assert value_label("line_1.lot_1.batch_no", "2027-03-01") == "2027-03-01"
    with i18n.use_locale("zh_CN"):
        assert field_label("line_1.lot_2.batch_no") == "第 1 行 · 第 2 批 · 批次号"
        assert field_label("lot_no") == "检验批"


def test_people_in_changed_fields_are_named_not_numbered(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    first = make_user(session, organisation=hq, roles=[Role.APPROVER], full_name="李经理")
    second = make_user(session, organisation=hq, roles=[Role.APPROVER], full_name="赵总监")
    record_event(
        session,
        document_type="purchase_order",
        document_id="PO-2026-000001",
        action="approval.escalated",
        idempotency_key="po-2026-000001:approval:escalated:1",
        before={"assignee_user_id": first.id, "level": 0},
        after={"assignee_user_id": second.id, "level": 1},
    )
    session.commit()
    [entry] = timeline(session, "purchase_order", "PO-2026-000001")
    changed = {c.field: (c.before, c.after) for c in entry.changes}
    assert changed["assignee_user_id"] == ("李经理", "赵总监")
    assert changed["level"] == (0, 1)


def test_a_note_the_workflow_wrote_reads_in_the_readers_language_and_a_persons_note_as_typed() -> None:
    from supplychain.approvals import NO_APPROVER_COMMENT
    from supplychain.inspection import NO_QUALITY_APPROVER
    from web.timeline import note_label

    with i18n.use_locale("en"):
        assert note_label(NO_QUALITY_APPROVER) == NO_QUALITY_APPROVER
        assert note_label(NO_APPROVER_COMMENT) == "No approver's limit covers this amount"
    with i18n.use_locale("zh_CN"):
        assert note_label(NO_QUALITY_APPROVER) == "没有可用的质量审批人：拒收的检验批退回供应商。"
        assert note_label(NO_APPROVER_COMMENT) == "没有审批人的审批额度覆盖该金额"
        assert note_label("Labels smudged on 3 cartons") == "Labels smudged on 3 cartons"
