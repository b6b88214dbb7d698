"""Imports' tests keep their private files in a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def private_files_in_tmp(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "handsup.core.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": folder},
        },
    }
    return folder
