"""The movement's registry of tools: who may do what, the reads, and every change.

Who may do what (`tool_policy.tools_for(user, action)` / `allows(user, action, tool)`):

- read: its page. Published tools: everyone, signed in or not. Pending or rejected ones:
  whoever submitted it, its maintainers and curators (404 for anyone else).
- edit: change what it says and who maintains it: its maintainers and curators.
- curate: publish or reject it: curators (`groups.permissions.curates_stories`: the
  movement's curators and platform admins).
- ask_for_help: open a "help wanted" need from it: its maintainers, once it is published.

A tool's *maintainers* are the people who added themselves (`ToolMaintainer`) and the
organisers of the groups that maintain it. People only ever add themselves: nobody can
put someone else's name on a tool.

Every change is a `do_*` function: atomic, audited. Views check the input (forms) and
whether the step may happen (`check_*`, raising `ToolRuleBroken` with a message for the
person) before calling one action.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.groups.permissions import PUBLIC_STATUSES, curates_stories, group_policy
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.afterwards import escape_markdown
from handsup.needs.models import ALL_WEEKLY_SLOTS, Need
from handsup.needs.notices import send_notice
from handsup.people.models import PersonSkill, Skill
from handsup.platform.models import Tool, ToolHelpNeed, ToolMaintainer
from handsup.privacy.audit import record_audit

Review = Tool.Review
ToolAction = Literal["read", "edit", "curate", "ask_for_help"]

MAX_TAGS = 10
TAG_MAX_LENGTH = 30
TAG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")
SEARCH_MAX_LENGTH = 100
# "Help wanted" asks for the skills of this taxonomy category (people's 0003 migration:
# web and software development, data analysis, databases, security, mapping, ...).
HELP_SKILL_CATEGORY = "digital"
HELP_SKILL_LEVEL = PersonSkill.Level.CAPABLE
MAX_HELP_SKILLS = 3
MIN_HELPERS, MAX_HELPERS = 1, 5
DEFAULT_DAYS_OPEN = 28


class ToolRuleBroken(Exception):
    """A step can't happen; the message is for the person who tried it."""


@dataclass(frozen=True)
class ToolDetails:
    """What a tool's page says, as checked by the form."""

    name: str
    summary: str
    description: str
    licence: str
    source_url: str
    status: str
    tags: tuple[str, ...]


# --- Who may do what ---------------------------------------------------------------------


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def maintained_by(user: Any) -> Q:
    """Tools `user` maintains: in person, or as an organiser of a maintaining group."""
    if not _signed_in(user):
        return Q(pk__in=[])
    organised = group_policy.groups_for(user, "organise").values("pk")
    in_person = ToolMaintainer.objects.filter(user=user).values("tool_id")
    by_group = Tool.maintainer_groups.through.objects.filter(group_id__in=organised).values(
        "tool_id"
    )
    return Q(pk__in=in_person) | Q(pk__in=by_group)


class ToolPolicy:
    def tools_for(self, user: Any, action: ToolAction) -> QuerySet[Tool]:
        tools = Tool.objects.all()
        signed_in = _signed_in(user)
        curator = signed_in and curates_stories(user)
        published = Q(review=Review.PUBLISHED)
        if action == "read":
            if curator:
                return tools
            if not signed_in:
                return tools.filter(published)
            return tools.filter(published | Q(submitted_by=user) | maintained_by(user))
        if not signed_in:
            return tools.none()
        if action == "curate":
            return tools if curator else tools.none()
        if action == "edit":
            return tools if curator else tools.filter(maintained_by(user))
        return tools.filter(published & maintained_by(user))

    def allows(self, user: Any, action: ToolAction, tool: Tool) -> bool:
        return self.tools_for(user, action).filter(pk=tool.pk).exists()


tool_policy = ToolPolicy()


def access_tool(user: Any, public_id: str, action: ToolAction) -> Tool:
    """The tool, if `user` may do `action` to it; 404 alike for missing and not theirs."""
    tool = tool_policy.tools_for(user, action).filter(public_id=public_id).first()
    if tool is None:
        raise Http404("No such tool.")
    return tool


