"""Shared helpers for the stories tests: make a story directly, and tiny pictures."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.files.storage import storages
from django.utils import timezone
from PIL import Image

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.stories.models import Story, StoryPerson, Tag


def make_story(author: User, status: str = Story.Status.NEW, **fields: Any) -> Story:
    """A story as if it had been submitted (and, for later statuses, curated).

    Extra keyword arguments are Story fields; `issues` (tags) and `people`
    ((name, consented) pairs) are set after saving. A published story gets a
    `published_at` unless one is given.
    """
    issues = fields.pop("issues", ())
    people = fields.pop("people", ())
    defaults: dict[str, Any] = {
        "title": "Tenants win repairs on the Hulme estate",
        "body": "After a year of letters, the landlord agreed to fix the damp.",
        "region": "north_west",
        "district": "M1",
        "eastings": 384_000,
        "northings": 398_000,
        "happened_on": date(2026, 3, 1),
    }
    defaults.update(fields)
    if status == Story.Status.PUBLISHED and defaults.get("published_at") is None:
        defaults["published_at"] = timezone.now()
    story = Story.objects.create(author=author, status=status, **defaults)
    if issues:
        story.issues.set(issues)
    for name, consented in people:
        StoryPerson.objects.create(story=story, name=name, consented=consented)
    return story


def tag(kind: str, slug: str) -> Tag:
    """One of the starting tags (migration 0002), e.g. tag("issue", "housing")."""
    return Tag.objects.get(kind=kind, slug=slug)


def png_bytes(
    width: int = 4, height: int = 3, colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    """A tiny valid PNG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 8, height: int = 6, *, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (10, 120, 40))
    if exif is not None:
        image.save(out, format="JPEG", exif=exif.tobytes())
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def private_media(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Private (and public) files go to a folder of the test's own; returns that folder."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root / "public", "base_url": "/media/"},
        },
        "private": {
            "BACKEND": "handsup.core.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": root / "private"},
        },
    }
    # A callable storage is resolved when the model loads: point the field there too.
    monkeypatch.setattr(PrivateFile._meta.get_field("file"), "storage", storages["private"])
    return root / "private"
