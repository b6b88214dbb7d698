"""The curators' side: the queue, the review page with its actions, and the tags."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.permissions import curates_stories
from handsup.messaging.rendering import markdown_to_html
from handsup.privacy.access import log_access
from handsup.stories import actions
from handsup.stories.access import access_story
from handsup.stories.forms import StatusForm, StoryForm, TagChangeForm, TagForm
from handsup.stories.models import Story, Tag

Status = Story.Status
QUEUE_SIZE = 200
# The queue's tabs: (key, label). "featured" is published stories with featured_at.
TABS = (
    ("new", gettext_lazy("New")),
    ("in_review", gettext_lazy("In review")),
    ("needs_changes", gettext_lazy("Needs changes")),
    ("published", gettext_lazy("Published")),
    ("featured", gettext_lazy("Featured")),
    ("rejected", gettext_lazy("Rejected")),
)


def _require_curator(user: Any) -> None:
    if not curates_stories(user):
        raise PermissionDenied


@login_required
def queue(request: AuthenticatedRequest) -> HttpResponse:
    _require_curator(request.user)
    tab = request.GET.get("status", "new")
    if tab not in dict(TABS):
        tab = "new"
    counts = Story.objects.aggregate(
        **{key: Count("pk", filter=Q(status=key)) for key, _label in TABS if key != "featured"},
        featured=Count("pk", filter=Q(status=Status.PUBLISHED, featured_at__isnull=False)),
    )
    stories = Story.objects.select_related("group", "action_type")
    if tab == "featured":
        stories = stories.featured()
    elif tab in (Status.PUBLISHED,):
        stories = stories.filter(status=tab).order_by("-published_at", "-pk")
    elif tab == Status.REJECTED:
        stories = stories.filter(status=tab).order_by("-updated_at", "-pk")
    else:
        # Waiting longest first: nobody's story should sit at the bottom of the pile.
        stories = stories.filter(status=tab).order_by("created_at", "pk")
    return render(
        request,
        "stories/curate_queue.html",
        {
            "tabs": [(key, label, counts[key]) for key, label in TABS],
            "tab": tab,
            "tab_label": dict(TABS)[tab],
            "stories": list(stories[:QUEUE_SIZE]),
            "queue_size": QUEUE_SIZE,
        },
    )


def _review_page(
    request: AuthenticatedRequest,
    story: Story,
    *,
    edit_form: StoryForm | None = None,
    status_form: StatusForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> HttpResponse:
    people = list(story.people.all())
    held_back = set(actions.names_held_back(story.title, story.body, people))
    revisions = list(story.revisions.select_related("edited_by"))
    named = {story.author_id, *(r.edited_by_id for r in revisions if r.edited_by_id)}
    log_access(
        actor=request.user,
        subjects=[pk for pk in named if pk is not None],
        purpose="story_review",
        fields=["full_name"],
        group=story.group,
    )
    publish_problem = None
    try:
        actions.check_can_publish(story)
    except actions.StoryRuleBroken as refusal:
        publish_problem = str(refusal)
    moves = [
        (value, label)
        for value, label in Status.choices
        if value in actions.TRANSITIONS[story.status]
    ]
    return render(
        request,
        "stories/curate_review.html",
        {
            "story": story,
            "body_html": markdown_to_html(story.body),
            "people": [(p, p.name in held_back) for p in people],
            "images": list(story.images.all()),
            "issues": list(story.issues.all()),
            "revisions": revisions,
            "edit_form": edit_form or StoryForm(mode="curate", story=story, prefix="edit"),
            "status_form": status_form or StatusForm(),
            "moves": moves,
            "problem": problem,
            "publish_problem": publish_problem,
        },
        status=status,
    )


@login_required
def review(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    story = access_story(request.user, public_id, "curate")
    if request.method == "POST":
        form = StoryForm(request.POST, mode="curate", story=story, prefix="edit")
        if form.is_valid():
            actions.do_curator_edit_story(actor=request.user, story=story, details=form.details())
            messages.success(request, _("Your edit is saved; the words before it are kept below."))
            return redirect("stories:review", public_id=story.public_id)
        return _review_page(request, story, edit_form=form, status=400)
    return _review_page(request, story)


@login_required
@require_POST
def change_status(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    story = access_story(request.user, public_id, "curate")
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _review_page(
            request,
            story,
            status_form=form,
            problem=_("Choose what should happen to the story."),
            status=400,
        )
    to, note = form.cleaned_data["status"], form.cleaned_data["note"]
    try:
        actions.check_can_change_status(story, to, note)
        story = actions.do_change_story_status(actor=request.user, story=story, to=to, note=note)
    except actions.StoryRuleBroken as refusal:
        return _review_page(request, story, status_form=form, problem=str(refusal), status=400)
    done = {
        Status.IN_REVIEW: _("“%(title)s” is in review."),
        Status.NEEDS_CHANGES: _(
            "“%(title)s” is back with its author, who has been told what to change."
        ),
        Status.PUBLISHED: _("“%(title)s” is published."),
        Status.REJECTED: _("“%(title)s” is rejected; the author has been told why."),
    }
    messages.success(request, done.get(to, _("Saved.")) % {"title": story.title})
    return redirect("stories:review", public_id=story.public_id)


@login_required
@require_POST
def feature(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    story = access_story(request.user, public_id, "curate")
    if request.POST.get("feature") == "0":
        actions.do_unfeature_story(actor=request.user, story=story)
        messages.success(request, _("“%(title)s” is no longer featured.") % {"title": story.title})
        return redirect("stories:review", public_id=story.public_id)
    try:
        actions.do_feature_story(actor=request.user, story=story)
    except actions.StoryRuleBroken as refusal:
        return _review_page(request, story, problem=str(refusal), status=400)
    messages.success(request, _("“%(title)s” is featured.") % {"title": story.title})
    return redirect("stories:review", public_id=story.public_id)


def _tags_page(
    request: AuthenticatedRequest,
    *,
    form: TagForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> HttpResponse:
    tags = list(
        Tag.objects.annotate(
            issue_stories=Count("stories_on_issue", distinct=True),
            type_stories=Count("stories_of_type", distinct=True),
        ).order_by("kind", "name")
    )
    by_kind = [(label, [t for t in tags if t.kind == kind]) for kind, label in Tag.Kind.choices]
    return render(
        request,
        "stories/tags.html",
        {"by_kind": by_kind, "form": form or TagForm(), "problem": problem},
        status=status,
    )


@login_required
def tags(request: AuthenticatedRequest) -> HttpResponse:
    _require_curator(request.user)
    if request.method != "POST":
        return _tags_page(request)
    form = TagForm(request.POST)
    if form.is_valid():
        kind, name = form.cleaned_data["kind"], form.cleaned_data["name"]
        try:
            actions.check_tag_name(kind, name)
        except actions.StoryRuleBroken as refusal:
            form.add_error("name", str(refusal))
        else:
            tag = actions.do_add_tag(actor=request.user, kind=kind, name=name)
            messages.success(request, _("Tag “%(name)s” added.") % {"name": tag.name})
            return redirect("stories:tags")
    return _tags_page(request, form=form, status=400)


@login_required
@require_POST
def change_tag(request: AuthenticatedRequest, tag_id: int) -> HttpResponse:
    _require_curator(request.user)
    tag = get_object_or_404(Tag, pk=tag_id)
    form = TagChangeForm(request.POST)
    if not form.is_valid():
        return _tags_page(
            request, problem=_("Choose a new name, or retire or restore the tag."), status=400
        )
    name, retired = form.cleaned_data["name"].strip(), form.cleaned_data["retired"]
    if name and name != tag.name:
        try:
            actions.check_tag_name(tag.kind, name, tag=tag)
        except actions.StoryRuleBroken as refusal:
            return _tags_page(request, problem=str(refusal), status=400)
        old = tag.name
        actions.do_rename_tag(actor=request.user, tag=tag, name=name)
        messages.success(request, _("“%(old)s” is now “%(new)s”.") % {"old": old, "new": name})
    elif retired in ("0", "1"):
        actions.do_retire_tag(actor=request.user, tag=tag, retired=retired == "1")
        messages.success(
            request,
            (
                _("“%(name)s” is retired: it stays on its stories but can't be chosen.")
                if retired == "1"
                else _("“%(name)s” can be chosen again.")
            )
            % {"name": tag.name},
        )
    else:
        return _tags_page(
            request, problem=_("Choose a new name, or retire or restore the tag."), status=400
        )
    return redirect("stories:tags")
