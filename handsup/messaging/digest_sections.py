"""What goes in a digest: sections, and the extension point other apps add theirs through.

A section is a function registered with `register_section`. It gets a `DigestWindow`
(the people of one batch, each with the moment their last digest was put together, and
the moment this one is) and returns, for each person it has something for, the items to
show, newest or most relevant first. It must be set-based: one batch is thousands of
people, so a section runs a few queries for all of them, never one per person.

    from handsup.messaging.digest_sections import DigestItem, register_section

    @register_section("needs", title=_("Needs that fit you"), order=20)
    def needs_that_fit(window: DigestWindow) -> dict[int, list[DigestItem]]:
        ...

The built-in sections are "What we kept for your digest" (group updates and movement news
pacing folded because the person was at a limit: the full message goes in the email)
and "Your groups' news" (who joined, new sub-groups). The needs and stories apps
register theirs from their own `digest.py`, imported by their `AppConfig.ready`.

A section sees only what the person may see: the folded section drops messages from a
group the person has since stopped (an unsubscribe or withdrawn consent), and the news
section skips groups they stopped.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from handsup.groups.models import Group, Membership
from handsup.messaging.models import Decision, LedgerEntry, Unsubscribe
from handsup.privacy.models import ConsentEvent
from handsup.privacy.register import PurposeCode

# Folded messages older than this are no longer news; they stay on the person's ledger.
# Two months: a monthly digest refused once for the cadence (a changed cadence) still
# finds what waited for it.
FOLDED_LOOKBACK = timedelta(days=62)
# A section shows at most this many items; the email says how many more there were.
ITEMS_PER_SECTION = 8


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest (with, for a folded message, the message itself below it).

    Stored as JSON in `Digest.sections` until the email is rendered, so keep it small:
    `message_id` names a message whose body the email shows in full, instead of a copy.
    """

    title: str
    summary: str = ""
    url: str = ""
    source: str = ""  # who it is from, e.g. a group's name
    at: str = ""  # ISO 8601, when it happened
    message_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in ("", None)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DigestItem:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass(frozen=True)
class DigestWindow:
    """The people of one batch and the stretch of time their digests cover.

    `since[user_id]` is when that person's previous digest was put together (or one
    cadence ago, for a first digest); `until` is now. `cadence[user_id]` is theirs.
    """

    until: datetime
    since: Mapping[int, datetime]
    cadence: Mapping[int, str] = field(default_factory=dict)
    using: str = DEFAULT_DB_ALIAS

    @property
    def user_ids(self) -> list[int]:
        return sorted(self.since)

    @property
    def earliest(self) -> datetime:
        return min(self.since.values(), default=self.until)


SectionFunction = Callable[[DigestWindow], Mapping[int, Sequence[DigestItem]]]


@dataclass(frozen=True)
class DigestSection:
    name: str
    title: Any  # a lazy translation
    order: int
    collect: SectionFunction
    intro: Any = ""
    # Collected also for people who asked for no digest: only what pacing folded for
    # them counts, so their ledger can say why it never reached them.
    for_people_without_a_digest: bool = False


_sections: dict[str, DigestSection] = {}


def register_section(
    name: str,
    *,
    title: Any,
    order: int,
    intro: Any = "",
    for_people_without_a_digest: bool = False,
) -> Callable[[SectionFunction], SectionFunction]:
    """Add a section to every digest, in `order` (lowest first). Names are unique."""

    def register(func: SectionFunction) -> SectionFunction:
        existing = _sections.get(name)
        if existing is not None and existing.collect is not func:
            raise ValueError(f"A digest section called {name!r} is already registered.")
        _sections[name] = DigestSection(
            name=name,
            title=title,
            order=order,
            collect=func,
            intro=intro,
            for_people_without_a_digest=for_people_without_a_digest,
        )
        return func

    return register


def unregister_section(name: str) -> None:
    """Take a section out again (tests that register one of their own)."""
    _sections.pop(name, None)


def registered_sections() -> list[DigestSection]:
    return sorted(_sections.values(), key=lambda section: (section.order, section.name))


def section_named(name: str) -> DigestSection | None:
    return _sections.get(name)


# --- Built-in: what pacing folded --------------------------------------------------------


def folded_rows(user_ids: Iterable[int], *, until: datetime, using: str) -> Any:
    """Folded ledger rows of these people that no digest has settled yet, recent enough."""
    return LedgerEntry.objects.using(using).filter(
        user_id__in=list(user_ids),
        decision=Decision.FOLDED,
        digest__isnull=True,
        at__gt=until - FOLDED_LOOKBACK,
        at__lte=until,
    )


def _stopped_groups(user_ids: Sequence[int], *, using: str) -> dict[int, set[int]]:
    """Per person, the groups they no longer want mail from: an unsubscribe from the
    group, or their latest `group_email` consent for it withdrawn."""
    stopped: dict[int, set[int]] = defaultdict(set)
    for user_id, group_id in (
        Unsubscribe.objects.using(using)
        .filter(user_id__in=user_ids, scope=Unsubscribe.Scope.GROUP)
        .values_list("user_id", "group_id")
    ):
        stopped[user_id].add(group_id)
    latest: dict[tuple[int, int], bool] = {}
    for user_id, group_id, given in (
        ConsentEvent.objects.using(using)
        .filter(
            user_id__in=user_ids,
            purpose__code=PurposeCode.GROUP_EMAIL,
            group__isnull=False,
            channel="",
        )
        .order_by("at", "id")
        .values_list("user_id", "group_id", "given")
    ):
        latest[(user_id, group_id)] = bool(given)
    for (user_id, group_id), given in latest.items():
        if not given:
            stopped[user_id].add(group_id)
    return stopped


