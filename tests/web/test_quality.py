"""The supplier quality scorecard pages and the HQ actions on a supplier+SKU's switching state."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.inspection_standing import apply_lot
from supplychain.models import (
    Disposition,
    DocumentEvent,
    InspectionSwitching,
    InspectionVerdict,
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    Role,
    Sku,
    SwitchingSeverity,
    User,
)
from tests.factories import make_location, make_organisation, make_sku, make_user
from tests.fixtures.web import ClientFactory, form_post, login
from tests.test_inspection_photos import make_inspection as make_lot
from tests.test_scorecard import make_inspection, make_switching


@dataclass
class World:
    session: Session
    quality_approver: User
    inspector: User
    store: User
    supplier_a_user: User
    supplier_b_user: User
    supplier_a: Organisation
    supplier_b: Organisation
    sku: Sku
    location: Location


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    a = make_organisation(session, kind=OrgKind.SUPPLIER, name="Alpha Foods")
    b = make_organisation(session, kind=OrgKind.SUPPLIER, name="Beta Care")
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    return World(
        session=session,
        quality_approver=make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER], locale="en"),
        inspector=make_user(session, organisation=hq, roles=[Role.INSPECTOR], locale="en"),
        store=make_user(session, organisation=hq, roles=[Role.STORE], location=store, locale="en"),
        supplier_a_user=make_user(session, organisation=a, roles=[Role.SUPPLIER], locale="en"),
        supplier_b_user=make_user(session, organisation=b, roles=[Role.SUPPLIER], locale="en"),
        supplier_a=a,
        supplier_b=b,
        sku=make_sku(session, name_en="Baby formula 800 g"),
        location=make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE),
    )


def logged_in(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def cell(html: str, row_id: str, testid: str) -> str:
    row = re.search(rf'<tr id="{row_id}".*?</tr>', html, re.S)
    assert row, f"no row {row_id}"
    found = re.search(rf'data-testid="{testid}">(.*?)</t[dh]>', row.group(0), re.S)
    assert found, f"no {testid} in {row_id}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).split()[0]


def some_lots(w: World) -> None:
    for verdict, major, disposition in [
        (InspectionVerdict.ACCEPTED, 1, None),
        (InspectionVerdict.ACCEPTED, 0, None),
        (InspectionVerdict.ACCEPTED, 0, None),
        (InspectionVerdict.REJECTED, 4, Disposition.CONCESSION),
    ]:
        make_inspection(
            w.session,
            supplier=w.supplier_a,
            sku=w.sku,
            location=w.location,
            verdict=verdict,
            major=major,
            disposition=disposition,
        )


def event_count(session: Session) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(DocumentEvent)).scalar_one())


def switching(session: Session, row: InspectionSwitching) -> InspectionSwitching:
    session.expire_all()
    found = session.get(InspectionSwitching, row.id)
    assert found is not None
    return found


# --- pages -------------------------------------------------------------------------------------------


def test_hq_scorecard_lists_every_supplier_with_its_figures_and_link(
    make_client: ClientFactory, world: World
) -> None:
    some_lots(world)
    page = logged_in(make_client, world.quality_approver).get("/quality/scorecard")

    assert page.status_code == 200
    assert "Alpha Foods" in page.text and "Beta Care" in page.text
    assert f'href="/quality/scorecard/{world.supplier_a.id}"' in page.text
    row = f"supplier-{world.supplier_a.id}"
    assert cell(page.text, row, "lots-inspected") == "4"
    assert cell(page.text, row, "accepted") == "3"
    assert cell(page.text, row, "rejected") == "1"
    assert cell(page.text, row, "acceptance-rate") == "75%"
    assert cell(page.text, f"supplier-{world.supplier_b.id}", "acceptance-rate") == "–"


def test_hq_supplier_page_shows_figures_per_sku(make_client: ClientFactory, world: World) -> None:
    some_lots(world)
    page = logged_in(make_client, world.inspector).get(f"/quality/scorecard/{world.supplier_a.id}")

    assert page.status_code == 200
    row = f"sku-{world.sku.id}"
    assert "Baby formula 800 g" in page.text
    assert cell(page.text, row, "lots-inspected") == "4"
    assert cell(page.text, row, "defects-major") == "5"  # 5 / 200 units sampled
    assert re.search(r'data-testid="defect-rate-major">2\.5%<', page.text)


def test_supplier_sees_its_own_scorecard_at_the_common_address(
    make_client: ClientFactory, world: World
) -> None:
    some_lots(world)
    page = logged_in(make_client, world.supplier_a_user).get("/quality/scorecard")

    assert page.status_code == 200
    assert "Alpha Foods" in page.text and "Beta Care" not in page.text
    assert cell(page.text, f"sku-{world.sku.id}", "accepted") == "3"


def test_another_suppliers_scorecard_is_404_for_a_supplier(make_client: ClientFactory, world: World) -> None:
    client = logged_in(make_client, world.supplier_b_user)
    assert client.get(f"/quality/scorecard/{world.supplier_a.id}").status_code == 404
    assert client.get(f"/quality/scorecard/{world.supplier_b.id}").status_code == 200


def test_unknown_or_non_supplier_id_is_404(make_client: ClientFactory, world: World) -> None:
    client = logged_in(make_client, world.quality_approver)
    assert client.get("/quality/scorecard/999999").status_code == 404
    hq_id = world.session.get(User, world.quality_approver.id).organisation_id
    assert client.get(f"/quality/scorecard/{hq_id}").status_code == 404


def test_hq_user_without_a_quality_role_gets_403(make_client: ClientFactory, world: World) -> None:
    client = logged_in(make_client, world.store)
    assert client.get("/quality/scorecard").status_code == 403
    assert client.get(f"/quality/scorecard/{world.supplier_a.id}").status_code == 403


# --- approve reduced -------------------------------------------------------------------------------


def approve_url(w: World) -> str:
    return f"/quality/scorecard/{w.supplier_a.id}/skus/{w.sku.id}/approve-reduced"


def resume_url(w: World) -> str:
    return f"/quality/scorecard/{w.supplier_a.id}/skus/{w.sku.id}/resume"


def test_quality_approver_approves_reduced_inspection(make_client: ClientFactory, world: World) -> None:
    row = make_switching(
        world.session,
        supplier=world.supplier_a,
        sku=world.sku,
        severity=SwitchingSeverity.NORMAL,
        switching_score=30,
    )
    client = logged_in(make_client, world.quality_approver)
    page = client.get(f"/quality/scorecard/{world.supplier_a.id}").text
    assert 'data-testid="approve-reduced"' in page
    assert f'name="version" value="{row.version}"' in page

    response = form_post(client, approve_url(world), {"form_key": "k" * 32, "version": row.version})

    assert response.status_code == 303
    assert response.headers["location"] == f"/quality/scorecard/{world.supplier_a.id}"
    assert switching(world.session, row).reduced_approved
    assert event_count(world.session) == 1
    page = client.get(response.headers["location"])
    assert "Reduced inspection approved for" in page.text
    assert cell(page.text, f"switching-{world.sku.id}", "reduced-approved") == "Yes"


def test_second_approval_is_refused_with_a_message_and_changes_nothing(
    make_client: ClientFactory, world: World
) -> None:
    row = make_switching(
        world.session,
        supplier=world.supplier_a,
        sku=world.sku,
        severity=SwitchingSeverity.NORMAL,
        reduced_approved=True,
    )
    client = logged_in(make_client, world.quality_approver)

    response = form_post(client, approve_url(world), {"version": row.version})

    assert response.status_code == 400
    assert "Reduced inspection is already approved for this SKU." in response.text
    assert event_count(world.session) == 0


def page_version(html: str) -> int:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no version in the approval form"
    return int(found.group(1))


def record_lot(w: World, verdict: InspectionVerdict) -> None:
    """A lot result comes in through the one path the inspection activity uses."""
    lot = make_lot(
        w.session, supplier=w.supplier_a, verdict=verdict, sku_id=w.sku.id, location_id=w.location.id
    )
    apply_lot(w.session, lot)
    w.session.commit()


def test_approval_from_a_page_drawn_before_a_lot_result_is_refused_with_the_new_figures(
    make_client: ClientFactory, world: World
) -> None:
    row = make_switching(
        world.session,
        supplier=world.supplier_a,
        sku=world.sku,
        severity=SwitchingSeverity.NORMAL,
        switching_score=32,
    )
    client = logged_in(make_client, world.quality_approver)
    drawn_at = page_version(client.get(f"/quality/scorecard/{world.supplier_a.id}").text)
    record_lot(world, InspectionVerdict.REJECTED)  # the score HQ looked at is gone

    response = form_post(client, approve_url(world), {"form_key": "a" * 32, "version": drawn_at})

    assert response.status_code == 409
    assert (
        "A lot result for this SKU was recorded while the page was open: inspection is normal with a "
        "switching score of 0 now. Check the figures and decide again."
    ) in response.text
    assert cell(response.text, f"switching-{world.sku.id}", "switching-score") == "0"
    assert not switching(world.session, row).reduced_approved
    assert event_count(world.session) == 0

    # Deciding again on the page that came back applies.
    again = form_post(
        client, approve_url(world), {"form_key": "b" * 32, "version": page_version(response.text)}
    )
    assert again.status_code == 303
    assert switching(world.session, row).reduced_approved


def test_a_double_submitted_approval_gets_the_first_answer(make_client: ClientFactory, world: World) -> None:
    row = make_switching(
        world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.NORMAL
    )
    client = logged_in(make_client, world.quality_approver)
    seen = row.version
    form = {"form_key": "d" * 32, "version": seen}

    first, second = form_post(client, approve_url(world), form), form_post(client, approve_url(world), form)

    assert (first.status_code, second.status_code) == (303, 303)
    assert event_count(world.session) == 1
    assert switching(world.session, row).version == seen + 1  # one write


def test_approval_needs_normal_inspection(make_client: ClientFactory, world: World) -> None:
    row = make_switching(
        world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.TIGHTENED
    )
    client = logged_in(make_client, world.quality_approver)

    response = form_post(client, approve_url(world), {"version": row.version})

    assert response.status_code == 400
    assert "only be approved while inspection is normal; it is tightened now." in response.text
    assert not switching(world.session, row).reduced_approved


@pytest.mark.parametrize("who", ["inspector", "supplier_a_user"])
def test_only_quality_approvers_and_admins_may_change_switching(
    make_client: ClientFactory, world: World, who: str
) -> None:
    row = make_switching(
        world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.NORMAL
    )
    client = logged_in(make_client, getattr(world, who))

    assert 'data-testid="approve-reduced"' not in client.get(f"/quality/scorecard/{world.supplier_a.id}").text
    assert form_post(client, approve_url(world)).status_code == 403
    assert not switching(world.session, row).reduced_approved


def test_switching_of_an_sku_without_state_is_404(make_client: ClientFactory, world: World) -> None:
    client = logged_in(make_client, world.quality_approver)
    assert form_post(client, approve_url(world)).status_code == 404
    assert form_post(client, resume_url(world), {"note": "8D"}).status_code == 404


def test_post_without_csrf_token_is_refused(make_client: ClientFactory, world: World) -> None:
    row = make_switching(
        world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.NORMAL
    )
    client = logged_in(make_client, world.quality_approver)

    response = client.post(approve_url(world), data={}, follow_redirects=False)

    assert response.status_code == 403
    assert not switching(world.session, row).reduced_approved


# --- resume after corrective action ------------------------------------------------------------------


def test_resume_after_corrective_action_restarts_tightened(make_client: ClientFactory, world: World) -> None:
    row = make_switching(
        world.session,
        supplier=world.supplier_a,
        sku=world.sku,
        severity=SwitchingSeverity.DISCONTINUED,
        rejected_on_tightened=5,
    )
    client = logged_in(make_client, world.quality_approver)
    assert 'data-testid="resume"' in client.get(f"/quality/scorecard/{world.supplier_a.id}").text

    response = form_post(client, resume_url(world), {"note": "8D report CA-17 closed"})

    assert response.status_code == 303
    fresh = switching(world.session, row)
    assert (fresh.severity, fresh.rejected_on_tightened) == (SwitchingSeverity.TIGHTENED, 0)
    event = world.session.execute(select(DocumentEvent)).scalars().one()
    assert event.note == "8D report CA-17 closed"
    page = client.get(response.headers["location"])
    assert "resumed on tightened inspection" in page.text
    assert cell(page.text, f"switching-{world.sku.id}", "severity") == "tightened"


def test_resume_without_a_corrective_action_note_is_refused(make_client: ClientFactory, world: World) -> None:
    row = make_switching(
        world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.DISCONTINUED
    )
    client = logged_in(make_client, world.quality_approver)

    response = form_post(client, resume_url(world), {"note": "   "})

    assert response.status_code == 400
    assert 'data-testid="error-note">Describe the supplier&#39;s corrective action.<' in response.text
    assert switching(world.session, row).severity is SwitchingSeverity.DISCONTINUED
    assert event_count(world.session) == 0


def test_resume_of_an_inspection_that_is_not_discontinued_is_refused(
    make_client: ClientFactory, world: World
) -> None:
    make_switching(world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.NORMAL)
    client = logged_in(make_client, world.quality_approver)

    response = form_post(client, resume_url(world), {"note": "8D"})

    assert response.status_code == 400
    assert "Only a discontinued inspection can be resumed; it is normal now." in response.text
    assert event_count(world.session) == 0


def test_resume_applies_to_the_standing_as_it_is_when_hq_clicks(
    make_client: ClientFactory, world: World
) -> None:
    row = make_switching(
        world.session,
        supplier=world.supplier_a,
        sku=world.sku,
        severity=SwitchingSeverity.DISCONTINUED,
        rejected_on_tightened=5,
        lots_inspected=7,
    )
    client = logged_in(make_client, world.quality_approver)
    assert 'data-testid="resume"' in client.get(f"/quality/scorecard/{world.supplier_a.id}").text
    record_lot(world, InspectionVerdict.REJECTED)  # held for HQ's decision; the standing stays discontinued

    response = form_post(client, resume_url(world), {"note": "8D report CA-17 closed"})

    assert response.status_code == 303
    fresh = switching(world.session, row)
    assert (fresh.severity, fresh.rejected_on_tightened) == (SwitchingSeverity.TIGHTENED, 0)
    assert fresh.lots_inspected == 8  # the lot that came in meanwhile is still counted


def test_admin_may_resume_too(make_client: ClientFactory, world: World) -> None:
    hq = world.session.get(User, world.quality_approver.id).organisation_id
    admin = make_user(
        world.session,
        organisation=world.session.get(Organisation, hq),
        roles=[Role.ADMIN],
        locale="en",
    )
    row = make_switching(
        world.session, supplier=world.supplier_a, sku=world.sku, severity=SwitchingSeverity.DISCONTINUED
    )
    client = logged_in(make_client, admin)

    assert form_post(client, resume_url(world), {"note": "new supplier process audited"}).status_code == 303
    assert switching(world.session, row).severity is SwitchingSeverity.TIGHTENED
