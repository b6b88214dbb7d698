"""Published stories of the whole movement (what anyone can read on the site), and
submitting one for the token's group, through the same form rules as the site.

A story sent through the API goes to the curators' queue like any other (it is never
published without them), as the admin who created the token, for the token's group.
Pictures can't be sent through the API; the author adds them on the site.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from handsup.platform.api.errors import Unprocessable
from handsup.platform.api.needs import audit_api_write
from handsup.platform.api.paging import page
from handsup.platform.api.schemas import (
    PageQuery,
    StoryIn,
    StoryOut,
    StoryPage,
    StorySubmittedOut,
    responses,
)
from handsup.platform.api_auth import require_scope
from handsup.platform.models import Scope
from handsup.stories import actions
from handsup.stories.forms import Submission
from handsup.stories.models import Story, Tag

router = Router(tags=["stories"])


@router.get("", response=responses({200: StoryPage}), summary="Published stories")
def list_stories(request: HttpRequest, paging: Query[PageQuery]) -> StoryPage:
    require_scope(request, Scope.STORIES_READ)
    items, next_cursor = page(
        Story.objects.published().select_related("group"),
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return StoryPage(
        items=[
            StoryOut(
                id=story.public_id,
                title=story.title,
                body=story.body,
                happened_on=story.happened_on,
                district=story.district,
                region=story.region,
                group=story.group.public_id if story.group else None,
                published_at=story.published_at,
            )
            for story in items
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "", response=responses({201: StorySubmittedOut}), summary="Submit a story for curators"
)
def submit_story(request: HttpRequest, payload: StoryIn) -> Status:
    token = require_scope(request, Scope.STORIES_WRITE)
    author = token.created_by
    assert author is not None  # token_problem refuses tokens without one
    submission = Submission(_form_data(token.group.pk, payload), mode="submit", user=author)
    try:
        actions.check_can_submit(author)
    except actions.StoryRuleBroken as refusal:
        raise HttpError(429, str(refusal)) from None
    if not submission.is_valid():
        raise Unprocessable(_("The story breaks a rule; see each field."), _problems(submission))
    try:
        story = actions.do_submit_story(
            author=author,
            details=submission.form.details(),
            group=submission.form.cleaned_data.get("group"),
            people=submission.people.people(),
        )
    except actions.StoryRuleBroken as refusal:  # another submission reached the limit
        raise HttpError(429, str(refusal)) from None
    audit_api_write(token, "story_submitted", story)
    return Status(201, StorySubmittedOut(id=story.public_id, status=story.status))


def _form_data(group_pk: int, payload: StoryIn) -> dict[str, Any]:
    """The site's form fields for the API's input: tags by slug become their ids (an
    unknown slug becomes an id no tag has, which the form refuses by name)."""
    tags = {(tag.kind, tag.slug): tag.pk for tag in Tag.objects.filter(retired=False)}
    data: dict[str, Any] = {
        "title": payload.title,
        "body": payload.body,
        "district": payload.district,
        "region": payload.region,
        "happened_on": payload.happened_on.isoformat(),
        "issues": [tags.get((Tag.Kind.ISSUE, slug), 0) for slug in payload.issues],
        "action_type": tags.get((Tag.Kind.ACTION, payload.action), 0) if payload.action else "",
        "links": "\n".join(payload.links),
        "group": group_pk,
        "website": "",
        "people-TOTAL_FORMS": str(len(payload.people)),
        "people-INITIAL_FORMS": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }
    for index, person in enumerate(payload.people):
        data[f"people-{index}-name"] = person.name
        data[f"people-{index}-role"] = person.role
        if person.consented:
            data[f"people-{index}-consented"] = "on"
    return data


API_FIELDS = {"action_type": "action", "issues": "issues"}


def _problems(submission: Submission) -> dict[str, str]:
    """Each field's first problem, named as the API names it (people by position)."""
    problems: dict[str, str] = {}
    for name, errors in submission.form.errors.items():
        problems[API_FIELDS.get(name, name)] = str(errors[0])
    for index, person_form in enumerate(submission.people.forms):
        for name, errors in person_form.errors.items():
            problems[f"people[{index}].{name}"] = str(errors[0])
    for error in submission.people.non_form_errors():
        problems["people"] = str(error)
    return problems or {"detail": _("The story breaks a rule.")}
