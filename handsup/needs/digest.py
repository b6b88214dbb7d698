"""The digest's "Needs that fit you": the top few of each person's "needs for me".

Registered with messaging's digest sections when the app is ready (`NeedsConfig.ready`
imports this module). For each person in the batch it takes the best needs of
`for_me.needs_for_person`, the same list as their "Needs for me" page, leaving out any
need they already have an invitation for (asked, offered or answered): the digest is
for needs they haven't heard about.

Demo scale: `needs_for_person` runs per person, so one query first narrows the batch to
people who could fit anything at all (verified, with a skill some open need asks for).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handsup.accounts.models import User
from handsup.messaging.digest_sections import DigestItem, DigestWindow, register_section
from handsup.needs.for_me import NeedForYou, needs_for_person
from handsup.needs.models import Need, NeedSkill
from handsup.people.models import PersonSkill

NEEDS_PER_DIGEST = 3


@register_section(
    "needs",
    title=gettext_lazy("Needs that fit you"),
    intro=gettext_lazy(
        "Open needs that fit your skills, where you are and when you are free, best "
        "first. Offer to help from the need's page."
    ),
    order=20,
)
def needs_that_fit(window: DigestWindow) -> dict[int, list[DigestItem]]:
    wanted_skills = (
        NeedSkill.objects.using(window.using)
        .filter(need__in=Need.objects.open().values("pk"))
        .values("skill_id")
    )
    who = set(
        PersonSkill.objects.using(window.using)
        .filter(
            person__user_id__in=window.user_ids,
            person__verified=True,
            skill_id__in=wanted_skills,
        )
        .values_list("person__user_id", flat=True)
    )
    if not who:
        return {}
    found: dict[int, list[DigestItem]] = {}
    for user in User.objects.using(window.using).filter(pk__in=who, is_active=True):
        fitting = [
            item for item in needs_for_person(user, now=window.until) if item.invitation is None
        ]
        if fitting:
            found[user.pk] = [_item(item) for item in fitting[:NEEDS_PER_DIGEST]]
    return found


def _item(item: NeedForYou) -> DigestItem:
    need = item.need
    where = need.area_name if need.location_kind == Need.LocationKind.ON_SITE else _("remote")
    summary = _("%(where)s · closes %(closes)s. %(why)s") % {
        "where": where,
        "closes": date_format(need.closes_on, "j F"),
        "why": item.why,
    }
    return DigestItem(
        title=need.title,
        summary=summary.strip(),
        url=reverse("needs:page", args=[need.public_id]),
        source=need.group.name,
    )
