"""Opaque public ids: what appears in URLs instead of sequential integers."""

from __future__ import annotations

import secrets

from django.db import models

PUBLIC_ID_LENGTH = 16


def new_public_id() -> str:
    # 12 random bytes, URL-safe: unguessable and short enough to read aloud.
    return secrets.token_urlsafe(12)


class PublicIdModel(models.Model):
    """Base for every model whose rows appear in a URL."""

    public_id = models.CharField(
        max_length=PUBLIC_ID_LENGTH * 2,
        unique=True,
        default=new_public_id,
        editable=False,
    )

    class Meta:
        abstract = True
