"""Workers' photos: only real images, a few megabytes at most, kept without their metadata.

The type is read from the file's content by Pillow, never from its name or the browser's
content type, both of which the uploader chooses. Every accepted photo is decoded and encoded
again as a JPEG: that drops the camera's EXIF data (a phone's photo carries where it was
taken), turns it upright, caps its size, and leaves nothing of the uploaded bytes but pixels.
"""

import secrets
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# A 40-megapixel photo is already more than any phone takes; a small file that claims far more
# pixels is built to exhaust memory when decoded.
MAX_PIXELS = 40_000_000
THUMBNAIL_SIDE = 192  # twice the 96 px the pages show, for sharp phone screens
JPEG_QUALITY = 85


def _refused(message: str) -> ValidationError:
    return ValidationError({"photo": [message]}, code="invalid_photo")


def photo_prepared(upload: Any) -> ContentFile:
    """The upload as the JPEG to store, or a ValidationError on `photo` saying what is wrong
    with it (too big, not an image, an image of another type, broken)."""
    limit = settings.WORKER_PHOTO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is None or size > limit:
        raise _refused(
            _("The photo is too large: at most %(megabytes)s MB, please.")
            % {"megabytes": f"{limit / (1024 * 1024):.0f}"}
        )
    if size == 0:
        raise _refused(_("The file is empty."))
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise _refused(_("Only JPEG, PNG or WebP photos are accepted."))
            if image.width * image.height > MAX_PIXELS:
                raise _refused(_("The photo has too many pixels; send a smaller one."))
            image.load()  # decodes it all: a truncated or corrupt file fails here
            picture = _upright_rgb(image)
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise _refused(_("This file is not a JPEG, PNG or WebP image.")) from None
    except (OSError, SyntaxError, ValueError):
        raise _refused(_("The photo is damaged and cannot be read.")) from None
    side = settings.WORKER_PHOTO_MAX_SIDE
    picture.thumbnail((side, side))
    # An unguessable name: the file is served through a login-checked page, never by name.
    return ContentFile(_jpeg(picture), name=f"{secrets.token_hex(12)}.jpg")


def photo_thumbnail(stored: Any, side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of a stored photo, for lists and the profile's header."""
    stored.open("rb")
    try:
        with Image.open(stored) as image:
            picture = _upright_rgb(image)
    finally:
        stored.close()
    picture.thumbnail((side, side))
    return _jpeg(picture)


def _upright_rgb(image: Image.Image) -> Image.Image:
    picture = ImageOps.exif_transpose(image)
    if picture.mode in ("RGBA", "LA", "P"):
        picture = picture.convert("RGBA")
        flattened = Image.new("RGB", picture.size, (255, 255, 255))
        flattened.paste(picture, mask=picture.getchannel("A"))
        return flattened
    return picture.convert("RGB")


def _jpeg(picture: Image.Image) -> bytes:
    buffer = BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()
