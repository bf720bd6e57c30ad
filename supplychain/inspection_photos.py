"""Inspection photos: what the inspector saw, stored beside the lot's inspection.

Built on the certificate upload machinery (`supplychain.certificates.receive_upload`): the file is
checked by its content (magic bytes), read in chunks and refused at the size limit, written to a
temporary file and renamed to a random name under `UPLOAD_DIR/inspection-photos`, outside the web
root. Only PNG and JPEG are photos: a PDF (which certificates accept) is refused here too.

The size limit is the certificates' one (`CERTIFICATE_MAX_BYTES`): the request body limit is
checked against it when the settings load, so a photo can never outgrow what the portal accepts.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.certificates import (
    SIGNATURES,
    WRONG_TYPE,
    ReceivedFile,
    UploadRefused,
    receive_upload,
    safe_filename,
)
from supplychain.i18n import lazy
from supplychain.models import InspectionPhoto
from supplychain.settings import settings

IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
CAPTION_MAX_LENGTH = 200
_STORED_NAME = re.compile(r"^[0-9a-f]{32}$")

NOT_A_PHOTO = lazy("Only PNG or JPEG photos are accepted; this file's content is neither.")


def photo_dir() -> Path:
    assert settings.UPLOAD_DIR is not None  # filled in by Settings
    return settings.UPLOAD_DIR / "inspection-photos"


def photo_max_bytes() -> int:
    return settings.CERTIFICATE_MAX_BYTES


def stored_path(stored_name: str) -> Path:
    """The file of a stored photo; only names the upload machinery generated are accepted."""
    if not _STORED_NAME.match(stored_name):
        raise ValueError("not a stored photo name")
    return photo_dir() / stored_name


def extension_for(content_type: str) -> str:
    return next(ext for _, ctype, ext in SIGNATURES if ctype == content_type)


def download_name(photo: InspectionPhoto) -> str:
    return safe_filename(photo.original_filename, extension_for(photo.content_type))


def receive_photo(stream: IO[bytes]) -> ReceivedFile:
    """Receive an upload into the photo directory; refuses anything but a PNG or JPEG image."""
    try:
        received = receive_upload(stream, directory=photo_dir(), max_bytes=photo_max_bytes())
    except UploadRefused as refused:
        if refused.message == WRONG_TYPE:  # that message offers PDF, which is no photo
            raise UploadRefused(NOT_A_PHOTO) from None
        raise
    if received.content_type not in IMAGE_TYPES:
        received.discard()
        raise UploadRefused(NOT_A_PHOTO)
    return received


def add_photo(
    session: Session,
    *,
    received: ReceivedFile,
    inspection_id: int,
    original_filename: str,
    caption: str,
    uploaded_by_user_id: int,
) -> InspectionPhoto:
    """Store the received file and its row; if the row cannot be written the file goes too."""
    stored_name = received.commit()
    photo = InspectionPhoto(
        inspection_id=inspection_id,
        original_filename=original_filename[:255],
        stored_name=stored_name,
        content_type=received.content_type,
        size_bytes=received.size,
        sha256=received.sha256,
        caption=caption[:CAPTION_MAX_LENGTH],
        uploaded_by_user_id=uploaded_by_user_id,
    )
    try:
        session.add(photo)
        session.commit()
    except BaseException:
        session.rollback()
        with contextlib.suppress(FileNotFoundError):
            (received.temp_path.parent / stored_name).unlink()
        raise
    session.refresh(photo)
    return photo


def photos_of(session: Session, inspection_id: int) -> list[InspectionPhoto]:
    """The photos of one inspection (already known to be visible), oldest first."""
    return list(
        session.execute(
            select(InspectionPhoto)
            .where(col(InspectionPhoto.inspection_id) == inspection_id)
            .order_by(col(InspectionPhoto.created_at), col(InspectionPhoto.id))
        ).scalars()
    )
