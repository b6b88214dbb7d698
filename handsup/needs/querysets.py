"""Chainable reads of needs."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


def open_need(through: str = "") -> models.Q:
    """`NeedQuerySet.open`'s condition, on a need reached through `through` (e.g.
    "need__" from its invitations): a join from a few rows, not a subquery over every
    open need."""
    return models.Q(
        **{
            f"{through}status": "open",
            f"{through}closes_on__gte": timezone.localdate(),
            f"{through}group__status": "active",
        }
    )


class NeedQuerySet(models.QuerySet[Any]):
    def open(self) -> NeedQuerySet:
        """Taking volunteers now: published, not closed, closing date not passed, and the
        group itself active."""
        return self.filter(open_need())
