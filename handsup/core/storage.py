"""Where public and private files live; configured in settings.STORAGES."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, storages
from django.utils.functional import LazyObject


class PrivateFileSystemStorage(FileSystemStorage):
    """Local private storage: files have no URL, so nothing can link to them directly."""

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; serve them through a checked view.")


class _PrivateStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages["private"]


private_storage = _PrivateStorage()
