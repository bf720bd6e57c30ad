"""Inspection photos: only PNG and JPEG by content, within the size limit, stored under a random name
in UPLOAD_DIR/inspection-photos with a row in InspectionPhoto; a refused file leaves nothing."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from supplychain import inspection_photos
from supplychain.certificates import TOO_LARGE, UploadRefused
from supplychain.models import (
    Disposition,
    Inspection,
    InspectionPhoto,
    InspectionSeverity,
    InspectionStage,
    InspectionVerdict,
    LocationKind,
    Organisation,
    OrgKind,
    Role,
    User,
)
from supplychain.models.base import utcnow
from supplychain.settings import settings
from tests.factories import make_location, make_organisation, make_sku, make_user, unique_code
from tests.test_certificates import EXE, JPEG, PDF, PNG

LOT_SIZE = 500


@pytest.fixture(autouse=True)
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "uploads"
    monkeypatch.setattr(settings, "UPLOAD_DIR", directory)
    return directory


def make_inspection(
    session: Session,
    *,
    supplier: Organisation,
    stage: InspectionStage = InspectionStage.AWAITING_INSPECTION,
    verdict: InspectionVerdict = InspectionVerdict.PENDING,
    disposition: Disposition | None = None,
    price_deduction_percent: Decimal | None = None,
    hold_reason: str = "",
    lot_no: int = 1,
    batch_no: str = "",
    expiry_date: date | None = None,
    sku_id: int | None = None,
    location_id: int | None = None,
) -> Inspection:
    """An inspection row as the workflow's activities write it: 500 units, level II, normal (code
    letter H, sample 50). A decided verdict carries counts and quantities that satisfy the CHECKs."""
    if sku_id is None:
        sku_id = make_sku(session).id
    if location_id is None:
        hq = make_organisation(session, kind=OrgKind.HQ)
        location_id = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE).id
    assert supplier.id and sku_id and location_id
    suffix = unique_code("X")
    decided = verdict is not InspectionVerdict.PENDING
    rejected = verdict is InspectionVerdict.REJECTED
    row = Inspection(
        number=unique_code("INS"),
        workflow_id=f"inspection-test-{suffix}",
        po_number=f"PO-T-{suffix}",
        shipment_number=f"SHP-T-{suffix}",
        line_no=1,
        lot_no=lot_no,
        batch_no=batch_no,
        expiry_date=expiry_date,
        sku_id=sku_id,
        supplier_id=supplier.id,
        location_id=location_id,
        lot_size=LOT_SIZE,
        inspection_level="II",
        severity=InspectionSeverity.NORMAL,
        aql_critical="0",
        aql_major="2.5",
        aql_minor="4.0",
        code_letter="H",
        sample_size=50,
        critical_sample_size=50,
        critical_accept=0,
        critical_reject=1,
        major_sample_size=50,
        major_accept=3,
        major_reject=4,
        minor_sample_size=50,
        minor_accept=5,
        minor_reject=6,
        critical_defects=0 if decided else None,
        major_defects=(4 if rejected else 0) if decided else None,
        minor_defects=0 if decided else None,
        verdict=verdict,
        accepted_quantity=(0 if rejected else LOT_SIZE) if decided else None,
        rejected_quantity=(LOT_SIZE if rejected else 0) if decided else None,
        decided_at=utcnow() if decided else None,
        stage=stage,
        disposition=disposition,
        price_deduction_percent=price_deduction_percent,
        hold_reason=hold_reason,
        unit_price=Decimal("12.5000"),
        tax_rate=Decimal("0.1300"),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_inspector(session: Session) -> User:
    hq = make_organisation(session, kind=OrgKind.HQ)
    return make_user(session, organisation=hq, roles=[Role.INSPECTOR], locale="en")


def photo_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(InspectionPhoto)).scalar_one())


def stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.mark.parametrize(("content", "content_type"), [(PNG, "image/png"), (JPEG, "image/jpeg")])
def test_png_and_jpeg_are_stored_under_a_random_name_in_the_photo_directory(
    session: Session, upload_dir: Path, content: bytes, content_type: str
) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    inspection = make_inspection(session, supplier=supplier)
    inspector = make_inspector(session)
    assert inspection.id and inspector.id

    received = inspection_photos.receive_photo(io.BytesIO(content))
    photo = inspection_photos.add_photo(
        session,
        received=received,
        inspection_id=inspection.id,
        original_filename="../../etc/scratch.jpg",
        caption="scratch on the housing",
        uploaded_by_user_id=inspector.id,
    )
    assert photo.content_type == content_type and photo.size_bytes == len(content)
    path = inspection_photos.stored_path(photo.stored_name)
    assert path.parent == upload_dir / "inspection-photos"
    assert path.read_bytes() == content
    assert stored_files(upload_dir) == [path]  # no temporary file left behind
    assert inspection_photos.photos_of(session, inspection.id) == [photo]


@pytest.mark.parametrize("content", [PDF, EXE, b"just some text, renamed to photo.jpg"])
def test_anything_but_png_or_jpeg_is_refused_as_not_a_photo_and_nothing_is_left(
    upload_dir: Path, content: bytes
) -> None:
    with pytest.raises(UploadRefused) as refused:
        inspection_photos.receive_photo(io.BytesIO(content))
    assert refused.value.message == inspection_photos.NOT_A_PHOTO
    assert stored_files(upload_dir) == []


def test_photo_over_the_size_limit_is_refused_and_nothing_is_left(
    upload_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "CERTIFICATE_MAX_BYTES", 100)
    with pytest.raises(UploadRefused) as refused:
        inspection_photos.receive_photo(io.BytesIO(PNG))
    assert refused.value.message == TOO_LARGE and refused.value.params == {"limit": "100 B"}
    assert stored_files(upload_dir) == []


@pytest.mark.parametrize("name", ["../secret", "0" * 31, "A" * 32, "0" * 32 + "/x"])
def test_only_generated_names_map_to_files(name: str) -> None:
    with pytest.raises(ValueError):
        inspection_photos.stored_path(name)


def test_download_name_has_no_path_and_ends_in_the_real_extension() -> None:
    photo = InspectionPhoto(
        inspection_id=1,
        original_filename='..\\..\\evil"name.pdf',
        stored_name="0" * 32,
        content_type="image/jpeg",
        size_bytes=1,
        sha256="0" * 64,
        uploaded_by_user_id=1,
    )
    assert inspection_photos.download_name(photo) == "evilname.jpg"
