"""Inspection photos through HTTP: the inspector adds PNG/JPEG photos while the lot is awaiting
inspection or sorting; anything else (including a file that does not decode, or a decompression
bomb) is refused beside the form and stores nothing; a photo and its thumbnail are served only to
users who may see its inspection (another supplier gets a 404); the page shows the thumbnail."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain import inspection_photos
from supplychain.models import (
    Inspection,
    InspectionPhoto,
    InspectionStage,
    InspectionVerdict,
    LocationKind,
    Organisation,
    OrgKind,
    Role,
    User,
)
from supplychain.settings import settings
from tests.factories import make_location, make_organisation, make_sku, make_user
from tests.fixtures.web import ClientFactory, csrf, login
from tests.test_certificates import PDF
from tests.test_certificates import PNG as PNG_HEADER_ONLY
from tests.test_inspection_photos import bomb_png, image_bytes, make_inspection, phone_jpeg

NOT_A_PHOTO = "Only PNG or JPEG photos are accepted; this file's content is neither."
UNREADABLE = "This photo cannot be read: the file is damaged or not a complete PNG or JPEG image."
TOO_MANY_PIXELS = "This photo has too many pixels to be processed (at most 89.5 megapixels)."
JPEG = image_bytes("JPEG", (1000, 600))
PNG = image_bytes("PNG", (400, 300))


@pytest.fixture(autouse=True)
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "uploads"
    monkeypatch.setattr(settings, "UPLOAD_DIR", directory)
    return directory


@dataclass
class World:
    inspector: User
    approver: User
    store: User
    supplier_a: User
    supplier_b: User
    org_a: Organisation
    org_b: Organisation
    sku_id: int
    location_id: int


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    org_a = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Alpha")
    org_b = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Beta")
    sku = make_sku(session)
    assert sku.id and warehouse.id
    return World(
        inspector=make_user(session, organisation=hq, roles=[Role.INSPECTOR], locale="en"),
        approver=make_user(session, organisation=hq, roles=[Role.APPROVER], locale="en"),
        store=make_user(session, organisation=hq, roles=[Role.STORE], location=store, locale="en"),
        supplier_a=make_user(session, organisation=org_a, roles=[Role.SUPPLIER], locale="en"),
        supplier_b=make_user(session, organisation=org_b, roles=[Role.SUPPLIER], locale="en"),
        org_a=org_a,
        org_b=org_b,
        sku_id=sku.id,
        location_id=warehouse.id,
    )


def lot(
    session: Session,
    world: World,
    org: Organisation,
    stage: InspectionStage = InspectionStage.AWAITING_INSPECTION,
) -> Inspection:
    verdict = (
        InspectionVerdict.PENDING
        if stage is InspectionStage.AWAITING_INSPECTION
        else InspectionVerdict.REJECTED
    )
    return make_inspection(
        session,
        supplier=org,
        stage=stage,
        verdict=verdict,
        sku_id=world.sku_id,
        location_id=world.location_id,
    )


def as_user(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def upload(
    client: TestClient,
    row: Inspection,
    content: bytes,
    filename: str = "scratch.jpg",
    browser_type: str = "image/jpeg",
    caption: str = "scratch on the housing",
) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/inspections/{row.number}/photos",
        data={"caption": caption, "csrf_token": csrf(client)},
        files={"file": (filename, content, browser_type)},
        follow_redirects=False,
    )
    return response


def photo_error(response: httpx.Response) -> str:
    found = re.search(r'data-testid="photo-error">([^<]*)<', response.text)
    return html.unescape(found.group(1)) if found else ""


def photos(session: Session) -> list[InspectionPhoto]:
    session.expire_all()
    return list(session.execute(select(InspectionPhoto).order_by(col(InspectionPhoto.id))).scalars())


def stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.mark.parametrize(
    ("stage", "content", "content_type"),
    [
        (InspectionStage.AWAITING_INSPECTION, JPEG, "image/jpeg"),
        (InspectionStage.SORTING, PNG, "image/png"),
    ],
)
def test_inspector_adds_a_photo_stored_outside_the_web_root_and_shown_as_a_thumbnail(
    make_client: ClientFactory,
    session: Session,
    world: World,
    upload_dir: Path,
    stage: InspectionStage,
    content: bytes,
    content_type: str,
) -> None:
    row = lot(session, world, world.org_a, stage)
    client = as_user(make_client, world.inspector)
    assert 'data-testid="photo-form"' in client.get(f"/inspections/{row.number}").text

    response = upload(client, row, content, browser_type="application/octet-stream")
    assert response.status_code == 303
    assert response.headers["location"] == f"/inspections/{row.number}#photos"
    [photo] = photos(session)
    stored = upload_dir / "inspection-photos" / photo.stored_name
    assert (photo.inspection_id, photo.content_type) == (row.id, content_type)
    assert photo.size_bytes == stored.stat().st_size
    assert photo.caption == "scratch on the housing" and photo.uploaded_by_user_id == world.inspector.id
    assert stored_files(upload_dir) == [stored, stored.with_name(photo.stored_name + ".thumb")]
    assert photo.stored_name not in photo.original_filename

    page = client.get(f"/inspections/{row.number}")
    assert "Photo added." in page.text
    url = f"/inspections/{row.number}/photos/{photo.public_id}"
    # The page loads the thumbnail; its link opens the full photo.
    assert f'<a href="{url}" target="_blank" rel="noopener">' in page.text
    assert f'<img src="{url}/thumbnail"' in page.text
    assert f'<img src="{url}"' not in page.text
    # Addressed by a random public id, not by the row id that counts up.
    assert re.fullmatch(r"[0-9a-f]{32}", photo.public_id)
    for by_row_id in (
        f"/inspections/{row.number}/photos/{photo.id}",
        f"/inspections/{row.number}/photos/{photo.id}/thumbnail",
    ):
        assert client.get(by_row_id).status_code == 404


@pytest.mark.parametrize(
    ("content", "filename", "browser_type"),
    [
        (b"just some text, renamed", "defect.jpg", "image/jpeg"),
        (b"just some text, renamed", "defect.pdf", "application/pdf"),
        (PDF, "report.jpg", "image/jpeg"),  # a real PDF is a certificate, not a photo
    ],
)
def test_a_file_that_is_not_png_or_jpeg_is_refused_with_a_message_and_nothing_is_stored(
    make_client: ClientFactory,
    session: Session,
    world: World,
    upload_dir: Path,
    content: bytes,
    filename: str,
    browser_type: str,
) -> None:
    row = lot(session, world, world.org_a)
    client = as_user(make_client, world.inspector)
    response = upload(client, row, content, filename=filename, browser_type=browser_type)
    assert response.status_code == 400
    assert photo_error(response) == NOT_A_PHOTO
    assert 'data-testid="photo-form"' in response.text and 'value="scratch on the housing"' in response.text
    assert photos(session) == [] and stored_files(upload_dir) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (PNG_HEADER_ONLY, UNREADABLE),  # a PNG signature followed by zeros
        (PNG[: len(PNG) // 2], UNREADABLE),  # cut off halfway
        (bomb_png((14_000, 14_000)), TOO_MANY_PIXELS),  # 196 million pixels in a few kilobytes
    ],
    ids=["png-header-only", "truncated-png", "decompression-bomb"],
)
def test_a_photo_that_does_not_decode_or_is_a_bomb_is_refused_with_a_message_and_nothing_is_stored(
    make_client: ClientFactory,
    session: Session,
    world: World,
    upload_dir: Path,
    content: bytes,
    message: str,
) -> None:
    row = lot(session, world, world.org_a)
    client = as_user(make_client, world.inspector)
    response = upload(client, row, content, filename="defect.png", browser_type="image/png")
    assert response.status_code == 400
    assert photo_error(response) == message
    assert 'data-testid="photo-form"' in response.text and 'value="scratch on the housing"' in response.text
    assert photos(session) == [] and stored_files(upload_dir) == []


def test_a_refused_photo_writes_an_upload_refused_event_with_the_reason(
    make_client: ClientFactory,
    session: Session,
    world: World,
    upload_dir: Path,
    security_events: list[dict[str, Any]],
) -> None:
    row = lot(session, world, world.org_a)
    client = as_user(make_client, world.inspector)
    assert upload(client, row, PNG_HEADER_ONLY, filename="defect.png").status_code == 400
    assert upload(client, row, PDF, filename="defect.pdf").status_code == 400
    refused = [e for e in security_events if e["event"] == "upload_refused"]
    assert [(e["upload"], e["reason"], e["outcome"]) for e in refused] == [
        ("inspection_photo", "unreadable", "refused"),
        ("inspection_photo", "not_a_photo", "refused"),
    ]
    assert all(e["user_id"] == world.inspector.id for e in refused)


def test_an_oversized_photo_is_refused_at_the_limit_and_nothing_is_stored(
    make_client: ClientFactory,
    session: Session,
    world: World,
    upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "PHOTO_MAX_BYTES", 100)
    row = lot(session, world, world.org_a)
    client = as_user(make_client, world.inspector)
    response = upload(client, row, JPEG + b"\x00" * 100)
    assert response.status_code == 400
    assert photo_error(response) == "The file is larger than the limit of 100 B."
    assert photos(session) == [] and stored_files(upload_dir) == []


def test_no_file_or_a_lot_past_inspection_is_refused_and_nothing_is_stored(
    make_client: ClientFactory, session: Session, world: World, upload_dir: Path
) -> None:
    client = as_user(make_client, world.inspector)
    pending = lot(session, world, world.org_a)
    response = client.post(
        f"/inspections/{pending.number}/photos",
        data={"caption": "", "csrf_token": csrf(client)},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.status_code == 400 and photo_error(response) == "Choose a file to upload."

    decided = lot(session, world, world.org_a, InspectionStage.AWAITING_DECISION)
    assert 'data-testid="photo-form"' not in client.get(f"/inspections/{decided.number}").text
    response = upload(client, decided, JPEG)
    assert response.status_code == 400
    assert photo_error(response) == (
        "Photos can be added only while the lot is awaiting inspection or sorting."
    )
    assert photos(session) == [] and stored_files(upload_dir) == []


def test_only_the_inspector_may_add_photos(
    make_client: ClientFactory, session: Session, world: World, upload_dir: Path
) -> None:
    row = lot(session, world, world.org_a)
    for user in (world.approver, world.supplier_a, world.store):
        client = as_user(make_client, user)
        assert upload(client, row, JPEG).status_code == 403
    assert photos(session) == [] and stored_files(upload_dir) == []


def test_a_phone_photo_is_served_upright_without_its_exif(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    row = lot(session, world, world.org_a)
    assert upload(as_user(make_client, world.inspector), row, phone_jpeg()).status_code == 303
    [photo] = photos(session)
    fetched = as_user(make_client, world.supplier_a).get(
        f"/inspections/{row.number}/photos/{photo.public_id}"
    )
    assert fetched.status_code == 200
    with Image.open(io.BytesIO(fetched.content)) as image:
        assert image.size == (40, 60) and dict(image.getexif()) == {}
    assert b"PhoneMaker" not in fetched.content and b"Shanghai" not in fetched.content


def test_the_owner_supplier_and_hq_fetch_a_photo_another_supplier_gets_404(
    make_client: ClientFactory, session: Session, world: World, upload_dir: Path
) -> None:
    row = lot(session, world, world.org_a)
    other = lot(session, world, world.org_b)
    inspector = as_user(make_client, world.inspector)
    assert upload(inspector, row, JPEG).status_code == 303
    assert upload(inspector, other, PNG).status_code == 303
    photo, other_photo = photos(session)
    url = f"/inspections/{row.number}/photos/{photo.public_id}"
    stored = inspection_photos.stored_path(photo.stored_name).read_bytes()

    for user in (world.inspector, world.approver, world.supplier_a):
        client = as_user(make_client, user)
        for path, size in ((url, (1000, 600)), (f"{url}/thumbnail", (320, 192))):
            fetched = client.get(path)
            assert fetched.status_code == 200, (user.email, path)
            assert fetched.headers["content-type"] == "image/jpeg"
            assert fetched.headers["x-content-type-options"] == "nosniff"
            assert fetched.headers["content-disposition"].startswith("inline")
            assert fetched.headers["cache-control"] == "private, no-store"
            csp = [d.strip() for d in fetched.headers["content-security-policy"].split(";")]
            assert "sandbox" in csp and "default-src 'none'" in csp  # opened alone: no script, own origin
            with Image.open(io.BytesIO(fetched.content)) as image:
                assert (image.format, image.size) == ("JPEG", size), (user.email, path)
        assert client.get(url).content == stored

    owner = as_user(make_client, world.supplier_a)
    assert f'src="{url}/thumbnail"' in owner.get(f"/inspections/{row.number}").text
    assert 'data-testid="photo-form"' not in owner.get(f"/inspections/{row.number}").text
    for suffix in ("", "/thumbnail"):
        # Another supplier's photo: 404 by its own URL and when paired with one's own inspection.
        assert (
            owner.get(f"/inspections/{other.number}/photos/{other_photo.public_id}{suffix}").status_code
            == 404
        )
        assert (
            owner.get(f"/inspections/{row.number}/photos/{other_photo.public_id}{suffix}").status_code == 404
        )

        stranger = as_user(make_client, world.supplier_b)
        assert stranger.get(f"{url}{suffix}").status_code == 404
        assert (
            stranger.get(f"/inspections/{other.number}/photos/{photo.public_id}{suffix}").status_code == 404
        )
        assert as_user(make_client, world.store).get(f"{url}{suffix}").status_code == 403


def test_a_photo_stored_without_a_thumbnail_gets_one_on_first_request_and_a_missing_file_is_404(
    make_client: ClientFactory, session: Session, world: World, upload_dir: Path
) -> None:
    row = lot(session, world, world.org_a)
    assert upload(as_user(make_client, world.inspector), row, PNG).status_code == 303
    [photo] = photos(session)
    url = f"/inspections/{row.number}/photos/{photo.public_id}"
    thumbnail = inspection_photos.thumbnail_path(photo.stored_name)
    thumbnail.unlink()  # as for a photo stored before thumbnails existed
    owner = as_user(make_client, world.supplier_a)
    stranger = as_user(make_client, world.supplier_b)

    assert stranger.get(f"{url}/thumbnail").status_code == 404
    assert not thumbnail.exists()  # nothing is made for someone who may not see it
    fetched = owner.get(f"{url}/thumbnail")
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(fetched.content)) as image:
        assert image.size == (320, 240)
    assert thumbnail.read_bytes() == fetched.content

    inspection_photos.stored_path(photo.stored_name).unlink()
    assert owner.get(url).status_code == 404
    assert owner.get(f"{url}/thumbnail").status_code == 404  # as the photo, even with the thumbnail there
