"""Workers' photos through the services: real images only (by content, not by name), a few
megabytes at most, stored upright as a JPEG without the camera's metadata; a refused file
leaves nothing behind."""

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from workers.models import Worker
from workers.photos import photo_thumbnail
from workers.services import worker_create, worker_update

pytestmark = pytest.mark.django_db

CAMERA_MAKE, ORIENTATION = 0x010F, 0x0112


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30), mode: str = "RGB",
                **save: Any) -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, "red" if mode != "1" else 0).save(buffer, fmt, **save)
    return buffer.getvalue()


def upload(content: bytes, name: str = "photo.png",
           content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


def applicant(photo: Any = None) -> Worker:
    return worker_create(name="Ivan Petrov", phone="+79123456789", skills=["loading"],
                         photo=photo)


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "a.png"), ("JPEG", "a.jpg"),
                                           ("WEBP", "a.webp")])
def test_jpeg_png_and_webp_are_stored_as_jpeg(fmt: str, name: str, media: Path) -> None:
    worker = applicant(upload(image_bytes(fmt), name=name))
    worker.refresh_from_db()
    assert worker.photo.name.startswith("workers/photos/")
    assert worker.photo.name.endswith(".jpg")
    with Image.open(worker.photo.path) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (40, 30)
    assert len(stored_files(media)) == 1


def test_the_camera_metadata_is_dropped_and_the_photo_turned_upright() -> None:
    exif = Image.Exif()
    exif[CAMERA_MAKE] = "SomePhone"
    exif[ORIENTATION] = 6  # taken sideways: turn 90 degrees to show upright
    worker = applicant(upload(image_bytes("JPEG", (40, 30), exif=exif), name="a.jpg"))
    with Image.open(worker.photo.path) as stored:
        assert stored.size == (30, 40)
        assert dict(stored.getexif()) == {}


def test_a_large_photo_is_scaled_down(settings: Any) -> None:
    settings.WORKER_PHOTO_MAX_SIDE = 100
    worker = applicant(upload(image_bytes("PNG", (400, 200))))
    with Image.open(worker.photo.path) as stored:
        assert stored.size == (100, 50)


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (b"#!/bin/sh\necho hello\n", "photo.jpg", "not a JPEG, PNG or WebP image"),
        (image_bytes("GIF"), "photo.png", "Only JPEG, PNG or WebP"),
        (image_bytes("BMP"), "photo.jpg", "Only JPEG, PNG or WebP"),
        (image_bytes("JPEG", (400, 300))[:300], "photo.jpg", "damaged"),
        (image_bytes("PNG", (8000, 6000), mode="1"), "photo.png", "too many pixels"),
        (b"", "photo.png", "empty"),
    ],
    ids=["script-named-jpg", "gif", "bmp", "truncated", "pixel-bomb", "empty"],
)
def test_what_is_not_an_accepted_image_is_refused_and_nothing_is_written(
    content: bytes, name: str, says: str, media: Path
) -> None:
    with pytest.raises(ValidationError) as refused:
        applicant(upload(content, name=name, content_type="image/jpeg"))
    assert list(refused.value.message_dict) == ["photo"]
    assert says in refused.value.message_dict["photo"][0]
    assert not Worker.objects.exists()
    assert stored_files(media) == []


def test_a_photo_over_the_size_limit_is_refused(settings: Any, media: Path) -> None:
    content = image_bytes("PNG", (200, 200))
    settings.WORKER_PHOTO_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationError, match="too large: at most"):
        applicant(upload(content))
    assert not Worker.objects.exists()
    assert stored_files(media) == []


def test_a_new_photo_replaces_the_old_file(
    media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    worker = applicant(upload(image_bytes()))
    first = Path(worker.photo.path)
    with django_capture_on_commit_callbacks(execute=True):
        worker_update(worker=worker, photo=upload(image_bytes("JPEG"), name="b.jpg"))
    worker.refresh_from_db()
    assert not first.exists()
    assert stored_files(media) == [Path(worker.photo.path)]


def test_a_refused_replacement_keeps_the_old_photo(media: Path) -> None:
    worker = applicant(upload(image_bytes()))
    kept = worker.photo.name
    with pytest.raises(ValidationError):
        worker_update(worker=worker, photo=upload(b"not an image", name="c.png"))
    worker.refresh_from_db()
    assert worker.photo.name == kept
    assert len(stored_files(media)) == 1


def test_removing_the_photo_deletes_the_file(
    media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    worker = applicant(upload(image_bytes()))
    with django_capture_on_commit_callbacks(execute=True):
        worker_update(worker=worker, photo=None)
    worker.refresh_from_db()
    assert not worker.photo
    assert stored_files(media) == []


def test_the_thumbnail_is_small() -> None:
    worker = applicant(upload(image_bytes("PNG", (800, 600))))
    with Image.open(BytesIO(photo_thumbnail(worker.photo))) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert max(thumbnail.size) == 192
