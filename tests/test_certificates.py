"""Certificate storage and the certificate check inspection relies on: files are judged by content,
refused at the size limit, written atomically under a random name; `certificate_problems` names each
required certificate that is missing or expired."""

from __future__ import annotations

import io
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session

from supplychain.certificates import (
    EMPTY_FILE,
    EXPIRED_MESSAGES,
    MISSING_MESSAGES,
    TOO_LARGE,
    WRONG_TYPE,
    UploadRefused,
    certificate_problems,
    check_pdf,
    receive_certificate,
    receive_upload,
    safe_filename,
    sniff_content_type,
)
from supplychain.models import (
    CertificateType,
    LocationKind,
    Organisation,
    OrgKind,
    POStatus,
    PurchaseOrder,
    QualityCertificate,
    Role,
    Shipment,
    Sku,
    User,
)
from supplychain.settings import settings
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user, unique_code


def minimal_pdf(filler: bytes = b"") -> bytes:
    """A PDF a reader opens (an empty document): header, objects, cross-reference table, trailer."""
    parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
    offsets = []
    for body in (b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>" + filler):
        offsets.append(sum(map(len, parts)))
        parts.append(b"%d 0 obj\n%s\nendobj\n" % (len(offsets), body))
    xref = sum(map(len, parts))
    parts.append(b"xref\n0 3\n0000000000 65535 f \n")
    parts += [b"%010d 00000 n \n" % offset for offset in offsets]
    parts.append(b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return b"".join(parts)


def image_file(kind: str, size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, format=kind)
    return out.getvalue()


PDF = minimal_pdf(b" " * 200)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200  # the signature only: sniffed as PNG, does not decode
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
PNG_IMAGE = image_file("PNG")
JPEG_IMAGE = image_file("JPEG")
# Starts like a PDF, is HTML: a browser that sniffs it would run the script.
PDF_HEADED_HTML = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n"
EXE = b"MZ\x90\x00" + b"\x00" * 200
TODAY = date(2026, 11, 25)

COA = CertificateType.COA
HEALTH = CertificateType.HEALTH


# -- helpers shared with tests/web/test_certificates.py ------------------------------------------------


@dataclass
class Supplier:
    org: Organisation
    user: User
    sku: Sku


def make_supplier(session: Session) -> Supplier:
    org = make_organisation(session, kind=OrgKind.SUPPLIER)
    sku = make_sku(session)
    make_price(session, supplier=org, sku=sku)
    return Supplier(org, make_user(session, organisation=org, roles=[Role.SUPPLIER], locale="en"), sku)


def make_shipment(session: Session, supplier: Organisation) -> Shipment:
    """A purchase order placed with `supplier` and one shipment on it, as the workflow writes them."""
    hq = make_organisation(session, kind=OrgKind.HQ)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    requester = make_user(session, organisation=hq, roles=[Role.STORE], location=store)
    assert supplier.id and requester.id and store.id and warehouse.id
    number = unique_code("PO")
    po = PurchaseOrder(
        number=number,
        workflow_id=number.lower(),
        supplier_id=supplier.id,
        requester_user_id=requester.id,
        requester_org_id=hq.id or 0,
        requested_for_location_id=store.id,
        ship_to_location_id=warehouse.id,
        status=POStatus.IN_DELIVERY,
        sent_at=datetime.now(UTC),
    )
    session.add(po)
    session.flush()
    assert po.id is not None
    shipment = Shipment(
        number=unique_code("ASN"),
        purchase_order_id=po.id,
        carrier="SF",
        tracking_number="SF1",
        eta=TODAY,
        created_by_user_id=requester.id,
    )
    session.add(shipment)
    session.commit()
    session.refresh(shipment)
    return shipment


def add_certificate_row(
    session: Session,
    supplier: Supplier,
    *,
    certificate_type: CertificateType = COA,
    sku_id: int | None = None,
    shipment_id: int | None = None,
    issued_on: date = TODAY - timedelta(days=30),
    expires_on: date | None = TODAY + timedelta(days=300),
    is_active: bool = True,
) -> QualityCertificate:
    assert supplier.org.id and supplier.user.id
    row = QualityCertificate(
        supplier_id=supplier.org.id,
        sku_id=sku_id if sku_id is not None or shipment_id is not None else supplier.sku.id,
        shipment_id=shipment_id,
        certificate_type=certificate_type,
        number=unique_code("CERT"),
        issued_on=issued_on,
        expires_on=expires_on,
        original_filename="cert.pdf",
        stored_name=secrets.token_hex(16),
        content_type="application/pdf",
        size_bytes=len(PDF),
        sha256="0" * 64,
        uploaded_by_user_id=supplier.user.id,
        is_active=is_active,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


# -- receiving files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "extension"),
    [(PDF, "application/pdf", ".pdf"), (PNG, "image/png", ".png"), (JPEG, "image/jpeg", ".jpg")],
)
def test_accepted_file_is_typed_by_its_content_and_renamed_atomically_to_a_random_name(
    tmp_path: Path, content: bytes, content_type: str, extension: str
) -> None:
    received = receive_upload(io.BytesIO(content), directory=tmp_path, max_bytes=10_000, chunk_size=7)
    assert (received.content_type, received.extension, received.size) == (
        content_type,
        extension,
        len(content),
    )
    stored_name = received.commit()
    assert len(stored_name) == 32 and all(c in "0123456789abcdef" for c in stored_name)
    assert (tmp_path / stored_name).read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [stored_name]  # no temporary file left behind


@pytest.mark.parametrize("content", [EXE, b"plain text pretending to be a PDF", b"%PD", b"<html>%PDF-"])
def test_content_that_is_not_pdf_png_or_jpeg_is_refused_and_nothing_is_left(
    tmp_path: Path, content: bytes
) -> None:
    with pytest.raises(UploadRefused) as refused:
        receive_upload(io.BytesIO(content), directory=tmp_path, max_bytes=10_000, chunk_size=2)
    assert refused.value.message == WRONG_TYPE
    assert list(tmp_path.iterdir()) == []


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UploadRefused) as refused:
        receive_upload(io.BytesIO(b""), directory=tmp_path, max_bytes=10_000)
    assert refused.value.message == EMPTY_FILE
    assert list(tmp_path.iterdir()) == []


class CountingStream(io.BytesIO):
    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_oversized_file_is_refused_at_the_limit_without_reading_the_rest(tmp_path: Path) -> None:
    stream = CountingStream(PDF + b"y" * 1_000_000)
    with pytest.raises(UploadRefused) as refused:
        receive_upload(stream, directory=tmp_path, max_bytes=1000, chunk_size=256)
    assert refused.value.message == TOO_LARGE and refused.value.params == {"limit": "1000 B"}
    assert stream.bytes_read <= 1000 + 256
    assert list(tmp_path.iterdir()) == []


def test_file_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    received = receive_upload(io.BytesIO(PDF), directory=tmp_path, max_bytes=len(PDF))
    assert received.size == len(PDF)
    received.discard()
    assert list(tmp_path.iterdir()) == []


def test_sniffing_needs_the_whole_signature() -> None:
    assert sniff_content_type(b"\x89PNG") is None
    assert sniff_content_type(b"\xff\xd8\xff") == ("image/jpeg", ".jpg")


@pytest.mark.parametrize(
    ("original", "extension", "expected"),
    [
        ("report.pdf", ".pdf", "report.pdf"),
        ("../../etc/passwd", ".pdf", "passwd.pdf"),
        ('C:\\x\\evil"; name=.png', ".png", "evil name.png"),
        ("photo.exe", ".jpg", "photo.jpg"),
        ("检验报告 2026.pdf", ".pdf", "检验报告 2026.pdf"),
        ("\r\n.pdf", ".pdf", "certificate.pdf"),
    ],
)
def test_download_name_is_safe_and_ends_in_the_real_extension(
    original: str, extension: str, expected: str
) -> None:
    assert safe_filename(original, extension) == expected


# -- certificate_problems ------------------------------------------------------------------------------


def problems(
    session: Session,
    supplier: Supplier,
    required: list[CertificateType],
    *,
    sku_id: int | None = None,
    shipment_id: int | None = None,
    on_date: date = TODAY,
) -> list[str]:
    assert supplier.org.id is not None
    return certificate_problems(
        session,
        supplier_id=supplier.org.id,
        sku_id=sku_id if sku_id is not None or shipment_id is not None else supplier.sku.id,
        shipment_id=shipment_id,
        on_date=on_date,
        required_types=required,
    )


def test_nothing_required_means_no_problems(session: Session) -> None:
    assert problems(session, make_supplier(session), []) == []


def test_missing_required_certificates_are_each_named(session: Session) -> None:
    supplier = make_supplier(session)
    assert problems(session, supplier, [COA, HEALTH]) == [MISSING_MESSAGES[COA], MISSING_MESSAGES[HEALTH]]


def test_valid_certificate_for_the_sku_satisfies_the_requirement(session: Session) -> None:
    supplier = make_supplier(session)
    add_certificate_row(session, supplier, certificate_type=COA)
    assert problems(session, supplier, [COA, HEALTH]) == [MISSING_MESSAGES[HEALTH]]


def test_expired_certificate_is_reported_as_expired(session: Session) -> None:
    supplier = make_supplier(session)
    add_certificate_row(session, supplier, expires_on=TODAY - timedelta(days=1))
    assert problems(session, supplier, [COA]) == [EXPIRED_MESSAGES[COA]]


def test_certificate_is_valid_through_its_expiry_date(session: Session) -> None:
    supplier = make_supplier(session)
    add_certificate_row(session, supplier, expires_on=TODAY)
    assert problems(session, supplier, [COA]) == []
    assert problems(session, supplier, [COA], on_date=TODAY + timedelta(days=1)) == [EXPIRED_MESSAGES[COA]]


def test_one_valid_certificate_outweighs_an_expired_one(session: Session) -> None:
    supplier = make_supplier(session)
    add_certificate_row(
        session, supplier, issued_on=TODAY - timedelta(days=400), expires_on=TODAY - timedelta(days=100)
    )
    add_certificate_row(session, supplier, expires_on=None)
    assert problems(session, supplier, [COA]) == []


def test_certificates_of_other_suppliers_skus_or_kinds_and_inactive_ones_do_not_count(
    session: Session,
) -> None:
    supplier = make_supplier(session)
    other = make_supplier(session)
    assert other.sku.id is not None
    make_price(session, supplier=other.org, sku=supplier.sku)
    add_certificate_row(session, other, sku_id=supplier.sku.id)  # another supplier, same SKU
    add_certificate_row(session, supplier, sku_id=other.sku.id)  # same supplier, another SKU
    add_certificate_row(session, supplier, certificate_type=HEALTH)  # another kind
    add_certificate_row(session, supplier, is_active=False)  # withdrawn
    assert problems(session, supplier, [COA]) == [MISSING_MESSAGES[COA]]


def test_shipment_certificate_covers_the_lots_of_that_shipment(session: Session) -> None:
    supplier = make_supplier(session)
    shipment = make_shipment(session, supplier.org)
    other_shipment = make_shipment(session, supplier.org)
    add_certificate_row(session, supplier, certificate_type=HEALTH, shipment_id=shipment.id)
    sku_id = supplier.sku.id
    assert problems(session, supplier, [HEALTH], sku_id=sku_id, shipment_id=shipment.id) == []
    assert problems(session, supplier, [HEALTH], sku_id=sku_id, shipment_id=other_shipment.id) == [
        MISSING_MESSAGES[HEALTH]
    ]


def test_every_problem_message_is_translated() -> None:
    from supplychain.i18n import gettext, use_locale

    with use_locale("zh_CN"):
        for message in [*MISSING_MESSAGES.values(), *EXPIRED_MESSAGES.values()]:
            assert gettext(message) != message


def test_upload_files_and_their_new_directories_are_for_their_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask: world-readable unless the code says otherwise
    try:
        directory = tmp_path / "uploads" / "certificates"
        stored_name = receive_upload(io.BytesIO(PDF), directory=directory, max_bytes=10_000).commit()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((directory / stored_name).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "content",
    [
        PDF_HEADED_HTML,
        PDF_HEADED_HTML + b"startxref\n0\n%%EOF\n",  # a trailer pointing nowhere useful
        b"%PDF-1.7\n<!DOCTYPE html><title>x</title>" + minimal_pdf()[9:],  # HTML where browsers sniff
        b"%PDF-1.7\n" + b"x" * 300 + b"\n%%EOF\n",  # the header and the end marker, nothing between
        minimal_pdf()[:-40],  # cut off before its trailer
    ],
)
def test_a_file_that_only_starts_like_a_pdf_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    with pytest.raises(UploadRefused) as refused:
        check_pdf(path)
    assert refused.value.reason == "not_a_pdf"


def test_real_pdfs_pass_the_pdf_check(tmp_path: Path) -> None:
    from weasyprint import HTML

    for name, content in [("minimal", PDF), ("weasyprint", HTML(string="<p>COA 2026-17</p>").write_pdf())]:
        path = tmp_path / name
        path.write_bytes(content or b"")
        check_pdf(path)


@pytest.mark.parametrize(
    ("content", "reason"), [(PNG, "unreadable"), (JPEG, "unreadable"), (PDF_HEADED_HTML, "not_a_pdf")]
)
def test_certificate_content_must_be_what_its_signature_says(
    uploads: Path, content: bytes, reason: str
) -> None:
    with pytest.raises(UploadRefused) as refused:
        receive_certificate(io.BytesIO(content), max_bytes=10_000)
    assert refused.value.reason == reason
    assert list((uploads / "certificates").iterdir()) == []  # nothing left behind


def test_a_certificate_image_over_the_photo_pixel_limit_is_refused(
    uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30 * 30)  # the limit photos are decoded with
    with pytest.raises(UploadRefused) as refused:
        receive_certificate(io.BytesIO(image_file("PNG", (40, 40))), max_bytes=100_000)
    assert refused.value.reason == "too_many_pixels"
    for content in (PDF, PNG_IMAGE, JPEG_IMAGE, image_file("PNG", (30, 30))):
        receive_certificate(io.BytesIO(content), max_bytes=100_000).discard()


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path / "uploads")
    return tmp_path / "uploads"
