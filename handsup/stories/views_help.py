"""Help to tell a story (a need opened from it, credits, the result) and support from
the centre (the group asks, curators decide)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.permissions import curates_stories
from handsup.needs.actions import NeedRuleBroken
from handsup.needs.permissions import need_policy
from handsup.stories import help as story_help
from handsup.stories import support
from handsup.stories.access import access_story
from handsup.stories.forms_help import (
    CreditForm,
    HelpNeedForm,
    ResultForm,
    SupportDecisionForm,
    SupportRequestForm,
)
from handsup.stories.models import Story, SupportRequest
from handsup.stories.permissions import story_policy

# --- Help to tell a story ----------------------------------------------------------------


@login_required
def help_need(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """ "Help tell this story": a draft need of a group the person may use."""
    story = access_story(request.user, public_id, "ask_for_help")
    groups = story_help.groups_for_help(request.user, story)
    if not groups:
        # Nothing is written, so a POST gets the same explanation.
        return render(
            request,
            "stories/help_nobody.html",
            {"story": story, "story_url": story_help.story_page_url(story)},
            status=200 if request.method == "GET" else 400,
        )
    form = HelpNeedForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        try:
            help_need = story_help.do_open_help_need(
                actor=request.user, story=story, group=form.chosen_group, ask=form.ask
            )
        except (NeedRuleBroken, story_help.HelpRefused) as refusal:
            form.add_error(None, str(refusal))
        else:
            need = help_need.need
            if need_policy.allows(request.user, "manage", need):
                messages.success(
                    request,
                    _(
                        "“%(title)s” is saved as a draft. Check it here, then publish it "
                        "from your group's needs."
                    )
                    % {"title": need.title},
                )
                return redirect(
                    "needs:edit", public_id=need.group.public_id, need_id=need.public_id
                )
            messages.success(
                request,
                _(
                    "“%(title)s” is saved as a draft for %(group)s. Its organisers have it and "
                    "we've told them: they publish it and find the people."
                )
                % {"title": need.title, "group": need.group.name},
            )
            return redirect(story_help.story_page_url(story))
    return render(
        request,
        "stories/help_need_form.html",
        {"story": story, "form": form, "story_url": story_help.story_page_url(story)},
        status=400 if form.is_bound else 200,
    )


def _after_credit(request: AuthenticatedRequest, story: Story) -> HttpResponse:
    if story_policy.allows(request.user, "read", story):
        return redirect(story_help.story_page_url(story))
    return redirect("needs:my_needs")


@login_required
@require_POST
def help_credit(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """A helper chooses to be named on the story, or stops being named."""
    story = story_help.access_helped_story(request.user, public_id)
    form = CreditForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("credit", [])))
        return _after_credit(request, story)
    story_help.do_set_credit(actor=request.user, story=story, credited=form.credited)
    messages.success(
        request,
        _("Your name is shown on the story as one of its helpers.")
        if form.credited
        else _("Your name is no longer shown on the story; you are still counted as a helper."),
    )
    return _after_credit(request, story)


@login_required
@require_POST
def help_result(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """The author or a curator records where the finished telling is."""
    story = access_story(request.user, public_id, "ask_for_help")
    form = ResultForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "stories/help_result.html",
            {"story": story, "form": form, "story_url": story_help.story_page_url(story)},
            status=400,
        )
    url = form.cleaned_data["url"]
    story_help.do_record_told_result(actor=request.user, story=story, url=url)
    messages.success(
        request,
        _("The link to the result is saved.") if url else _("The link to the result is removed."),
    )
    return redirect(story_help.story_page_url(story))


# --- Support from the centre -------------------------------------------------------------


@login_required
def support_new(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """The story's group's organisers ask the centre for a grant, staff time or equipment."""
    story = support.access_supportable_story(request.user, public_id)
    form = SupportRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        support_request = support.do_request_support(
            actor=request.user,
            story=story,
            kind=data["kind"],
            what=data["what"],
            how_much=data["how_much"],
            why=data["why"],
        )
        messages.success(
            request, _("Your request is with the centre's curators. We'll tell you their answer.")
        )
        return redirect("stories:support_status", public_id=support_request.public_id)
    return render(
        request,
        "stories/support_form.html",
        {
            "story": story,
            "form": form,
            "story_url": story_help.story_page_url(story),
            "earlier": story.support_requests.all(),
        },
        status=400 if form.is_bound else 200,
    )


def _status_page(
    request: AuthenticatedRequest,
    support_request: SupportRequest,
    *,
    form: SupportDecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    curator = curates_stories(request.user)
    pending = support_request.status == SupportRequest.Status.PENDING
    return render(
        request,
        "stories/support_status.html",
        {
            "support_request": support_request,
            "story_url": story_help.story_page_url(support_request.story),
            "is_curator": curator,
            "form": form or (SupportDecisionForm() if curator and pending else None),
        },
        status=status,
    )


@login_required
def support_status(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """The request as it stands: for its group's organisers and for curators."""
    support_request = support.access_support_request(request.user, public_id)
    return _status_page(request, support_request)


def _curators_only(request: AuthenticatedRequest) -> None:
    if not curates_stories(request.user):
        raise PermissionDenied


@login_required
def support_queue(request: AuthenticatedRequest) -> HttpResponse:
    """Every support request, those waiting for a decision first."""
    _curators_only(request)
    return render(
        request,
        "stories/support_queue.html",
        {"requests": list(support.curators_queue()), "pending": support.pending_count()},
    )


@login_required
@require_POST
def support_decide(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    _curators_only(request)
    support_request = support.access_support_request(request.user, public_id)
    try:
        support.check_can_decide(support_request)
    except support.SupportRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("stories:support_status", public_id=support_request.public_id)
    form = SupportDecisionForm(request.POST)
    if not form.is_valid():
        return _status_page(request, support_request, form=form, status=400)
    try:
        decided = support.do_decide_support(
            actor=request.user,
            request=support_request,
            approve=form.approve,
            note=form.cleaned_data["note"],
        )
    except support.SupportRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("stories:support_status", public_id=support_request.public_id)
    messages.success(
        request,
        _("Request %(status)s. We've told the person who asked.")
        % {"status": decided.get_status_display().lower()},
    )
    return redirect("stories:support_queue")
