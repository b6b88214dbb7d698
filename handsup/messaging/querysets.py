"""Chainable reads of messaging's tables."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from handsup.accounts.models import User
    from handsup.groups.models import Group


class LedgerEntryQuerySet(models.QuerySet[Any]):
    def for_person(self, user: User) -> LedgerEntryQuerySet:
        """One person's ledger, newest first (their "what we sent you" page)."""
        return self.filter(user=user).order_by("-at", "-pk")

    def counted(self) -> LedgerEntryQuerySet:
        """The rows that count against a budget: sent now, or held until morning."""
        return self.filter(decision__in=("sent", "held"))


class OutboxItemQuerySet(models.QuerySet[Any]):
    def due(self, now: datetime) -> OutboxItemQuerySet:
        """Rows a worker may claim now: queued (or failed) and due, or a lapsed lease."""
        return self.filter(
            Q(status__in=("queued", "failed"), due_at__lte=now)
            | Q(status="sending", lease_until__lt=now)
        )


class CampaignPeriodQuerySet(models.QuerySet[Any]):
    def active_at(self, moment: datetime) -> CampaignPeriodQuerySet:
        return self.filter(starts_at__lte=moment, ends_at__gt=moment)

    def covering(self, group: Group | None) -> CampaignPeriodQuerySet:
        """Periods that apply to `group`'s messages: movement-wide, or declared for the
        group itself or one of its ancestors. Movement-wide only, for no group."""
        if group is None:
            return self.filter(group__isnull=True)
        chain = [group.pk, *(ancestor.pk for ancestor in group.ancestors())]
        return self.filter(Q(group__isnull=True) | Q(group_id__in=chain))
