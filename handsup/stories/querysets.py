"""Chainable reads of stories."""

from __future__ import annotations

from typing import Any

from django.db import models


class StoryQuerySet(models.QuerySet[Any]):
    def published(self) -> StoryQuerySet:
        return self.filter(status="published")

    def featured(self) -> StoryQuerySet:
        return self.published().filter(featured_at__isnull=False).order_by("-featured_at")

    def in_queue(self) -> StoryQuerySet:
        """What curators still have to decide on."""
        return self.filter(status__in=["new", "in_review"])

    def by(self, user: Any) -> StoryQuerySet:
        return self.filter(author=user) if getattr(user, "is_authenticated", False) else self.none()