def tool_page_url(tool: Tool) -> str:
    return reverse("platform:tool", kwargs={"public_id": tool.public_id})


# --- Reads ---------------------------------------------------------------------------------


def published_tools() -> QuerySet[Tool]:
    return Tool.objects.filter(review=Review.PUBLISHED)


def _tags_text() -> Cast:
    # The tags list as its JSON text ('["maps", "data"]'): the same lookup on SQLite and
    # PostgreSQL. Tags are slug-like, so a quoted tag can't appear by accident.
    return Cast("tags", output_field=TextField())


def with_tag(tools: QuerySet[Tool], tag: str) -> QuerySet[Tool]:
    return tools.alias(tags_text=_tags_text()).filter(tags_text__contains=f'"{tag}"')


def matching(tools: QuerySet[Tool], query: str) -> QuerySet[Tool]:
    """Tools whose name, summary, description or tags hold every word of `query`."""
    tools = tools.alias(tags_text=_tags_text())
    for word in query.split():
        tools = tools.filter(
            Q(name__icontains=word)
            | Q(summary__icontains=word)
            | Q(description__icontains=word)
            | Q(tags_text__icontains=word)
        )
    return tools


def tag_counts(tools: QuerySet[Tool]) -> list[tuple[str, int]]:
    """Each tag on these tools with how many have it, most used first (one query)."""
    counts: Counter[str] = Counter()
    for tags in tools.values_list("tags", flat=True):
        counts.update(tag for tag in (tags or []) if isinstance(tag, str))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def waiting_for_curators() -> Q:
    """New and resubmitted tools, and published ones a maintainer has changed since."""
    return Q(review=Review.PENDING) | Q(review=Review.PUBLISHED, changed_since_review=True)


def curators_queue() -> QuerySet[Tool]:
    """Every tool, those waiting for a curator first (longest waiting first)."""
    waiting_first = Case(When(waiting_for_curators(), then=Value(0)), default=Value(1))
    return Tool.objects.order_by(waiting_first, "created_at", "pk")


def public_groups(groups: QuerySet[Group]) -> list[Group]:
    return list(groups.filter(status__in=PUBLIC_STATUSES).order_by("name"))


def maintainer_names(tool: Tool) -> list[tuple[int, str]]:
    """(user id, name) of each person maintaining `tool`: the name on their volunteer
    profile, or their account's name. They put it there themselves."""
    rows = ToolMaintainer.objects.filter(tool=tool).select_related("user", "user__person")
    named: list[tuple[int, str]] = []
    for row in rows:
        person = getattr(row.user, "person", None)
        name = (person.display_name if person is not None else "") or row.user.full_name
        named.append((row.user_id, name.strip() or _("a maintainer")))
    return named


# --- Rules ---------------------------------------------------------------------------------


def submissions_per_day() -> int:
    return int(getattr(settings, "HANDSUP_TOOLS_PER_DAY", 5))


def check_can_submit(submitter: User, *, now: datetime | None = None) -> None:
    """At most so many tools a day from one person (counted from the rows)."""
    now = now or timezone.now()
    limit = submissions_per_day()
    sent = Tool.objects.filter(submitted_by=submitter, created_at__gte=now - timedelta(days=1))
    if sent.count() >= limit:
        raise ToolRuleBroken(
            _(
                "You have sent %(n)d tools in the last day, the most we take. What you "
                "entered is still here: send it again tomorrow."
            )
            % {"n": limit}
        )


def check_can_review(tool: Tool, *, publish: bool, note: str) -> None:
    if publish and tool.review == Review.PUBLISHED and not tool.changed_since_review:
        raise ToolRuleBroken(_("This tool is already published."))
    if not publish and tool.review == Review.REJECTED:
        raise ToolRuleBroken(_("This tool is already rejected."))
    if not publish and not note.strip():
        raise ToolRuleBroken(_("Tell the person who sent it why the tool is rejected."))


