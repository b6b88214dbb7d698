from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from handsup.places.geo import Point, bounding_box

if TYPE_CHECKING:
    from handsup.groups.models import Group


class PersonQuerySet(models.QuerySet[Any]):
    def seeded(self) -> PersonQuerySet:
        return self.filter(seeded=True)

    def located(self) -> PersonQuerySet:
        return self.filter(eastings__isnull=False, northings__isnull=False)

    def in_box_around(self, centre: Point, km: float) -> PersonQuerySet:
        """People inside the square of side 2·`km` around `centre`: an indexed range
        filter that callers refine with `distance_km` (the corners are up to √2·km away)."""
        min_e, max_e, min_n, max_n = bounding_box(centre, km)
        return self.filter(eastings__range=(min_e, max_e), northings__range=(min_n, max_n))

    def findable(self, *, by: Group | None = None) -> PersonQuerySet:
        """People who may be suggested for a need: verified, and whose consent lets them
        be found — by any group (`found_movement`) or, when `by` is given, by a group
        they belong to (`found_my_groups`). The one place matching asks who is findable.
        """
        from handsup.groups.models import Membership
        from handsup.privacy.consent import latest_consent_given
        from handsup.privacy.register import PurposeCode

        # A probe per person of their latest event (not the set of everyone who
        # consented): matching's queries narrow the people first (a box, a skill, a
        # shortlist to re-check), so this reads a few index entries, not every event.
        people = self.alias(found_anyone=latest_consent_given(PurposeCode.FOUND_MOVEMENT))
        allowed = Q(found_anyone=True)
        if by is not None:
            people = people.alias(found_mine=latest_consent_given(PurposeCode.FOUND_MY_GROUPS))
            allowed |= Q(found_mine=True) & Q(
                user_id__in=Membership.objects.filter(group=by).values("user_id")
            )
        return people.filter(allowed, verified=True)
