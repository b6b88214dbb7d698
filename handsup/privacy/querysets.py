from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

if TYPE_CHECKING:
    from handsup.groups.models import Group
    from handsup.privacy.models import PrivacyNotice, Purpose


class PrivacyNoticeQuerySet(models.QuerySet[Any]):
    def published(self) -> PrivacyNoticeQuerySet:
        return self.filter(published_at__isnull=False, published_at__lte=timezone.now())

    def current(self) -> PrivacyNotice | None:
        """The newest published version: the one people are shown now."""
        return self.published().order_by("-version").first()


class ConsentEventQuerySet(models.QuerySet[Any]):
    def for_key(
        self, purpose: str | Purpose, *, group: Group | None, channel: str
    ) -> ConsentEventQuerySet:
        """Events for one purpose, group (or movement-wide, if None) and channel."""
        if isinstance(purpose, str):
            by_purpose = Q(purpose__code=purpose)
        else:
            by_purpose = Q(purpose=purpose)
        by_group = Q(group__isnull=True) if group is None else Q(group=group)
        return self.filter(by_purpose, by_group, channel=channel)

    def latest_per_person(self) -> ConsentEventQuerySet:
        """Of these events (one key), each person's latest: no later row for them exists.

        Set-based (an anti-join the (purpose, group, channel, user, at) index serves), so
        it scales to audiences of hundreds of thousands. Call it on a `for_key` queryset
        only: the "later row" is looked for among the same rows.
        """
        later = self.filter(user=OuterRef("user")).filter(
            Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk"))
        )
        return self.filter(~Exists(later))