def check_group_organised(actor: User, group: Group) -> None:
    if not group_policy.allows(actor, "organise", group):
        raise PermissionDenied("You don't organise this group.")


# --- Changes -------------------------------------------------------------------------------


def _apply(tool: Tool, details: ToolDetails) -> None:
    tool.name = details.name.strip()
    tool.summary = details.summary.strip()
    tool.description = details.description.strip()
    tool.licence = details.licence.strip()
    tool.source_url = details.source_url.strip()
    tool.status = details.status
    tool.tags = list(dict.fromkeys(details.tags))


def _set_maintainers(
    *, actor: User, tool: Tool, groups: Iterable[Group], actor_maintains: bool
) -> dict[str, Any]:
    """Set the maintaining groups; add or remove the actor (and only the actor) as a
    maintaining person. Returns what changed, for the audit row."""
    wanted = {group.pk for group in groups}
    before = set(tool.maintainer_groups.values_list("pk", flat=True))
    tool.maintainer_groups.set(sorted(wanted))
    if actor_maintains:
        _row, added = ToolMaintainer.objects.get_or_create(tool=tool, user=actor)
        removed = False
    else:
        added = False
        removed = ToolMaintainer.objects.filter(tool=tool, user=actor).delete()[0] > 0
    return {
        "groups_added": sorted(wanted - before),
        "groups_removed": sorted(before - wanted),
        "actor_added": added,
        "actor_removed": removed,
    }


@transaction.atomic
def do_submit_tool(
    *, submitter: User, details: ToolDetails, groups: Sequence[Group], maintains: bool
) -> Tool:
    """A new tool, waiting for a curator. `groups` are groups the submitter belongs to
    (the form checked); `maintains`: the submitter listed themselves as a maintainer."""
    # One submission at a time per person, so two at once can't both slip under the limit.
    User.objects.select_for_update().filter(pk=submitter.pk).exists()
    check_can_submit(submitter)
    tool = Tool(submitted_by=submitter, review=Review.PENDING)
    _apply(tool, details)
    tool.save()
    changes = _set_maintainers(actor=submitter, tool=tool, groups=groups, actor_maintains=maintains)
    record_audit(
        actor=submitter,
        action="tool.submitted",
        obj=tool,
        group=groups[0] if groups else None,
        details={"groups": changes["groups_added"], "maintains": maintains},
    )
    return tool


@transaction.atomic
def do_edit_tool(
    *,
    actor: User,
    tool: Tool,
    details: ToolDetails,
    groups: Sequence[Group],
    maintains: bool,
) -> Tool:
    """A maintainer or curator changes the tool. A maintainer's edit of a rejected tool
    sends it back to the curators. A maintainer's change to a published tool's words,
    licence, link or tags keeps it published and puts it in the curators' queue to be
    checked again; a change of stage alone (idea, being built, in use, retired) doesn't."""
    if not tool_policy.allows(actor, "edit", tool):
        raise PermissionDenied("You can't change this tool.")
    tool = Tool.objects.select_for_update().get(pk=tool.pk)
    was = tool.review
    before = _reviewed_content(tool)
    _apply(tool, details)
    curator = curates_stories(actor)
    if was == Review.REJECTED and not curator:
        tool.review = Review.PENDING
    elif was == Review.PUBLISHED and not curator and _reviewed_content(tool) != before:
        tool.changed_since_review = True
    tool.save()
    changes = _set_maintainers(actor=actor, tool=tool, groups=groups, actor_maintains=maintains)
    record_audit(
        actor=actor,
        action="tool.edited",
        obj=tool,
        details={
            "from": was,
            "to": tool.review,
            "to_be_checked": tool.changed_since_review,
            **changes,
        },
    )
    return tool


def _reviewed_content(tool: Tool) -> tuple[object, ...]:
    """What a curator vouched for by publishing: everything readers see but the stage."""
    return (
        tool.name,
        tool.summary,
        tool.description,
        tool.licence,
        tool.source_url,
        tuple(tool.tags or ()),
    )


