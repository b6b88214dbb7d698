"""Pictures sent with a story: checked, re-encoded and stored as the author's private files.

Every upload is opened with Pillow and verified, must be a PNG, JPEG or WebP of at most
`IMAGE_MAX_BYTES` and `IMAGE_MAX_PIXELS`, and is then drawn again into a fresh image:
EXIF (camera, time, GPS position) and every other kind of metadata are left behind, and
anything hiding in the file after the picture is gone. The longest side is at most
`IMAGE_MAX_SIDE` pixels. JPEGs stay JPEGs; PNG and WebP become PNG.

Files are written to private storage before the database rows that point at them, so a
failed submission must delete them again: `files_removed_on_failure` does that.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from handsup.accounts.models import User
from handsup.core.models import PrivateFile

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_SIDE = 1600
# Far beyond any camera; stops a small file that unpacks into gigabytes.
IMAGE_MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})


class StoredFile(NamedTuple):
    storage: Storage
    name: str


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded picture, ready to store: no metadata, at most IMAGE_MAX_SIDE wide."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_image(upload: UploadedFile) -> CleanImage:
    """Check an uploaded picture and re-encode it; ValidationError says what is wrong."""
    if upload.size is not None and upload.size > IMAGE_MAX_BYTES:
        raise ValidationError(
            _("Each picture must be 5 MB or smaller. This one is %(size).1f MB.")
            % {"size": upload.size / (1024 * 1024)},
            code="too_big",
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            probe.verify()
        upload.seek(0)
        image: Image.Image = Image.open(upload)
        if image.format not in ALLOWED_FORMATS:
            raise ValidationError(_("Pictures must be PNG, JPEG or WebP images."), code="format")
        if image.width * image.height > IMAGE_MAX_PIXELS:
            raise ValidationError(
                _("That picture has far too many pixels. Send a smaller copy."), code="too_big"
            )
        image.load()
        source_format = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValidationError(
            _("That file isn't a picture we can read. Send a PNG, JPEG or WebP image."),
            code="not_image",
        ) from error
    # A phone's "rotate when shown" flag lives in the EXIF we are about to drop.
    image = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    if source_format == "JPEG":
        clean = image.convert("RGB")
        clean.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
        clean.save(out, format="JPEG", quality=85, optimize=True)
        content_type, extension = "image/jpeg", "jpg"
    else:
        clean = image.convert("RGBA")
        clean.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
        clean.save(out, format="PNG", optimize=True)
        content_type, extension = "image/png", "png"
    return CleanImage(
        content=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=clean.width,
        height=clean.height,
    )


def store_image(*, owner: User, image: CleanImage, stored: list[StoredFile]) -> PrivateFile:
    """Save `image` as `owner`'s private file; its storage name is added to `stored`."""
    private = PrivateFile(
        name=f"story-picture.{image.extension}", content_type=image.content_type, owner=owner
    )
    # The stored name says nothing about the picture or who sent it.
    private.file.save(f"story.{image.extension}", ContentFile(image.content), save=False)
    stored.append(StoredFile(private.file.storage, str(private.file.name)))
    private.save()
    return private


@contextmanager
def files_removed_on_failure() -> Iterator[list[StoredFile]]:
    """Collect the storage names of files written inside; delete them if anything fails.

    Wrap the whole transaction in it (outside `transaction.atomic`), so a failure while
    writing, or at commit, leaves no file behind that no row points at.
    """
    stored: list[StoredFile] = []
    try:
        yield stored
    except BaseException:
        for storage, name in stored:
            # Best effort: the rows are gone anyway, and the first error is what matters.
            with suppress(OSError):
                storage.delete(name)
        raise
