"""Inspection photos: what the inspector saw, stored beside the lot's inspection.

Built on the certificate upload machinery (`supplychain.certificates.receive_upload`): the file is
checked by its content (magic bytes), read in chunks and refused at the size limit
(`PHOTO_MAX_BYTES`, below the request body limit the settings check), written to a temporary file
and renamed to a random name under `UPLOAD_DIR/inspection-photos`, outside the web root. Only PNG
and JPEG are photos: a PDF (which certificates accept) is refused here too.

The photo is then decoded with Pillow: a file that only starts like a PNG or JPEG, or one with more
pixels than `Image.MAX_IMAGE_PIXELS` (a decompression bomb, checked from the header before anything
is decoded), is refused. What is stored is a re-encoding of the decoded image in the same format,
turned upright by its EXIF orientation and without any metadata (EXIF with GPS position and device,
XMP, comments, text chunks): suppliers see these photos. Only the colour profile is kept. The row's
size and SHA-256 are the stored file's; the original filename is kept for display only.

Each photo has a thumbnail (`THUMBNAIL_SIZE`, same format) beside it, `<stored name>.thumb`, made
when the photo is stored, or on first request for a photo stored before thumbnails existed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any

from PIL import Image
from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.certificates import (
    PIL_FORMATS,
    SIGNATURES,
    WRONG_TYPE,
    ReceivedFile,
    UploadRefused,
    decode_image,
    receive_upload,
    safe_filename,
)
from supplychain.i18n import lazy
from supplychain.models import InspectionPhoto
from supplychain.settings import settings

log = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
CAPTION_MAX_LENGTH = 200
JPEG_QUALITY = 85
THUMBNAIL_SIZE = (320, 320)
THUMBNAIL_SUFFIX = ".thumb"
_STORED_NAME = re.compile(r"^[0-9a-f]{32}$")

NOT_A_PHOTO = lazy("Only PNG or JPEG photos are accepted; this file's content is neither.")
UNREADABLE = lazy("This photo cannot be read: the file is damaged or not a complete PNG or JPEG image.")
TOO_MANY_PIXELS = lazy("This photo has too many pixels to be processed (at most %(limit)s megapixels).")


def photo_dir() -> Path:
    assert settings.UPLOAD_DIR is not None  # filled in by Settings
    return settings.UPLOAD_DIR / "inspection-photos"


def photo_max_bytes() -> int:
    return settings.PHOTO_MAX_BYTES


def stored_path(stored_name: str) -> Path:
    """The file of a stored photo; only names the upload machinery generated are accepted."""
    if not _STORED_NAME.match(stored_name):
        raise ValueError("not a stored photo name")
    return photo_dir() / stored_name


def thumbnail_path(stored_name: str) -> Path:
    """The thumbnail of a stored photo, beside it."""
    photo = stored_path(stored_name)
    return photo.with_name(photo.name + THUMBNAIL_SUFFIX)


def extension_for(content_type: str) -> str:
    return next(ext for _, ctype, ext in SIGNATURES if ctype == content_type)


def download_name(photo: InspectionPhoto) -> str:
    return safe_filename(photo.original_filename, extension_for(photo.content_type))


def receive_photo(stream: IO[bytes]) -> ReceivedFile:
    """Receive an upload into the photo directory; refuses anything but a PNG or JPEG image that
    decodes. The temporary file then holds the upright image re-encoded without metadata."""
    try:
        received = receive_upload(stream, directory=photo_dir(), max_bytes=photo_max_bytes())
    except UploadRefused as refused:
        if refused.message == WRONG_TYPE:  # that message offers PDF, which is no photo
            raise UploadRefused(NOT_A_PHOTO, reason="not_a_photo") from None
        raise
    try:
        if received.content_type not in IMAGE_TYPES:
            raise UploadRefused(NOT_A_PHOTO, reason="not_a_photo")
        data = _encode(_decode(received.temp_path, received.content_type), received.content_type)
        with received.temp_path.open("wb") as out:  # the upload is decoded: overwrite it
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        received.discard()
        raise
    return ReceivedFile(
        received.temp_path,
        received.content_type,
        received.extension,
        len(data),
        hashlib.sha256(data).hexdigest(),
    )


def _decode(path: Path, content_type: str, *, draft: tuple[int, int] | None = None) -> Image.Image:
    """`certificates.decode_image`, its refusals in a photo's words."""
    try:
        return decode_image(path, content_type, draft=draft)
    except UploadRefused as refused:
        message = TOO_MANY_PIXELS if refused.reason == "too_many_pixels" else UNREADABLE
        raise UploadRefused(message, reason=refused.reason, **refused.params) from None


_RGB_MODES = frozenset({"P", "PA", "RGB", "RGBA"})


def _convert(image: Image.Image, mode: str) -> Image.Image:
    """`image` in `mode`; its colour profile goes unless it still describes the pixels (RGB to RGB)."""
    converted = image.convert(mode)
    if not (image.mode in _RGB_MODES and mode in _RGB_MODES):
        converted.info.pop("icc_profile", None)  # e.g. a CMYK profile on RGB pixels: wrong colours
    return converted


def _encode(image: Image.Image, content_type: str) -> bytes:
    """`image` in the given format with none of the uploaded file's metadata but its colour profile
    (and a PNG's transparent colour, which is part of the picture)."""
    params: dict[str, Any] = {}
    if icc_profile := image.info.get("icc_profile"):
        params["icc_profile"] = icc_profile
    if content_type == "image/jpeg":
        if image.mode not in ("L", "RGB", "CMYK"):
            image = _convert(image, "RGB")
        params.update(quality=JPEG_QUALITY, optimize=True)
    elif "transparency" in image.info:
        params["transparency"] = image.info["transparency"]
    image.info = {}  # the savers copy some keys from here (a JPEG comment, a PNG's profile)
    out = io.BytesIO()
    image.save(out, format=PIL_FORMATS[content_type], **params)
    return out.getvalue()


def ensure_thumbnail(stored_name: str, content_type: str) -> Path:
    """The thumbnail of a stored photo, made from the stored file if it is not there yet.
    Raises FileNotFoundError without the photo, UploadRefused if it does not decode."""
    path = thumbnail_path(stored_name)
    if path.is_file():
        return path
    image = _decode(
        stored_path(stored_name), content_type, draft=(THUMBNAIL_SIZE[0] * 2, THUMBNAIL_SIZE[1] * 2)
    )
    if image.mode not in ("L", "LA", "RGB", "RGBA"):  # e.g. a palette, which would scale coarsely
        has_alpha = "transparency" in image.info or image.mode.endswith(("A", "a"))
        image = _convert(image, "RGBA" if has_alpha and content_type == "image/png" else "RGB")
    image.thumbnail(THUMBNAIL_SIZE)
    data = _encode(image, content_type)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".thumb-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, path)  # atomic: two first requests at once both write a whole file
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return path


def _remove_stored(stored_name: str) -> None:
    for path in (stored_path(stored_name), thumbnail_path(stored_name)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def add_photo(
    session: Session,
    *,
    received: ReceivedFile,
    inspection_id: int,
    original_filename: str,
    caption: str,
    uploaded_by_user_id: int,
) -> InspectionPhoto:
    """Store the received file, its thumbnail and its row; if the row cannot be written the files
    go too."""
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
        ensure_thumbnail(stored_name, received.content_type)
        session.add(photo)
        session.commit()
    except BaseException:
        session.rollback()
        _remove_stored(stored_name)
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
