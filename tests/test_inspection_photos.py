"""Inspection photos: only PNG and JPEG by content that decode, within the size and pixel limits,
stored re-encoded (upright, without EXIF/GPS or other metadata) under a random name in
UPLOAD_DIR/inspection-photos with a thumbnail beside it and a row in InspectionPhoto; a refused file
leaves nothing. Test images are made with Pillow."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageFile, PngImagePlugin
from pydantic import ValidationError
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
from supplychain.settings import Settings, settings
from tests.factories import make_location, make_organisation, make_sku, make_user, unique_code
from tests.test_certificates import EXE, PDF
from tests.test_certificates import JPEG as JPEG_HEADER_ONLY
from tests.test_certificates import PNG as PNG_HEADER_ONLY

LOT_SIZE = 500
RED = (220, 20, 20)
BLUE = (20, 20, 220)


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    """A real image: its left half red, its right half blue (so a rotation shows)."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


JPEG_PHOTO = image_bytes("JPEG")
PNG_PHOTO = image_bytes("PNG")


def phone_exif() -> Image.Exif:
    """What a phone writes: the device, the GPS position, and "rotate 90° clockwise to view"."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 15"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 14.0, 5.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 28.0, 1.0)
    return exif


def phone_jpeg(size: tuple[int, int] = (60, 40)) -> bytes:
    """A JPEG as a phone sends it: EXIF with GPS and orientation, a comment and XMP naming the site."""
    content = image_bytes(
        "JPEG",
        size,
        exif=phone_exif(),
        comment=b"site: Shanghai warehouse 3",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPSLatitude 31,14.09N</x:xmpmeta>',
    )
    with Image.open(io.BytesIO(content)) as original:  # the test image carries what it should
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert {"comment", "xmp"} <= set(original.info)
    return content


def is_colour(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


def bomb_png(size: tuple[int, int], mode: str = "1") -> bytes:
    """Billions of identical pixels compress to a few kilobytes: within the byte limit."""
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    assert len(out.getvalue()) < 200_000
    return out.getvalue()


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


def store(session: Session, content: bytes) -> InspectionPhoto:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    inspection = make_inspection(session, supplier=supplier)
    inspector = make_inspector(session)
    assert inspection.id and inspector.id
    return inspection_photos.add_photo(
        session,
        received=inspection_photos.receive_photo(io.BytesIO(content)),
        inspection_id=inspection.id,
        original_filename="IMG_0001.jpg",
        caption="",
        uploaded_by_user_id=inspector.id,
    )


@pytest.mark.parametrize(
    ("content", "content_type", "pil_format"),
    [(PNG_PHOTO, "image/png", "PNG"), (JPEG_PHOTO, "image/jpeg", "JPEG")],
)
def test_png_and_jpeg_are_stored_under_a_random_name_in_the_photo_directory(
    session: Session, upload_dir: Path, content: bytes, content_type: str, pil_format: str
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
    assert photo.content_type == content_type and photo.original_filename == "../../etc/scratch.jpg"
    path = inspection_photos.stored_path(photo.stored_name)
    assert path.parent == upload_dir / "inspection-photos"
    stored = path.read_bytes()  # re-encoded: the row describes the stored file
    assert photo.size_bytes == len(stored) and photo.sha256 == hashlib.sha256(stored).hexdigest()
    with Image.open(path) as image:
        assert (image.format, image.size) == (pil_format, (64, 48))
    thumbnail = path.with_name(photo.stored_name + ".thumb")
    assert stored_files(upload_dir) == [path, thumbnail]  # no temporary file left behind
    assert inspection_photos.photos_of(session, inspection.id) == [photo]


def test_a_phone_jpeg_is_stored_upright_without_exif_gps_comment_or_xmp(
    session: Session, upload_dir: Path
) -> None:
    photo = store(session, phone_jpeg())
    stored = inspection_photos.stored_path(photo.stored_name).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert not {"exif", "comment", "xmp"} & set(image.info)
        # Orientation 6 applied: 60x40 becomes 40x60, the red left half is now the top.
        assert image.size == (40, 60)
        assert is_colour(image.getpixel((20, 5)), RED) and is_colour(image.getpixel((20, 55)), BLUE)
    for trace in (b"Exif", b"PhoneMaker", b"Shanghai", b"GPSLatitude"):
        assert trace not in stored


def test_a_png_is_stored_without_its_exif_and_text_chunks(session: Session, upload_dir: Path) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Location", "Shanghai warehouse 3")
    photo = store(session, image_bytes("PNG", exif=phone_exif(), pnginfo=text))
    stored = inspection_photos.stored_path(photo.stored_name).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and dict(image.getexif()) == {}
        assert image.size == (48, 64)  # upright
        assert "Location" not in image.info
    assert b"Shanghai" not in stored and b"PhoneMaker" not in stored


@pytest.mark.parametrize("content", [PDF, EXE, b"just some text, renamed to photo.jpg"])
def test_anything_but_png_or_jpeg_is_refused_as_not_a_photo_and_nothing_is_left(
    upload_dir: Path, content: bytes
) -> None:
    with pytest.raises(UploadRefused) as refused:
        inspection_photos.receive_photo(io.BytesIO(content))
    assert refused.value.message == inspection_photos.NOT_A_PHOTO
    assert stored_files(upload_dir) == []


def truncated(content: bytes) -> bytes:
    return content[: len(content) * 2 // 3]


@pytest.mark.parametrize(
    "content",
    [
        PNG_HEADER_ONLY,  # a PNG signature followed by nothing but zeros
        JPEG_HEADER_ONLY,
        truncated(image_bytes("PNG", (200, 200))),
        truncated(image_bytes("JPEG", (200, 200))),
        b"\x89PNG\r\n\x1a\n" + JPEG_PHOTO,  # a PNG header glued onto another file
    ],
    ids=["png-header-only", "jpeg-header-only", "truncated-png", "truncated-jpeg", "png-header-on-jpeg"],
)
def test_a_file_with_a_photo_header_that_does_not_decode_is_refused_and_nothing_is_left(
    upload_dir: Path, content: bytes
) -> None:
    with pytest.raises(UploadRefused) as refused:
        inspection_photos.receive_photo(io.BytesIO(content))
    assert refused.value.message == inspection_photos.UNREADABLE
    assert stored_files(upload_dir) == []


def test_a_truncated_photo_is_refused_even_after_weasyprint_was_imported(
    upload_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import, which would pad a
    truncated upload instead of refusing it; the portal renders PDFs in the same process."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as `import weasyprint` leaves it
    with pytest.raises(UploadRefused):
        inspection_photos.receive_photo(io.BytesIO(truncated(image_bytes("PNG", (200, 200)))))
    assert stored_files(upload_dir) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("size", "mode"),
    [((14_000, 14_000), "1"), ((10_000, 9_000), "L")],
    ids=["over-twice-the-limit", "just-over-the-limit"],
)
def test_a_decompression_bomb_is_refused_before_it_is_decoded_and_nothing_is_left(
    upload_dir: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], mode: str
) -> None:
    limit = Image.MAX_IMAGE_PIXELS  # Pillow's default, about 89.5 million
    assert limit is not None and size[0] * size[1] > limit
    content = bomb_png(size, mode)
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image))
    with pytest.raises(UploadRefused) as refused:
        inspection_photos.receive_photo(io.BytesIO(content))
    assert refused.value.message == inspection_photos.TOO_MANY_PIXELS
    assert refused.value.params == {"limit": "89.5"}
    assert decoded == []  # refused from the header: the pixels were never decoded
    assert stored_files(upload_dir) == []


def test_photo_over_its_size_limit_is_refused_and_nothing_is_left(
    upload_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PHOTO_MAX_BYTES", 100)
    with pytest.raises(UploadRefused) as refused:
        inspection_photos.receive_photo(io.BytesIO(PNG_PHOTO))
    assert refused.value.message == TOO_LARGE and refused.value.params == {"limit": "100 B"}
    assert stored_files(upload_dir) == []


def test_the_photo_limit_is_its_own_setting_below_the_request_limit(tmp_path: Path) -> None:
    assert inspection_photos.photo_max_bytes() == settings.PHOTO_MAX_BYTES
    with pytest.raises(ValidationError, match="MAX_REQUEST_BYTES must be larger than PHOTO_MAX_BYTES"):
        Settings(
            _env_file=None,
            VAR_DIR=tmp_path,
            CERTIFICATE_MAX_BYTES=1024,
            PHOTO_MAX_BYTES=2048,
            MAX_REQUEST_BYTES=2048,
        )


@pytest.mark.parametrize(
    ("content", "pil_format", "thumbnail_size"),
    [
        (image_bytes("JPEG", (1000, 600)), "JPEG", (320, 192)),
        (phone_jpeg((1000, 600)), "JPEG", (192, 320)),  # upright, like the photo
        (image_bytes("PNG", (500, 900)), "PNG", (178, 320)),
    ],
    ids=["jpeg", "phone-jpeg", "png"],
)
def test_a_thumbnail_within_320_px_is_stored_beside_the_photo(
    session: Session, upload_dir: Path, content: bytes, pil_format: str, thumbnail_size: tuple[int, int]
) -> None:
    photo = store(session, content)
    path = inspection_photos.thumbnail_path(photo.stored_name)
    assert path == inspection_photos.stored_path(photo.stored_name).with_name(photo.stored_name + ".thumb")
    with Image.open(path) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == (pil_format, thumbnail_size)
        assert dict(thumbnail.getexif()) == {}


def test_a_photo_stored_without_a_thumbnail_gets_one_upright_and_without_exif_when_asked(
    upload_dir: Path,
) -> None:
    """A photo stored before thumbnails (and re-encoding) existed: the original file, EXIF and all."""
    stored_name = "ab" * 16
    inspection_photos.photo_dir().mkdir(parents=True)
    inspection_photos.stored_path(stored_name).write_bytes(phone_jpeg((1000, 600)))

    path = inspection_photos.ensure_thumbnail(stored_name, "image/jpeg")
    assert path == inspection_photos.thumbnail_path(stored_name)
    with Image.open(path) as thumbnail:
        assert thumbnail.size == (192, 320) and dict(thumbnail.getexif()) == {}
    made = path.stat().st_mtime_ns
    assert inspection_photos.ensure_thumbnail(stored_name, "image/jpeg") == path
    assert path.stat().st_mtime_ns == made  # made once
    assert stored_files(upload_dir) == [inspection_photos.stored_path(stored_name), path]


def test_if_the_row_cannot_be_written_the_photo_and_its_thumbnail_go(
    session: Session, upload_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    inspection = make_inspection(session, supplier=supplier)
    inspector = make_inspector(session)
    assert inspection.id and inspector.id
    received = inspection_photos.receive_photo(io.BytesIO(JPEG_PHOTO))

    on_disk_at_commit: list[str] = []

    def fail() -> None:
        on_disk_at_commit.extend(p.name for p in stored_files(upload_dir))
        raise RuntimeError("database gone")

    monkeypatch.setattr(session, "commit", fail)
    with pytest.raises(RuntimeError):
        inspection_photos.add_photo(
            session,
            received=received,
            inspection_id=inspection.id,
            original_filename="scratch.jpg",
            caption="",
            uploaded_by_user_id=inspector.id,
        )
    [stored_name] = [name for name in on_disk_at_commit if not name.endswith(".thumb")]
    assert on_disk_at_commit == [stored_name, f"{stored_name}.thumb"]
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
