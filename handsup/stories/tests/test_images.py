"""Story pictures: checked, re-encoded without metadata, size-bounded, stored privately."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from handsup.core.models import PrivateFile
from handsup.stories.images import IMAGE_MAX_SIDE, clean_image
from handsup.stories.models import StoryImage
from handsup.stories.tests.conftest import jpeg_bytes, png_bytes
from handsup.stories.tests.test_submit import story_data

GPS_IFD = 0x8825


def exif_with_secrets() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x013B] = "Secret Photographer"  # Artist
    exif[0x0110] = "Secret Phone 12"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° when shown
    return exif


def upload(content: bytes, name: str = "p.png", kind: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, kind)


def test_a_jpeg_loses_its_exif_and_is_turned_upright():
    source = jpeg_bytes(40, 20, exif=exif_with_secrets())
    assert b"Secret Photographer" in source
    clean = clean_image(upload(source, "photo.jpg", "image/jpeg"))
    assert clean.content_type == "image/jpeg"
    assert b"Secret" not in clean.content and b"secret" not in clean.content
    with Image.open(io.BytesIO(clean.content)) as reopened:
        assert dict(reopened.getexif()) == {}
        assert "exif" not in reopened.info
        # The orientation flag was applied before it was dropped.
        assert reopened.size == (20, 40) == (clean.width, clean.height)


def test_a_png_loses_its_text_chunks():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret location 53.48N 2.24W")
    out = io.BytesIO()
    Image.new("RGB", (5, 5)).save(out, format="PNG", pnginfo=info)
    clean = clean_image(upload(out.getvalue()))
    assert b"secret location" not in clean.content
    assert clean.content_type == "image/png"


def test_webp_becomes_png():
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (1, 2, 3)).save(out, format="WEBP")
    clean = clean_image(upload(out.getvalue(), "p.webp", "image/webp"))
    assert clean.content_type == "image/png"
    assert clean.content.startswith(b"\x89PNG")


def test_large_pictures_are_scaled_down():
    out = io.BytesIO()
    Image.new("RGB", (3200, 1000)).save(out, format="PNG")
    clean = clean_image(upload(out.getvalue()))
    assert (clean.width, clean.height) == (IMAGE_MAX_SIDE, 500)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a" + b"\0" * 40, "isn't a picture we can read"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "isn't a picture",
        ),
        (png_bytes()[:30], "isn't a picture we can read"),
        (b"", "isn't a picture we can read"),
        (png_bytes() + b"\0" * (5 * 1024 * 1024), "5 MB or smaller"),
    ],
)
def test_what_is_not_an_acceptable_picture(content, message):
    with pytest.raises(ValidationError) as refused:
        clean_image(upload(content))
    assert message in str(refused.value)


def test_a_gif_is_refused_by_format():
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="GIF")
    with pytest.raises(ValidationError) as refused:
        clean_image(upload(out.getvalue(), "p.gif", "image/gif"))
    assert "PNG, JPEG or WebP" in str(refused.value)


def test_too_many_pixels_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")
    assert len(out.getvalue()) < 5 * 1024 * 1024
    with pytest.raises(ValidationError) as refused:
        clean_image(upload(out.getvalue()))
    assert "far too many pixels" in str(refused.value)


@pytest.mark.django_db
def test_a_submitted_jpeg_is_stored_privately_without_exif(cast, places, private_media):
    source = jpeg_bytes(30, 30, exif=exif_with_secrets())
    data = story_data(
        **{
            "images-0-image": upload(source, "holiday.jpg", "image/jpeg"),
            "images-0-alt_text": "The crowd at the rally",
        }
    )
    response = cast.client_for("volunteer").post(reverse("stories:new"), data)
    assert response.status_code == 302
    image = StoryImage.objects.select_related("file").get()
    stored: PrivateFile = image.file
    assert stored.owner == cast.users["volunteer"]
    assert "holiday" not in str(stored.file.name) and "holiday" not in stored.name
    with stored.file.open("rb") as handle:
        content = handle.read()
    assert b"Secret" not in content
    with Image.open(io.BytesIO(content)) as reopened:
        assert dict(reopened.getexif()) == {}
    # It lives in private storage, which has no public URL.
    assert (private_media / stored.file.name).is_file()
    with pytest.raises(ValueError):
        stored.file.url  # noqa: B018
