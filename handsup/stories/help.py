"""Helping to tell a story: needs opened from it, the helpers credited, the result.

From a story its author or a curator opens a "help tell this story" need (video editing,
photography, writing or design). It is an ordinary need, made by `needs.actions
.do_create_need` as a draft of a group the person may use, remote and ongoing, so the
normal needs flow takes over: the group's organisers publish it, shortlist, ask, and
volunteers say yes. `StoryHelpNeed` remembers which story it helps.

The story then counts its helpers — everyone whose invitation to one of its help needs
was accepted — and names only those who chose to be named (`StoryCredit`). A name is
never shown without that row, to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.groups.permissions import PRIVILEGED_GROUP_ROLES, curates_stories, group_policy
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.afterwards import escape_markdown
from handsup.needs.models import ALL_WEEKLY_SLOTS, Invitation, Need
from handsup.needs.notices import send_notice
from handsup.needs.permissions import need_policy
from handsup.people.models import PersonSkill, Skill
from handsup.privacy.audit import record_audit
from handsup.stories.models import Story, StoryCredit, StoryHelpNeed
from handsup.stories.permissions import story_policy

# The taxonomy skill (by slug, from people's 0003_skills_taxonomy) each kind of help asks for.
KIND_SKILL_SLUG: dict[str, str] = {
    StoryHelpNeed.Kind.VIDEO: "video-editing",
    StoryHelpNeed.Kind.PHOTOGRAPHY: "photography",
    StoryHelpNeed.Kind.WRITING: "writing",
    StoryHelpNeed.Kind.DESIGN: "graphic-design",
}
# "Capable": telling a local story well doesn't need a professional, but not a beginner.
HELP_SKILL_LEVEL = PersonSkill.Level.CAPABLE
MIN_HELPERS, MAX_HELPERS = 1, 5
DEFAULT_DAYS_OPEN = 28
MAX_WORDS = 1000


class HelpRefused(Exception):
    """A help step can't happen; the message is for the person who tried it."""


def story_page_url(story: Story) -> str:
    """The story's page (the reader side's route), as a path."""
    return reverse("stories:story", kwargs={"public_id": story.public_id})


def skill_for(kind: str) -> Skill | None:
    slug = KIND_SKILL_SLUG.get(kind)
    return Skill.objects.filter(slug=slug).first() if slug else None


def default_closing_date() -> date:
    return timezone.localdate() + timedelta(days=DEFAULT_DAYS_OPEN)


def groups_for_help(user: Any, story: Story) -> list[Group]:
    """Groups a help need for `story` may be put under by `user`: the groups they may
    organise; for a curator also the story's group and the movement's root group, on the
    centre's behalf. The story's group first when it is among them."""
    choices: list[Group] = list(group_policy.groups_for(user, "organise").order_by("name"))
    if curates_stories(user):
        roots = Group.objects.filter(parent__isnull=True, status=Group.Status.ACTIVE)
        choices += list(roots.order_by("pk"))
        if story.group is not None and story.group.status == Group.Status.ACTIVE:
            choices.insert(0, story.group)
    unique: dict[int, Group] = {}
    for group in choices:
        unique.setdefault(group.pk, group)
    ordered = list(unique.values())
    if story.group_id in unique:
        ordered.sort(key=lambda group: group.pk != story.group_id)
    return ordered


@dataclass(frozen=True)
class HelpRequest:
    """What the person asked for, checked by the form."""

    kind: str
    people_needed: int
    hours: Decimal
    closes_on: date
    words: str


