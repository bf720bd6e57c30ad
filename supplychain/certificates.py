"""Supplier quality certificates: receiving and storing the file, and the check inspection relies on.

Files are checked by their content (magic bytes), never by the name or the browser's content type,
read in chunks so an oversized upload is refused at the limit, written to a temporary file beside
their final place and renamed atomically to a random name under `UPLOAD_DIR/certificates`, outside
the web root. `certificate_problems` is the pure check the inspection step calls before accepting a
lot: required certificates that are missing or expired, as message ids to translate.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy import or_, select
from sqlmodel import Session, col

from supplychain.i18n import lazy
from supplychain.models import CertificateType, QualityCertificate
from supplychain.settings import settings

CHUNK_SIZE = 64 * 1024
# (leading bytes, content type, file extension); the only kinds of file accepted.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
_SNIFF_BYTES = max(len(magic) for magic, _, _ in SIGNATURES)
_STORED_NAME = re.compile(r"^[0-9a-f]{32}$")

CERTIFICATE_TYPE_LABELS: dict[CertificateType, str] = {
    CertificateType.INSPECTION_REPORT: lazy("Inspection report"),
    CertificateType.COA: lazy("Certificate of analysis (COA)"),
    CertificateType.HEALTH: lazy("Health certificate"),
    CertificateType.ORIGIN: lazy("Certificate of origin"),
}
MISSING_MESSAGES: dict[CertificateType, str] = {
    CertificateType.INSPECTION_REPORT: lazy("The required inspection report is missing."),
    CertificateType.COA: lazy("The required certificate of analysis (COA) is missing."),
    CertificateType.HEALTH: lazy("The required health certificate is missing."),
    CertificateType.ORIGIN: lazy("The required certificate of origin is missing."),
}
EXPIRED_MESSAGES: dict[CertificateType, str] = {
    CertificateType.INSPECTION_REPORT: lazy("The inspection report has expired."),
    CertificateType.COA: lazy("The certificate of analysis (COA) has expired."),
    CertificateType.HEALTH: lazy("The health certificate has expired."),
    CertificateType.ORIGIN: lazy("The certificate of origin has expired."),
}

NO_FILE = lazy("Choose a file to upload.")
EMPTY_FILE = lazy("The file is empty.")
TOO_LARGE = lazy("The file is larger than the limit of %(limit)s.")
WRONG_TYPE = lazy("Only PDF, PNG or JPEG files are accepted; this file's content is none of them.")


class UploadRefused(Exception):
    """The uploaded file is refused; `message` is a message id, `params` fill its placeholders."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def certificate_dir() -> Path:
    assert settings.UPLOAD_DIR is not None  # filled in by Settings
    return settings.UPLOAD_DIR / "certificates"


