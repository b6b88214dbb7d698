"""Chainable reads of needs."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class NeedQuerySet(models.QuerySet[Any]):
    def open(self) -> NeedQuerySet:
        """Taking volunteers now: published, not closed, closing date not passed, and the
        group itself active."""
        return self.filter(
            status="open", closes_on__gte=timezone.localdate(), group__status="active"
        )