def help_need_details(*, story: Story, ask: HelpRequest, skill: Skill) -> NeedDetails:
    """The need's details: remote, ongoing on any part of the week (help to tell a
    story is done whenever the helper is free), the kind's skill at "capable" or better."""
    kind_label = StoryHelpNeed.Kind(ask.kind).label
    title = Truncator(story.title).chars(120)
    url = settings.SITE_URL + story_page_url(story)
    description = "\n\n".join(
        part
        for part in (
            _("Help tell the story “%(title)s”: %(kind)s.")
            % {"title": title, "kind": str(kind_label).lower()},
            ask.words.strip(),
            _("The story: %(url)s") % {"url": url},
            _("Remote: from anywhere, whenever suits you before the closing date."),
        )
        if part
    )
    return NeedDetails(
        title=_("%(kind)s: help tell “%(title)s”") % {"kind": kind_label, "title": title},
        description=description,
        skills=(SkillWanted(skill=skill, min_level=HELP_SKILL_LEVEL, required=True),),
        location_kind=Need.LocationKind.REMOTE,
        place=None,
        radius_km=None,
        schedule_kind=Need.ScheduleKind.ONGOING,
        weekly_slots=ALL_WEEKLY_SLOTS,
        hours=ask.hours,
        people_needed=ask.people_needed,
        closes_on=ask.closes_on,
        visibility=Need.Visibility.MOVEMENT,
    )


