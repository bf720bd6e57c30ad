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
import logging
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

from PIL import Image, ImageFile, ImageOps
from sqlalchemy import or_, select
from sqlmodel import Session, col

from supplychain.i18n import lazy
from supplychain.models import CertificateType, QualityCertificate
from supplychain.settings import settings

log = logging.getLogger(__name__)

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
NOT_A_PDF = lazy("This file starts like a PDF but is not a complete PDF document.")
IMAGE_UNREADABLE = lazy("This image cannot be read: the file is damaged or not a complete PNG or JPEG image.")
IMAGE_TOO_MANY_PIXELS = lazy("This image has too many pixels to be processed (at most %(limit)s megapixels).")

# A PDF as readers find it: the header line, then, within the last bytes, `startxref` giving the
# offset of the cross-reference table (`xref`) or stream (`n g obj`), and `%%EOF`.
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d[\r\n]")
_PDF_TRAILER = re.compile(rb"startxref\s+(\d{1,15})\s+%%EOF[\s\x00]*$")
_PDF_XREF = re.compile(rb"\s*(?:xref\b|\d+\s+\d+\s+obj\b)")
PDF_TAIL_BYTES = 2048
# What makes a browser take the start of a file for HTML (it sniffs the first 512 bytes).
_HTML_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|object|embed|svg|meta|title)", re.I)
HTML_SNIFF_BYTES = 1024
# Pillow's name for each accepted image type.
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}


class UploadRefused(Exception):
    """The uploaded file is refused; `message` is a message id, `params` fill its placeholders,
    `reason` says why in a word for the security log (`upload_refused`)."""

    def __init__(self, message: str, *, reason: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
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
                    raise UploadRefused(TOO_LARGE, reason="too_large", limit=format_limit(max_bytes))
                if len(head) < _SNIFF_BYTES:
                    head += chunk[: _SNIFF_BYTES - len(head)]
                    if len(head) >= _SNIFF_BYTES and sniff_content_type(head) is None:
                        raise UploadRefused(WRONG_TYPE, reason="wrong_type")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadRefused(EMPTY_FILE, reason="empty")
        sniffed = sniff_content_type(head)
        if sniffed is None:
            raise UploadRefused(WRONG_TYPE, reason="wrong_type")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()
        raise
    content_type, extension = sniffed
    return ReceivedFile(temp_path, content_type, extension, size, digest.hexdigest())


def receive_certificate(stream: IO[bytes], *, max_bytes: int) -> ReceivedFile:
    """Receive a certificate into the certificate directory: a PDF, PNG or JPEG by its first
    bytes (`receive_upload`) that is also one throughout: a PDF whose structure a reader finds, with
    no HTML where a browser would sniff for it; an image that decodes within the pixel limit of
    photos. The file is stored as it came."""
    received = receive_upload(stream, directory=certificate_dir(), max_bytes=max_bytes)
    try:
        if received.content_type == "application/pdf":
            check_pdf(received.temp_path)
        else:
            decode_image(received.temp_path, received.content_type).close()
    except BaseException:
        received.discard()
        raise
    return received


def check_pdf(path: Path) -> None:
    """Refuse (UploadRefused) a file that only starts like a PDF: `%PDF-` followed by HTML or
    anything else without the cross-reference structure every PDF ends with."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(HTML_SNIFF_BYTES)
        f.seek(max(0, size - PDF_TAIL_BYTES))
        tail = f.read()
        trailer = _PDF_TRAILER.search(tail)
        offset = int(trailer.group(1)) if trailer else size
        if offset < size:
            f.seek(offset)
        at_offset = f.read(64) if offset < size else b""
    if not _PDF_HEADER.match(head) or _HTML_MARKUP.search(head) or not _PDF_XREF.match(at_offset):
        raise UploadRefused(NOT_A_PDF, reason="not_a_pdf")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.3g}"


def decode_image(path: Path, content_type: str, *, draft: tuple[int, int] | None = None) -> Image.Image:
    """The image in `path`, fully decoded and turned upright by its EXIF orientation; detached
    from the file. `draft` lets a JPEG decode at a reduced scale no smaller than that size.

    Refused (UploadRefused, reasons "too_many_pixels" and "unreadable") when it has more pixels than
    `Image.MAX_IMAGE_PIXELS` (a decompression bomb: checked from the header, before decoding) or
    does not decode (damaged, truncated, only a PNG or JPEG header)."""
    limit = Image.MAX_IMAGE_PIXELS
    # WeasyPrint sets this process-wide flag on import (to render the odd broken image of a web page);
    # an upload must decode whole, so a truncated one is refused rather than padded.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path, formats=[PIL_FORMATS[content_type]]) as image:
            if limit and image.width * image.height > limit:
                raise UploadRefused(IMAGE_TOO_MANY_PIXELS, reason="too_many_pixels", limit=_megapixels(limit))
            if draft is not None:
                image.draft(None, draft)
            image.load()
            try:
                return ImageOps.exif_transpose(image)
            except Exception:  # an unreadable EXIF block: the pixels are fine, leave them as they are
                log.info("EXIF orientation of %s not applied", path.name, exc_info=True)
                return image.copy()
    except Image.DecompressionBombError:  # far over the limit: refused by Pillow while opening
        raise UploadRefused(
            IMAGE_TOO_MANY_PIXELS, reason="too_many_pixels", limit=_megapixels(limit or 0)
        ) from None
    except (UploadRefused, FileNotFoundError):
        raise
    except Exception:  # damaged, truncated or only a PNG/JPEG header: any decoding failure
        log.info("image %s does not decode", path.name, exc_info=True)
        raise UploadRefused(IMAGE_UNREADABLE, reason="unreadable") from None


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
