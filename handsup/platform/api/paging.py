"""Cursor pagination: newest first, the cursor an opaque signed token of the last id."""

from __future__ import annotations

import base64
from typing import Any

from django.core import signing
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from ninja.errors import HttpError

_signer = signing.Signer(salt="handsup.platform.api.cursor")


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(_signer.sign(str(pk)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(_signer.unsign(base64.urlsafe_b64decode(padded.encode()).decode()))
    except (ValueError, signing.BadSignature, UnicodeError):
        raise HttpError(400, _("The cursor is not one this API gave out.")) from None


def page[M: Model](
    queryset: QuerySet[M], *, cursor: str | None, limit: int
) -> tuple[list[M], str | None]:
    """Up to `limit` rows after `cursor`, and the cursor of the next page (None at the end)."""
    rows = queryset.order_by("-pk")
    if cursor:
        rows = rows.filter(pk__lt=decode_cursor(cursor))
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    last: Any = items[-1].pk if items else None
    return items, encode_cursor(last) if more and last is not None else None
