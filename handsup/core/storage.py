"""Where public and private files live; configured in settings.STORAGES."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, Storage, storages


class PrivateFileSystemStorage(FileSystemStorage):
    """Local private storage: files have no URL, so nothing can link to them directly."""

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; serve them through a checked view.")


def private_storage() -> Storage:
    """The private store, looked up when used so settings can change it (tests, S3)."""
    return storages["private"]