def _organiser_ids(group: Group, *, besides: User) -> list[int]:
    return list(
        Membership.objects.filter(
            group=group, role__in=PRIVILEGED_GROUP_ROLES, user__is_active=True
        )
        .exclude(user=besides)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


@transaction.atomic
def do_open_help_need(
    *, actor: User, story: Story, group: Group, ask: HelpRequest
) -> StoryHelpNeed:
    """A draft need of `group` to help tell `story`, and the row linking the two.

    When the actor can't manage the need themselves (a curator using a group's name),
    the group's organisers are told a draft is waiting for them."""
    if not story_policy.allows(actor, "ask_for_help", story):
        raise PermissionDenied("You can't ask for help with this story.")
    if group.pk not in {choice.pk for choice in groups_for_help(actor, story)}:
        raise PermissionDenied("You can't open a need for this group.")
    skill = skill_for(ask.kind)
    if skill is None:
        raise HelpRefused(_("That kind of help isn't in the skills list; choose another."))
    need = do_create_need(
        actor=actor, group=group, details=help_need_details(story=story, ask=ask, skill=skill)
    )
    help_need = StoryHelpNeed.objects.create(story=story, need=need, kind=ask.kind, opened_by=actor)
    record_audit(
        actor=actor,
        action="stories.help_need_opened",
        obj=story,
        group=group,
        details={"need": need.public_id, "kind": ask.kind, "people": ask.people_needed},
    )
    if not need_policy.allows(actor, "manage", need):
        url = settings.SITE_URL + reverse("needs:group_needs", args=[group.public_id])
        send_notice(
            actor=actor,
            to=_organiser_ids(group, besides=actor),
            group=group,
            subject=_("A draft need to help tell a story"),
            body_markdown="\n\n".join(
                [
                    _(
                        "A story curator opened a draft need for %(group)s to help tell "
                        "the story “%(title)s”: %(need)s."
                    )
                    % {
                        "group": escape_markdown(group.name),
                        "title": escape_markdown(Truncator(story.title).chars(120)),
                        "need": escape_markdown(need.title),
                    },
                    _("Check it, then publish it from [your group's needs](%(url)s).")
                    % {"url": url},
                ]
            ),
        )
    return help_need


# --- Helpers and credits -----------------------------------------------------------------


def helper_ids(story: Story) -> set[int]:
    """Everyone whose invitation to one of the story's help needs was accepted."""
    return set(
        Invitation.objects.filter(
            need__story_help__story=story, status=Invitation.Status.ACCEPTED
        ).values_list("user_id", flat=True)
    )


def is_helper(user: Any, story: Story) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return Invitation.objects.filter(
        need__story_help__story=story, status=Invitation.Status.ACCEPTED, user=user
    ).exists()


def access_helped_story(user: Any, public_id: str) -> Story:
    """A story the signed-in person helped tell; 404 alike for a missing story and one
    they didn't help with, so nobody learns who helped by probing."""
    story = Story.objects.filter(public_id=public_id).first()
    if story is None or not is_helper(user, story):
        raise Http404("No such story.")
    return story


@transaction.atomic
def do_set_credit(*, actor: User, story: Story, credited: bool) -> bool:
    """The helper chooses to be named on the story, or stops being named. Returns
    whether anything changed."""
    if not is_helper(actor, story):
        raise PermissionDenied("Only the story's helpers can choose to be named on it.")
    if credited:
        _credit, changed = StoryCredit.objects.get_or_create(story=story, user=actor)
    else:
        changed = StoryCredit.objects.filter(story=story, user=actor).delete()[0] > 0
    if changed:
        record_audit(
            actor=actor,
            action="stories.credit_given" if credited else "stories.credit_withdrawn",
            obj=story,
            group=story.group,
        )
    return changed


@transaction.atomic
def do_record_told_result(*, actor: User, story: Story, url: str) -> Story:
    """Where the finished telling lives (an http(s) URL the form checked), or "" to remove."""
    if not story_policy.allows(actor, "ask_for_help", story):
        raise PermissionDenied("You can't change this story's result link.")
    story = Story.objects.select_for_update().get(pk=story.pk)
    was = story.told_result_url
    story.told_result_url = url
    story.save(update_fields=["told_result_url", "updated_at"])
    record_audit(
        actor=actor,
        action="stories.told_result_recorded",
        obj=story,
        group=story.group,
        details={"url": url, "was": was},
    )
    return story


# --- What the story page shows -----------------------------------------------------------


def story_help_context(story: Story, user: Any) -> dict[str, Any]:
    """What the story page shows about help to tell it, for this reader.

    Names only the helpers who chose to be credited; everyone else is only counted. Works
    for anonymous readers. A fixed handful of queries, whatever the number of helpers."""
    help_needs = list(story.help_needs.select_related("need"))
    need_ids = [row.need_id for row in help_needs]
    accepted = (
        list(
            Invitation.objects.filter(need_id__in=need_ids, status=Invitation.Status.ACCEPTED)
            .values_list("user_id", flat=True)
            .distinct()
        )
        if need_ids
        else []
    )
    helpers = set(accepted)
    credited_names = (
        [
            credit.user.full_name.strip()
            for credit in StoryCredit.objects.filter(story=story, user_id__in=helpers)
            .select_related("user")
            .order_by("user__full_name", "pk")
            if credit.user.full_name.strip()
        ]
        if helpers
        else []
    )
    open_needs = [
        {
            "title": row.need.title,
            "kind": row.get_kind_display(),
            "places_left": row.need.places_left,
            "url": reverse("needs:page", kwargs={"public_id": row.need.public_id}),
        }
        for row in help_needs
        if row.need.status == Need.Status.OPEN
    ]
    signed_in = getattr(user, "is_authenticated", False)
    may_ask = signed_in and story_policy.allows(user, "ask_for_help", story)
    user_is_helper = signed_in and user.pk in helpers
    may_request_support = (
        signed_in
        and story.group is not None
        and story.status != Story.Status.REJECTED
        and group_policy.allows(user, "organise", story.group)
    )
    # Keys start with "help_": the story page merges them into its own context.
    return {
        "help_count": len(helpers),
        "help_credited_names": credited_names,
        "help_open_needs": open_needs,
        # Drafts are for those who asked, not for readers.
        "help_waiting_drafts": (
            [row.need.title for row in help_needs if row.need.status == Need.Status.DRAFT]
            if may_ask
            else []
        ),
        "help_result_url": story.told_result_url,
        "help_may_ask": may_ask,
        "help_may_request_support": may_request_support,
        "help_is_helper": user_is_helper,
        "help_is_credited": user_is_helper
        and StoryCredit.objects.filter(story=story, user=user).exists(),
    }
