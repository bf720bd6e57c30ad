"""Certificate pages: a supplier uploads PDF/PNG/JPEG certificates for its own SKUs and shipments; bad
uploads are refused beside the field and store nothing; files are served, as attachments, only to
the owning supplier and HQ's quality roles; everyone else gets a 404 (or a 403 on the lists)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import CertificateType, LocationKind, OrgKind, QualityCertificate, Role, User
from supplychain.settings import PROJECT_ROOT, settings
from tests.factories import make_location, make_organisation, make_sku, make_user
from tests.fixtures.web import ClientFactory, csrf, login
from tests.test_certificates import (
    EXE,
    JPEG_IMAGE,
    PDF,
    PDF_HEADED_HTML,
    PNG,
    PNG_IMAGE,
    Supplier,
    add_certificate_row,
    make_shipment,
    make_supplier,
)

ISSUED = date(2026, 1, 10)
EXPIRES = date(2027, 1, 9)


@pytest.fixture(autouse=True)
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "uploads"
    monkeypatch.setattr(settings, "UPLOAD_DIR", directory)
    return directory


def as_user(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def hq_user(session: Session, role: Role) -> User:
    org = make_organisation(session, kind=OrgKind.HQ)
    location = (
        make_location(session, organisation=org, kind=LocationKind.STORE) if role is Role.STORE else None
    )
    return make_user(session, organisation=org, roles=[role], location=location, locale="en")


def upload(
    client: TestClient,
    *,
    content: bytes = PDF,
    filename: str = "coa.pdf",
    browser_type: str = "application/pdf",
    **fields: Any,
) -> httpx.Response:
    data = {
        "certificate_type": "coa",
        "number": "COA-2026-001",
        "issued_on": ISSUED.isoformat(),
        "expires_on": EXPIRES.isoformat(),
        "csrf_token": csrf(client),
        **{k: str(v) for k, v in fields.items()},
    }
    response: httpx.Response = client.post(
        "/supplier/certificates",
        data=data,
        files={"file": (filename, content, browser_type)},
        follow_redirects=False,
    )
    return response


def stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def certificate_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(QualityCertificate)).scalar_one())


def only_certificate(session: Session) -> QualityCertificate:
    session.expire_all()
    certificate: QualityCertificate = session.execute(select(QualityCertificate)).scalar_one()
    return certificate


# -- uploading -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (PDF, "coa.pdf", "application/pdf"),
        (PNG_IMAGE, "scan.png", "image/png"),
        (JPEG_IMAGE, "photo.jpeg", "image/jpeg"),
    ],
)
def test_good_upload_is_stored_outside_the_web_root_and_downloadable_by_owner_and_hq(
    make_client: ClientFactory,
    session: Session,
    upload_dir: Path,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = upload(
        client,
        content=content,
        filename=filename,
        browser_type="application/octet-stream",
        sku_id=supplier.sku.id,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/supplier/certificates"
    page = client.get("/supplier/certificates")
    assert "COA-2026-001" in page.text and "uploaded" in page.text

    cert = only_certificate(session)
    assert (cert.supplier_id, cert.sku_id, cert.shipment_id) == (supplier.org.id, supplier.sku.id, None)
    assert (cert.content_type, cert.size_bytes, cert.original_filename) == (
        content_type,
        len(content),
        filename,
    )
    assert (cert.issued_on, cert.expires_on, cert.uploaded_by_user_id) == (ISSUED, EXPIRES, supplier.user.id)
    [stored] = stored_files(upload_dir)
    assert stored.name == cert.stored_name and filename not in stored.name
    assert stored.read_bytes() == content
    assert not stored.resolve().is_relative_to(PROJECT_ROOT / "web")
    assert client.get(f"/static/{cert.stored_name}").status_code == 404

    for viewer in (client, as_user(make_client, hq_user(session, Role.INSPECTOR))):
        file = viewer.get(f"/certificates/files/{cert.public_id}")
        assert file.status_code == 200
        assert file.content == content
        assert file.headers["content-type"] == content_type
        assert file.headers["content-disposition"].startswith("attachment;")
        assert file.headers["x-content-type-options"] == "nosniff"
        csp = [d.strip() for d in file.headers["content-security-policy"].split(";")]
        assert "sandbox" in csp and "default-src 'none'" in csp
        assert viewer.get(f"/certificates/{cert.id}").status_code == 200


def test_certificate_for_own_shipment_is_accepted(make_client: ClientFactory, session: Session) -> None:
    supplier = make_supplier(session)
    shipment = make_shipment(session, supplier.org)
    client = as_user(make_client, supplier.user)
    response = upload(client, shipment_id=shipment.id, certificate_type="health")
    assert response.status_code == 303, response.text
    cert = only_certificate(session)
    assert (cert.sku_id, cert.shipment_id, cert.certificate_type) == (
        None,
        shipment.id,
        CertificateType.HEALTH,
    )


def assert_refused(
    response: httpx.Response, field: str, message: str, session: Session, upload_dir: Path
) -> None:
    assert response.status_code == 400, response.text
    assert f'data-testid="error-{field}">{message}' in response.text
    assert certificate_count(session) == 0
    assert stored_files(upload_dir) == []


@pytest.mark.parametrize(
    ("content", "filename"),
    [(EXE, "invoice.pdf"), (b"just some text\n" * 20, "report.pdf"), (EXE, "photo.png")],
)
def test_wrong_type_renamed_to_pdf_is_refused_beside_the_file_field(
    make_client: ClientFactory, session: Session, upload_dir: Path, content: bytes, filename: str
) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = upload(client, content=content, filename=filename, sku_id=supplier.sku.id)
    message = "Only PDF, PNG or JPEG files are accepted; this file&#39;s content is none of them."
    assert_refused(response, "file", message, session, upload_dir)
    assert 'value="COA-2026-001"' in response.text  # the form keeps what was typed


@pytest.mark.parametrize(
    ("content", "reason", "message"),
    [
        (PDF_HEADED_HTML, "not_a_pdf", "This file starts like a PDF but is not a complete PDF document."),
        (
            PNG,
            "unreadable",
            "This image cannot be read: the file is damaged or not a complete PNG or JPEG image.",
        ),
    ],
)
def test_a_file_that_is_not_what_its_signature_says_is_refused_and_logged(
    make_client: ClientFactory,
    session: Session,
    upload_dir: Path,
    security_events: list[dict[str, Any]],
    content: bytes,
    reason: str,
    message: str,
) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = upload(client, content=content, sku_id=supplier.sku.id)
    assert_refused(response, "file", message, session, upload_dir)
    [event] = [e for e in security_events if e["event"] == "upload_refused"]
    assert (event["outcome"], event["upload"], event["reason"]) == ("refused", "certificate", reason)
    assert event["user_id"] == supplier.user.id and event["path"] == "/supplier/certificates"
    assert "alert" not in str(event)  # never the file's content


def test_oversized_file_is_refused(
    make_client: ClientFactory, session: Session, upload_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "CERTIFICATE_MAX_BYTES", 2048)
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = upload(client, content=PDF + b"x" * 5000, sku_id=supplier.sku.id)
    assert_refused(response, "file", "The file is larger than the limit of 2 KB.", session, upload_dir)
    assert upload(client, content=PDF, sku_id=supplier.sku.id).status_code == 303  # under the limit: fine


def test_empty_file_is_refused(make_client: ClientFactory, session: Session, upload_dir: Path) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = upload(client, content=b"", sku_id=supplier.sku.id)
    assert_refused(response, "file", "The file is empty.", session, upload_dir)


def test_expiry_before_issue_is_refused(
    make_client: ClientFactory, session: Session, upload_dir: Path
) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = upload(client, sku_id=supplier.sku.id, expires_on=(ISSUED - timedelta(days=1)).isoformat())
    message = "The expiry date cannot be before the issue date."
    assert_refused(response, "expires_on", message, session, upload_dir)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "sku_id", "Choose the SKU or the shipment the certificate covers."),
        ({"certificate_type": "passport"}, "certificate_type", "Choose the kind of certificate."),
        ({"number": "  "}, "number", "Enter the certificate number."),
        ({"issued_on": "yesterday"}, "issued_on", "Enter the issue date."),
    ],
)
def test_bad_fields_are_refused_beside_the_field(
    make_client: ClientFactory,
    session: Session,
    upload_dir: Path,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    sku = {} if field == "sku_id" else {"sku_id": supplier.sku.id}
    assert_refused(upload(client, **sku, **fields), field, message, session, upload_dir)


def test_sku_the_supplier_does_not_supply_and_another_suppliers_shipment_are_refused(
    make_client: ClientFactory, session: Session, upload_dir: Path
) -> None:
    supplier = make_supplier(session)
    other = make_supplier(session)
    not_supplied = make_sku(session)
    client = as_user(make_client, supplier.user)
    for sku_id in (not_supplied.id, other.sku.id, "abc"):
        response = upload(client, sku_id=sku_id)
        assert_refused(response, "sku_id", "Choose one of the SKUs you supply.", session, upload_dir)
    response = upload(client, shipment_id=make_shipment(session, other.org).id)
    assert_refused(response, "shipment_id", "Choose one of your shipments.", session, upload_dir)


def test_upload_without_csrf_token_is_forbidden(make_client: ClientFactory, session: Session) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    response = client.post(
        "/supplier/certificates",
        data={"certificate_type": "coa", "sku_id": str(supplier.sku.id)},
        files={"file": ("coa.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 403
    assert certificate_count(session) == 0


@pytest.mark.parametrize("role", [Role.BUYER, Role.STORE])
def test_hq_users_cannot_upload(make_client: ClientFactory, session: Session, role: Role) -> None:
    client = as_user(make_client, hq_user(session, role))
    assert client.get("/supplier/certificates").status_code == 403
    assert upload(client, sku_id=make_supplier(session).sku.id).status_code == 403
    assert certificate_count(session) == 0


# -- who sees what ---------------------------------------------------------------------------------------


def seeded(session: Session) -> tuple[Supplier, QualityCertificate, Path]:
    """A certificate row with its file in place."""
    supplier = make_supplier(session)
    cert = add_certificate_row(session, supplier)
    path = Path(str(settings.UPLOAD_DIR)) / "certificates" / cert.stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF)
    return supplier, cert, path


def test_another_suppliers_certificate_by_url_is_not_found(
    make_client: ClientFactory, session: Session
) -> None:
    _, cert, _ = seeded(session)
    client = as_user(make_client, make_supplier(session).user)
    assert client.get(f"/certificates/{cert.id}").status_code == 404
    assert client.get(f"/certificates/files/{cert.public_id}").status_code == 404
    assert cert.number not in client.get("/supplier/certificates").text
    assert client.get("/certificates/files/" + "0" * 32).status_code == 404


@pytest.mark.parametrize("kind", ["distributor", "store", "finance"])
def test_distributors_stores_and_finance_cannot_see_certificates(
    make_client: ClientFactory, session: Session, kind: str
) -> None:
    _, cert, _ = seeded(session)
    if kind == "distributor":
        org = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
        user = make_user(session, organisation=org, roles=[Role.STORE], locale="en")
    else:
        user = hq_user(session, Role.STORE if kind == "store" else Role.FINANCE)
    client = as_user(make_client, user)
    assert client.get(f"/certificates/{cert.id}").status_code == 404
    assert client.get(f"/certificates/files/{cert.public_id}").status_code == 404
    assert client.get("/certificates").status_code == 403
    assert client.get("/supplier/certificates").status_code == 403


@pytest.mark.parametrize("role", [Role.BUYER, Role.INSPECTOR, Role.APPROVER, Role.ADMIN, Role.WAREHOUSE])
def test_hq_quality_roles_see_every_suppliers_certificates(
    make_client: ClientFactory, session: Session, role: Role
) -> None:
    _, cert, _ = seeded(session)
    client = as_user(make_client, hq_user(session, role))
    assert cert.number in client.get("/certificates").text
    assert client.get(f"/certificates/files/{cert.public_id}").content == PDF


def test_missing_file_on_disk_is_not_found(make_client: ClientFactory, session: Session) -> None:
    supplier, cert, path = seeded(session)
    path.unlink()
    assert as_user(make_client, supplier.user).get(f"/certificates/files/{cert.public_id}").status_code == 404


def test_download_name_is_sanitised(make_client: ClientFactory, session: Session) -> None:
    supplier, cert, _ = seeded(session)
    cert.original_filename = '..\\..\\evil"\r\nX-Injected: 1.exe'
    session.add(cert)
    session.commit()
    response = as_user(make_client, supplier.user).get(f"/certificates/files/{cert.public_id}")
    assert response.headers["content-disposition"] == "attachment; filename*=utf-8''evilX-Injected%201.pdf"
    assert "x-injected" not in response.headers


def test_hq_list_filters_by_supplier_sku_and_expiry(make_client: ClientFactory, session: Session) -> None:
    first = make_supplier(session)
    second = make_supplier(session)
    today = date.today()
    soon = add_certificate_row(session, first, expires_on=today + timedelta(days=10))
    later = add_certificate_row(session, first, expires_on=today + timedelta(days=400))
    expired = add_certificate_row(
        session, second, issued_on=today - timedelta(days=400), expires_on=today - timedelta(days=1)
    )
    client = as_user(make_client, hq_user(session, Role.BUYER))

    def listed(query: str) -> set[str]:
        html = client.get(f"/certificates?{query}").text
        return {c.number for c in (soon, later, expired) if c.number in html}

    assert listed("") == {soon.number, later.number, expired.number}
    assert listed(f"supplier={first.org.id}") == {soon.number, later.number}
    assert listed(f"q={second.sku.code}") == {expired.number}
    assert listed("expiring=1") == {soon.number, expired.number}
    fragment = client.get("/certificates?expiring=1", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results">') and "<html" not in fragment.text


@pytest.mark.parametrize("wildcard", ["%", "_", "%%"])
def test_hq_certificate_search_takes_like_wildcards_literally(
    make_client: ClientFactory, session: Session, wildcard: str
) -> None:
    certificate = add_certificate_row(session, make_supplier(session))
    client = as_user(make_client, hq_user(session, Role.BUYER))
    assert certificate.number in client.get("/certificates").text
    assert certificate.number not in client.get("/certificates", params={"q": wildcard}).text


def test_certificate_files_are_addressed_by_an_unguessable_id_not_the_row_id(
    make_client: ClientFactory, session: Session, upload_dir: Path
) -> None:
    supplier = make_supplier(session)
    client = as_user(make_client, supplier.user)
    for number in ("COA-1", "COA-2"):
        assert upload(client, number=number, sku_id=supplier.sku.id).status_code == 303
    first, second = session.execute(select(QualityCertificate).order_by(QualityCertificate.id)).scalars()
    links = re.findall(r'href="(/certificates/files/[^"]+)"', client.get("/supplier/certificates").text)
    assert sorted(links) == sorted(f"/certificates/files/{c.public_id}" for c in (first, second))
    assert all(re.fullmatch(r"[0-9a-f]{32}", c.public_id) for c in (first, second))
    assert first.public_id != second.public_id
    assert client.get(f"/certificates/files/{first.public_id}").content == PDF
    assert client.get(f"/certificates/{first.id}/file").status_code == 404  # the row id reaches no file
