"""The one place that answers "may this person do X to this need?".

Actions, each as `needs_for(user, action)` (the queryset) and `allows(user, action, need)`:

- manage: create, edit, publish and close it: the organisers and admins of its group
  (whatever `group_policy` says may "organise" the group, so the two can't drift apart).
- view: its volunteer page. Those who may manage it, always (drafts included); any other
  signed-in person only while it is open, and for a members-only need only members of
  its group.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q, QuerySet

from handsup.groups.models import Membership
from handsup.groups.permissions import group_policy
from handsup.needs.models import Need

NeedAction = Literal["view", "manage"]


class NeedPolicy:
    def needs_for(self, user: Any, action: NeedAction) -> QuerySet[Need]:
        if not getattr(user, "is_authenticated", False):
            return Need.objects.none()
        organised = Q(group__in=group_policy.groups_for(user, "organise").values("pk"))
        if action == "manage":
            return Need.objects.filter(organised)
        own_groups = Membership.objects.filter(user=user).values("group_id")
        open_to_them = Q(pk__in=Need.objects.open().values("pk")) & (
            Q(visibility=Need.Visibility.MOVEMENT) | Q(group__in=own_groups)
        )
        return Need.objects.filter(organised | open_to_them)

    def allows(self, user: Any, action: NeedAction, need: Need) -> bool:
        return self.needs_for(user, action).filter(pk=need.pk).exists()


need_policy = NeedPolicy()
