"""Support from the centre: a story's group asks for a small grant, staff time or equipment.

The organisers and admins of the story's group ask (what, how much, why); curators
approve or decline, with a note (required to decline); the requester is told by service
message, and the group's organisers see the status and the note on the request's page.
A decision is made once: deciding again changes nothing.

Who sees what: `support_requests_for(user)` is the one answer — the requesting group's
organisers and admins, and curators. Everyone else gets the same 404 as for a request
that doesn't exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.permissions import curates_stories, group_policy
from handsup.needs.afterwards import escape_markdown
from handsup.needs.notices import send_notice
from handsup.privacy.audit import record_audit
from handsup.stories.models import Story, SupportRequest


class SupportRefused(Exception):
    """A support step can't happen; the message is for the person who tried it."""


def stories_supportable_by(user: Any) -> QuerySet[Story]:
    """Stories whose group `user` organises (and that weren't rejected): they may ask the
    centre for support for them."""
    if not getattr(user, "is_authenticated", False):
        return Story.objects.none()
    organised = group_policy.groups_for(user, "organise").values("pk")
    return Story.objects.filter(group__in=organised).exclude(status=Story.Status.REJECTED)


def access_supportable_story(user: Any, public_id: str) -> Story:
    story = stories_supportable_by(user).filter(public_id=public_id).select_related("group").first()
    if story is None:
        raise Http404("No such story.")
    return story


def support_requests_for(user: Any) -> QuerySet[SupportRequest]:
    """Requests `user` may see: all of them for curators, their groups' for organisers."""
    requests = SupportRequest.objects.all()
    if not getattr(user, "is_authenticated", False):
        return requests.none()
    if curates_stories(user):
        return requests
    return requests.filter(group__in=group_policy.groups_for(user, "organise").values("pk"))


def access_support_request(user: Any, public_id: str) -> SupportRequest:
    request = (
        support_requests_for(user)
        .filter(public_id=public_id)
        .select_related("story", "group", "requested_by", "decided_by")
        .first()
    )
    if request is None:
        raise Http404("No such support request.")
    return request


def curators_queue() -> QuerySet[SupportRequest]:
    """Every request, those waiting for a decision first (oldest first, so none waits
    long), then the decided ones, most recently decided first."""
    pending_first = Case(
        When(status=SupportRequest.Status.PENDING, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    # Pending requests all have no decided_at, so they fall through to created_at.
    return SupportRequest.objects.select_related("story", "group").order_by(
        pending_first, "-decided_at", "created_at", "pk"
    )


def status_page_url(request: SupportRequest) -> str:
    return reverse("stories:support_status", kwargs={"public_id": request.public_id})


@transaction.atomic
def do_request_support(
    *, actor: User, story: Story, kind: str, what: str, how_much: str, why: str
) -> SupportRequest:
    """The story's group asks the centre for support (the form checked the fields)."""
    group = story.group
    if group is None or not group_policy.allows(actor, "organise", group):
        raise PermissionDenied("Only the story's group's organisers can ask for support.")
    request = SupportRequest.objects.create(
        story=story,
        group=group,
        requested_by=actor,
        kind=kind,
        what=what.strip(),
        how_much=how_much.strip(),
        why=why.strip(),
    )
    record_audit(
        actor=actor,
        action="stories.support_requested",
        obj=request,
        group=group,
        details={"story": story.public_id, "kind": kind},
    )
    return request


def check_can_decide(request: SupportRequest) -> None:
    if request.status != SupportRequest.Status.PENDING:
        raise SupportRefused(
            _("This request was already %(status)s; nothing was changed.")
            % {"status": request.get_status_display().lower()}
        )


@transaction.atomic
def do_decide_support(
    *, actor: User, request: SupportRequest, approve: bool, note: str
) -> SupportRequest:
    """A curator approves or declines (a decline always says why) and the requester is
    told. Refuses with `SupportRefused` if it was decided already, changing nothing."""
    if not curates_stories(actor):
        raise PermissionDenied("Only curators decide on support requests.")
    request = (
        SupportRequest.objects.select_for_update(of=("self",))
        .select_related("story", "group", "requested_by")
        .get(pk=request.pk)
    )
    check_can_decide(request)
    note = note.strip()
    if not approve and not note:
        raise SupportRefused(_("Say why the request is declined."))
    request.status = SupportRequest.Status.APPROVED if approve else SupportRequest.Status.DECLINED
    request.decided_by = actor
    request.decision_note = note
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decision_note", "decided_at"])
    record_audit(
        actor=actor,
        action="stories.support_decided",
        obj=request,
        group=request.group,
        details={"status": request.status, "story": request.story.public_id},
    )
    requester = request.requested_by
    if requester is not None and requester.is_active:
        _tell_requester(actor=actor, request=request, requester=requester)
    return request


def _tell_requester(*, actor: User, request: SupportRequest, requester: User) -> None:
    title = escape_markdown(Truncator(request.story.title).chars(120))
    what = escape_markdown(request.what)
    approved = request.status == SupportRequest.Status.APPROVED
    lines = [
        (
            _("The centre approved your request for “%(what)s” for the story “%(title)s”.")
            if approved
            else _("The centre declined your request for “%(what)s” for the story “%(title)s”.")
        )
        % {"what": what, "title": title},
    ]
    if request.decision_note:
        lines.append(_("Their note: %(note)s") % {"note": escape_markdown(request.decision_note)})
    lines.append(
        _("[See the request](%(url)s)") % {"url": settings.SITE_URL + status_page_url(request)}
    )
    send_notice(
        actor=actor,
        to=[requester],
        group=None,
        subject=(
            _("Your support request was approved")
            if approved
            else _("Your support request was declined")
        ),
        body_markdown="\n\n".join(lines),
    )


def pending_count() -> int:
    return SupportRequest.objects.filter(status=SupportRequest.Status.PENDING).count()