@register_section(
    "folded",
    title=_("What we kept for your digest"),
    intro=_(
        "These came while you were at the limit you set for messages, so we kept them "
        "for your digest instead of sending them one by one."
    ),
    order=10,
    for_people_without_a_digest=True,
)
def folded_for_you(window: DigestWindow) -> dict[int, list[DigestItem]]:
    user_ids = window.user_ids
    rows = list(
        folded_rows(user_ids, until=window.until, using=window.using)
        .select_related("message", "message__group")
        .only(
            "user_id",
            "at",
            "kind",
            "group_id",
            "message__id",
            "message__subject",
            "message__kind",
            "message__group__name",
            "message__group__slug",
        )
        .order_by("user_id", "at", "id")
    )
    if not rows:
        return {}
    stopped = _stopped_groups(user_ids, using=window.using)
    stopped_kinds: dict[int, set[str]] = defaultdict(set)
    for user_id, kind in (
        Unsubscribe.objects.using(window.using)
        .filter(user_id__in=user_ids, scope=Unsubscribe.Scope.KIND)
        .values_list("user_id", "kind")
    ):
        stopped_kinds[user_id].add(kind)
    found: dict[int, list[DigestItem]] = defaultdict(list)
    for row in rows:
        if row.group_id in stopped[row.user_id] or row.kind in stopped_kinds[row.user_id]:
            continue
        message = row.message
        group = message.group
        found[row.user_id].append(
            DigestItem(
                title=message.subject,
                source=group.name if group is not None else "",
                url=reverse("groups:page", args=[group.slug]) if group is not None else "",
                at=row.at.isoformat(),
                message_id=message.pk,
            )
        )
    return dict(found)


# --- Built-in: the person's groups --------------------------------------------------------


@register_section(
    "groups",
    title=_("Your groups' news"),
    order=40,
)
def your_groups_news(window: DigestWindow) -> dict[int, list[DigestItem]]:
    """Who joined each of the person's groups since their last digest, and new
    sub-groups. Facts the platform knows, never what an organiser wrote: that reaches
    people only as their own message, by email or folded into the digest."""
    user_ids = window.user_ids
    memberships = list(
        Membership.objects.using(window.using)
        .filter(user_id__in=user_ids, group__status=Group.Status.ACTIVE)
        .values_list("user_id", "group_id")
    )
    if not memberships:
        return {}
    group_ids = {group_id for _user, group_id in memberships}
    groups = {
        group.pk: group
        for group in Group.objects.using(window.using)
        .filter(pk__in=group_ids)
        .only("id", "name", "slug")
    }
    # Everyone who joined these groups in the window, per group, in time order.
    joins: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for group_id, joined_at, member_id in (
        Membership.objects.using(window.using)
        .filter(group_id__in=group_ids, joined_at__gt=window.earliest, joined_at__lte=window.until)
        .order_by("joined_at")
        .values_list("group_id", "joined_at", "user_id")
    ):
        joins[group_id].append((joined_at, member_id))
    new_groups: dict[int, list[Group]] = defaultdict(list)
    for child in (
        Group.objects.using(window.using)
        .filter(
            parent_id__in=group_ids,
            status=Group.Status.ACTIVE,
            created_at__gt=window.earliest,
            created_at__lte=window.until,
        )
        .only("id", "name", "slug", "parent_id", "created_at")
        .order_by("created_at")
    ):
        assert child.parent_id is not None
        new_groups[child.parent_id].append(child)
    stopped = _stopped_groups(user_ids, using=window.using)
    mine: dict[int, list[int]] = defaultdict(list)
    for user_id, group_id in memberships:
        if group_id not in stopped[user_id]:
            mine[user_id].append(group_id)
    found: dict[int, list[DigestItem]] = {}
    for user_id, my_groups in mine.items():
        since = window.since[user_id]
        items: list[DigestItem] = []
        for group_id in sorted(my_groups, key=lambda pk: groups[pk].name):
            group = groups[group_id]
            url = reverse("groups:page", args=[group.slug])
            recent = joins.get(group_id, [])
            start = bisect_right(recent, (since, 2**63))
            joined = sum(1 for _at, member in recent[start:] if member != user_id)
            if joined:
                items.append(
                    DigestItem(
                        title=ngettext(
                            "%(n)d person joined %(group)s",
                            "%(n)d people joined %(group)s",
                            joined,
                        )
                        % {"n": joined, "group": group.name},
                        url=url,
                    )
                )
            for child in new_groups.get(group_id, []):
                if child.created_at > since:
                    items.append(
                        DigestItem(
                            title=str(_("New group: %(name)s")) % {"name": child.name},
                            summary=str(_("Part of %(parent)s.")) % {"parent": group.name},
                            url=reverse("groups:page", args=[child.slug]),
                            at=child.created_at.isoformat(),
                        )
                    )
        if items:
            found[user_id] = items
    return found