def stored_path(stored_name: str) -> Path:
    """The file of a stored certificate; only names this module generated are accepted."""
    if not _STORED_NAME.match(stored_name):
        raise ValueError("not a stored certificate name")
    return certificate_dir() / stored_name


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes, or None if it is not accepted."""
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None


def format_limit(max_bytes: int) -> str:
    if max_bytes >= 1024 * 1024:
        return f"{max_bytes / (1024 * 1024):g} MB"
    if max_bytes >= 1024:
        return f"{max_bytes / 1024:g} KB"
    return f"{max_bytes} B"


@dataclass
class ReceivedFile:
    """An accepted upload in a temporary file beside its final place: `commit` or `discard` it."""

    temp_path: Path
    content_type: str
    extension: str
    size: int
    sha256: str

    def commit(self) -> str:
        """Rename into place under a new random name (atomic on one filesystem); returns the name."""
        stored_name = secrets.token_hex(16)
        os.replace(self.temp_path, self.temp_path.parent / stored_name)
        return stored_name

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


def make_private_directory(directory: Path) -> None:
    """`directory` and any missing parent, created for their owner only (uploads are private)."""
    if directory.exists():
        return
    make_private_directory(directory.parent)
    with contextlib.suppress(FileExistsError):  # another request made it meanwhile
        directory.mkdir(mode=0o700)


def receive_upload(
    stream: IO[bytes], *, directory: Path, max_bytes: int, chunk_size: int = CHUNK_SIZE
) -> ReceivedFile:
    """Copy `stream` in chunks to a temporary file in `directory`, checking type and size as it
    arrives; refuses (and removes the temporary file) at the first byte over `max_bytes`."""
    make_private_directory(directory)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".upload-")  # mode 0600, kept by the rename
    temp_path = Path(name)
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(chunk_size):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(TOO_LARGE, limit=format_limit(max_bytes))
                if len(head) < _SNIFF_BYTES:
                    head += chunk[: _SNIFF_BYTES - len(head)]
                    if len(head) >= _SNIFF_BYTES and sniff_content_type(head) is None:
                        raise UploadRefused(WRONG_TYPE)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadRefused(EMPTY_FILE)
        sniffed = sniff_content_type(head)
        if sniffed is None:
            raise UploadRefused(WRONG_TYPE)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()
        raise
    content_type, extension = sniffed
    return ReceivedFile(temp_path, content_type, extension, size, digest.hexdigest())


def safe_filename(original: str, extension: str) -> str:
    """A download name without paths, control or quoting characters, ending in the real extension."""
    base = re.split(r"[\\/]", original)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = unicodedata.normalize("NFC", stem)
    stem = "".join(ch for ch in stem if ch.isalnum() or ch in " -_()")
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:100]
    return (stem or "certificate") + extension


def add_certificate(
    session: Session,
    *,
    received: ReceivedFile,
    supplier_id: int,
    sku_id: int | None,
    shipment_id: int | None,
    certificate_type: CertificateType,
    number: str,
    issued_on: date,
    expires_on: date | None,
    original_filename: str,
    uploaded_by_user_id: int,
) -> QualityCertificate:
    """Store the received file and its row; if the row cannot be written the file goes too."""
    stored_name = received.commit()
    certificate = QualityCertificate(
        supplier_id=supplier_id,
        sku_id=sku_id,
        shipment_id=shipment_id,
        certificate_type=certificate_type,
        number=number,
        issued_on=issued_on,
        expires_on=expires_on,
        original_filename=original_filename[:255],
        stored_name=stored_name,
        content_type=received.content_type,
        size_bytes=received.size,
        sha256=received.sha256,
        uploaded_by_user_id=uploaded_by_user_id,
    )
    try:
        session.add(certificate)
        session.commit()
    except BaseException:
        session.rollback()
        with contextlib.suppress(FileNotFoundError):
            (received.temp_path.parent / stored_name).unlink()
        raise
    session.refresh(certificate)
    return certificate


def certificate_problems(
    session: Session,
    *,
    supplier_id: int,
    sku_id: int | None,
    shipment_id: int | None,
    on_date: date,
    required_types: Iterable[CertificateType],
) -> list[str]:
    """Message ids for each required certificate type with no active certificate from this supplier
    for the SKU or the shipment (missing), or only ones that expired before `on_date` (expired).
    An empty list means the lot may be accepted as far as certificates go."""
    required = list(dict.fromkeys(required_types))
    if not required:
        return []
    covers = []
    if sku_id is not None:
        covers.append(col(QualityCertificate.sku_id) == sku_id)
    if shipment_id is not None:
        covers.append(col(QualityCertificate.shipment_id) == shipment_id)
    if not covers:
        return [MISSING_MESSAGES[t] for t in required]
    rows = session.execute(
        select(col(QualityCertificate.certificate_type), col(QualityCertificate.expires_on)).where(
            col(QualityCertificate.supplier_id) == supplier_id,
            col(QualityCertificate.is_active),
            col(QualityCertificate.certificate_type).in_(required),
            or_(*covers),
        )
    ).all()
    valid: set[CertificateType] = set()
    present: set[CertificateType] = set()
    for certificate_type, expires_on in rows:
        present.add(certificate_type)
        if expires_on is None or expires_on >= on_date:
            valid.add(certificate_type)
    problems = []
    for certificate_type in required:
        if certificate_type not in present:
            problems.append(MISSING_MESSAGES[certificate_type])
        elif certificate_type not in valid:
            problems.append(EXPIRED_MESSAGES[certificate_type])
    return problems