@transaction.atomic
def do_set_maintainers(
    *, actor: User, tool: Tool, groups: Sequence[Group], maintains: bool
) -> dict[str, Any]:
    """Change only who maintains the tool (see `_set_maintainers`)."""
    if not tool_policy.allows(actor, "edit", tool):
        raise PermissionDenied("You can't change who maintains this tool.")
    changes = _set_maintainers(actor=actor, tool=tool, groups=groups, actor_maintains=maintains)
    record_audit(actor=actor, action="tool.maintainers_changed", obj=tool, details=changes)
    return changes


@transaction.atomic
def do_review_tool(
    *, actor: User, tool: Tool, publish: bool, note: str = "", now: datetime | None = None
) -> Tool:
    """A curator publishes or rejects a tool (with a note saying why); the person who
    sent it is told, with the note, in the same transaction."""
    if not curates_stories(actor):
        raise PermissionDenied("Only curators review tools.")
    tool = Tool.objects.select_for_update().get(pk=tool.pk)
    check_can_review(tool, publish=publish, note=note)
    was = tool.review
    rechecked = was == Review.PUBLISHED and publish
    tool.review = Review.PUBLISHED if publish else Review.REJECTED
    tool.review_note = note.strip()
    tool.changed_since_review = False
    tool.save(update_fields=["review", "review_note", "changed_since_review", "updated_at"])
    record_audit(
        actor=actor,
        action=f"tool.{tool.review}",
        obj=tool,
        details={"from": was, "to": tool.review, "rechecked": rechecked},
    )
    # Keeping a changed tool published tells nobody anything new.
    if tool.submitted_by_id is not None and not rechecked:
        _tell_submitter(actor=actor, tool=tool, now=now)
    return tool


def _quoted(text: str) -> str:
    return "\n".join(
        f"> {escape_markdown(line)}" if line.strip() else ">" for line in text.splitlines()
    )


def _tell_submitter(*, actor: User, tool: Tool, now: datetime | None) -> None:
    name = escape_markdown(tool.name)
    page = settings.SITE_URL + tool_page_url(tool)
    if tool.review == Review.PUBLISHED:
        subject = _("“%(name)s” is in the tools registry") % {"name": tool.name}
        parts = [
            _("Thank you: “%(name)s” is now in the movement's tools registry.") % {"name": name},
            _quoted(tool.review_note) if tool.review_note else "",
            _("[See its page](%(url)s).") % {"url": page},
        ]
    else:
        subject = _("“%(name)s” and the tools registry") % {"name": tool.name}
        parts = [
            _("Thank you for sending “%(name)s”. Our curators can't add it to the registry:")
            % {"name": name},
            _quoted(tool.review_note),
            _("Its maintainers can change it and send it again.") if tool.review_note else "",
        ]
    send_notice(
        actor=actor,
        to=[tool.submitted_by_id] if tool.submitted_by_id else [],
        group=None,
        subject=Truncator(subject).chars(200),
        body_markdown="\n\n".join(part for part in parts if part),
        now=now,
    )


@transaction.atomic
def do_mark_used_by(*, actor: User, tool: Tool, group: Group) -> bool:
    """An organiser says their group uses the tool. Returns whether anything changed."""
    check_group_organised(actor, group)
    if tool.review != Review.PUBLISHED:
        raise ToolRuleBroken(_("Only a published tool can be marked as used."))
    if tool.used_by.filter(pk=group.pk).exists():
        return False
    tool.used_by.add(group)
    record_audit(actor=actor, action="tool.used_by_added", obj=tool, group=group)
    return True


@transaction.atomic
def do_unmark_used_by(*, actor: User, tool: Tool, group: Group) -> bool:
    """An organiser says their group no longer uses the tool."""
    check_group_organised(actor, group)
    if not tool.used_by.filter(pk=group.pk).exists():
        return False
    tool.used_by.remove(group)
    record_audit(actor=actor, action="tool.used_by_removed", obj=tool, group=group)
    return True


