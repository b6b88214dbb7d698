"""Telling a story: the submission form, the author's own stories, and revising one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from handsup.core.http import AuthenticatedRequest
from handsup.needs.models import Invitation, Need
from handsup.needs.permissions import need_policy
from handsup.people.models import Person
from handsup.stories import actions
from handsup.stories.access import access_story
from handsup.stories.forms import Submission
from handsup.stories.models import MAX_IMAGES, TITLE_MAX, Story
from handsup.stories.notices import plain_markdown
from handsup.stories.permissions import AUTHOR_MAY_REVISE

OUTCOME_OF = (Need.Status.FILLED, Need.Status.CLOSED)


def _is_verified(user: Any) -> bool:
    return Person.objects.filter(user=user, verified=True).exists()


def _outcome_need(request: AuthenticatedRequest) -> Need | None:
    """The filled or closed need an organiser is writing up (`?outcome_of=`), or 404."""
    public_id = request.GET.get("outcome_of", "").strip()
    if not public_id:
        return None
    need = (
        need_policy.needs_for(request.user, "manage")
        .filter(public_id=public_id, status__in=OUTCOME_OF)
        .select_related("group")
        .first()
    )
    if need is None:
        raise Http404("No such need.")
    return need


def outcome_initial(need: Need) -> dict[str, Any]:
    """A story about what a need achieved, in counts only: nobody who helped is named."""
    said_yes = need.invitations.filter(status=Invitation.Status.ACCEPTED).count()
    helped = need.invitations.filter(status=Invitation.Status.ACCEPTED, helped=True).count()
    title = _("What came of “%(title)s”") % {"title": need.title}
    lines = [
        _("%(group)s asked for help with **%(title)s**:")
        % {"group": plain_markdown(need.group.name), "title": plain_markdown(need.title)},
        "\n".join(
            f"> {line}" if line.strip() else ">"
            for line in plain_markdown(need.description).splitlines()
        ),
        ngettext(
            "%(n)d volunteer said yes",
            "%(n)d volunteers said yes",
            said_yes,
        )
        % {"n": said_yes}
        + (
            ngettext(", and %(n)d helped.", ", and %(n)d helped.", helped) % {"n": helped}
            if helped
            else "."
        ),
        _("What happened next, and what changed because of it:"),
    ]
    happened = timezone.localdate(need.closed_at) if need.closed_at else timezone.localdate()
    return {
        "title": title[:TITLE_MAX],
        "body": "\n\n".join(lines),
        "group": need.group,
        "district": need.district,
        "happened_on": happened,
    }


@login_required
def new_story(request: AuthenticatedRequest) -> HttpResponse:
    if not _is_verified(request.user):
        return render(request, "stories/submit_not_yet.html", status=403)
    need = _outcome_need(request)
    initial: dict[str, Any] = outcome_initial(need) if need is not None else {}
    slug = request.GET.get("group", "").strip()
    if slug and need is None:
        mine = request.user.memberships.filter(group__slug=slug).select_related("group").first()
        if mine is not None:
            initial["group"] = mine.group
    posted = request.method == "POST"
    submission = Submission(
        request.POST if posted else None,
        request.FILES if posted else None,
        mode="submit",
        user=request.user,
        initial=initial,
        extra_group=need.group if need is not None else None,
    )
    status, problem = 200, None
    if posted:
        if submission.is_spam:
            # Looks exactly like success to whoever filled it in; nothing is kept.
            return redirect("stories:submitted")
        try:
            actions.check_can_submit(request.user)
        except actions.StoryRuleBroken as refusal:
            status, problem = 429, str(refusal)
        else:
            if not submission.is_valid():
                status = 400
            else:
                try:
                    actions.do_submit_story(
                        author=request.user,
                        details=submission.form.details(),
                        group=submission.form.cleaned_data.get("group"),
                        people=submission.people.people(),
                        images=submission.images.images(),
                        outcome_of=need,
                    )
                except actions.StoryRuleBroken as refusal:
                    # Another submission of theirs got in first and reached the limit.
                    status, problem = 429, str(refusal)
                else:
                    return redirect("stories:submitted")
    return render(
        request,
        "stories/submit.html",
        {
            "submission": submission,
            "form": submission.form,
            "need": need,
            "problem": problem,
            "max_images": MAX_IMAGES,
        },
        status=status,
    )


@login_required
def submitted(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "stories/submit_thanks.html")


@login_required
def my_stories(request: AuthenticatedRequest) -> HttpResponse:
    stories = list(Story.objects.by(request.user).select_related("group").order_by("-created_at"))
    for story in stories:
        story.may_revise = story.status in AUTHOR_MAY_REVISE  # type: ignore[attr-defined]
    return render(request, "stories/mine.html", {"stories": stories})


@login_required
def edit_story(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    story = access_story(request.user, public_id, "revise")
    if story.author_id != request.user.pk or story.status not in AUTHOR_MAY_REVISE:
        # Only curators get here (the policy lets them revise anything): their edit form
        # is on the review page, where each edit is kept as a revision.
        return redirect("stories:review", public_id=story.public_id)
    posted = request.method == "POST"
    submission = Submission(
        request.POST if posted else None,
        request.FILES if posted else None,
        mode="revise",
        story=story,
    )
    if posted and submission.is_valid():
        try:
            actions.do_revise_story(
                actor=request.user,
                story=story,
                details=submission.form.details(),
                people=submission.people.people(),
                pictures=submission.picture_changes(),
            )
        except actions.StoryRuleBroken as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                _("Your changes to “%(title)s” are saved and back with our curators.")
                % {"title": submission.form.cleaned_data["title"]},
            )
        return redirect("stories:mine")
    return render(
        request,
        "stories/edit.html",
        {
            "submission": submission,
            "form": submission.form,
            "story": story,
            "max_images": MAX_IMAGES,
        },
        status=400 if posted else 200,
    )