# --- Help wanted ---------------------------------------------------------------------------


def help_skills() -> QuerySet[Skill]:
    return Skill.objects.filter(category__slug=HELP_SKILL_CATEGORY).order_by("name")


def groups_for_help(user: Any) -> list[Group]:
    """Groups a "help wanted" need may be put under: those the person organises."""
    return list(group_policy.groups_for(user, "organise").order_by("name"))


def default_closing_date() -> date:
    return timezone.localdate() + timedelta(days=DEFAULT_DAYS_OPEN)


@dataclass(frozen=True)
class HelpRequest:
    """What the maintainer asked for, checked by the form."""

    skills: tuple[Skill, ...]
    people_needed: int
    hours: Decimal
    closes_on: date
    words: str


def help_need_details(*, tool: Tool, ask: HelpRequest) -> NeedDetails:
    """Remote and ongoing (work on a tool is done whenever the helper is free). One
    skill is required; with several, anyone with one of them may be asked."""
    name = Truncator(tool.name).chars(80)
    skill_names = ", ".join(skill.name.lower() for skill in ask.skills)
    description = "\n\n".join(
        part
        for part in (
            _("Help wanted on %(name)s: %(summary)s")
            % {"name": escape_markdown(name), "summary": escape_markdown(tool.summary)},
            ask.words.strip(),
            _("The tool: %(url)s") % {"url": settings.SITE_URL + tool_page_url(tool)},
            _("Its source: %(url)s") % {"url": tool.source_url},
            _("Remote: from anywhere, whenever suits you before the closing date."),
        )
        if part
    )
    required = len(ask.skills) == 1
    return NeedDetails(
        title=Truncator(
            _("Help wanted on %(name)s: %(skills)s") % {"name": name, "skills": skill_names}
        ).chars(200),
        description=description,
        skills=tuple(
            SkillWanted(skill=skill, min_level=HELP_SKILL_LEVEL, required=required)
            for skill in ask.skills
        ),
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


@transaction.atomic
def do_open_tool_help_need(
    *, actor: User, tool: Tool, group: Group, ask: HelpRequest
) -> ToolHelpNeed:
    """A draft need of `group` (which the actor organises) asking for help with `tool`,
    and the row linking the two. The group's organisers publish it as any other need."""
    if not tool_policy.allows(actor, "ask_for_help", tool):
        raise PermissionDenied("You can't ask for help with this tool.")
    check_group_organised(actor, group)
    if not ask.skills or any(skill.category.slug != HELP_SKILL_CATEGORY for skill in ask.skills):
        raise ToolRuleBroken(_("Choose the skills from the list."))
    need = do_create_need(actor=actor, group=group, details=help_need_details(tool=tool, ask=ask))
    help_need = ToolHelpNeed.objects.create(tool=tool, need=need, opened_by=actor)
    record_audit(
        actor=actor,
        action="tool.help_need_opened",
        obj=tool,
        group=group,
        details={"need": need.public_id, "skills": [skill.slug for skill in ask.skills]},
    )
    return help_need


def open_help_needs(tool: Tool) -> list[dict[str, Any]]:
    """The tool's "help wanted" needs open to anyone in the movement (one query)."""
    rows = (
        ToolHelpNeed.objects.filter(
            tool=tool,
            need__in=Need.objects.open().filter(visibility=Need.Visibility.MOVEMENT),
        )
        .select_related("need")
        .order_by("need__closes_on", "pk")
    )
    return [
        {
            "title": row.need.title,
            "places_left": row.need.places_left,
            "closes_on": row.need.closes_on,
            "url": reverse("needs:page", kwargs={"public_id": row.need.public_id}),
        }
        for row in rows
    ]


def draft_help_needs(tool: Tool) -> list[Need]:
    return [
        row.need
        for row in ToolHelpNeed.objects.filter(tool=tool, need__status=Need.Status.DRAFT)
        .select_related("need", "need__group")
        .order_by("pk")
    ]
