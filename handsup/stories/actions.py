"""Every change to stories and their tags: submit, revise, curate, feature, tag.

Each `do_*` function is atomic and writes an audit row. Views check the input (forms)
and whether the step may happen at all (the `check_*` functions, which raise
`StoryRuleBroken` with a message for the person) before calling one action; the actions
check the rules that protect people again, whoever calls them.

Nothing here publishes a story except `do_change_story_status(to="published")`, which
only a curator reaches: every submission starts as "new", and an author's revision puts
a story back in the queue, never on the site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.groups.models import Group
from handsup.needs.models import Need
from handsup.privacy.audit import record_audit
from handsup.stories import notices
from handsup.stories.images import (
    CleanImage,
    StoredFile,
    files_removed_on_failure,
    store_image,
)
from handsup.stories.models import (
    MAX_IMAGES,
    Story,
    StoryImage,
    StoryPerson,
    StoryRevision,
    Tag,
)

Status = Story.Status

# Which way a story may move through the queue, and nowhere else.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {Status.IN_REVIEW, Status.NEEDS_CHANGES, Status.PUBLISHED, Status.REJECTED}
    ),
    Status.IN_REVIEW: frozenset({Status.NEEDS_CHANGES, Status.PUBLISHED, Status.REJECTED}),
    # The author revises (back to "new"), or a curator takes it up again.
    Status.NEEDS_CHANGES: frozenset({Status.IN_REVIEW, Status.REJECTED}),
    # Taking a story down puts it back in review.
    Status.PUBLISHED: frozenset({Status.IN_REVIEW}),
    Status.REJECTED: frozenset({Status.IN_REVIEW}),
}
NOTE_REQUIRED = frozenset({Status.NEEDS_CHANGES, Status.REJECTED})


class StoryRuleBroken(Exception):
    """A step can't happen; the message is for the person who tried it."""


@dataclass(frozen=True)
class StoryPlace:
    """A postcode district placed at its centroid (with its region), or only a region."""

    region: str
    district: str = ""
    eastings: int | None = None
    northings: int | None = None


@dataclass(frozen=True)
class StoryDetails:
    """What a story says. `happened_on` and `links` None: leave them as they are."""

    title: str
    body: str
    place: StoryPlace
    issues: tuple[Tag, ...]
    action_type: Tag | None
    happened_on: date | None = None
    links: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NamedPerson:
    name: str
    role: str
    consented: bool


@dataclass(frozen=True)
class NewImage:
    image: CleanImage
    alt_text: str


@dataclass(frozen=True)
class PictureChanges:
    """What an author does to their story's pictures when revising it.

    `described` holds each picture they keep (by `StoryImage` id) with its description,
    changed or not; `removed` the ids of those that go; `added` the new ones, which come
    after the kept ones. Between them, `described` and `removed` name every picture the
    story has.
    """

    described: dict[int, str] = field(default_factory=dict)
    removed: frozenset[int] = frozenset()
    added: Sequence[NewImage] = ()


# --- Rules ---------------------------------------------------------------------------------


def _mentions(text: str, name: str) -> bool:
    words = name.split()
    if not words:
        return False
    # The whole name in any case; or one of its longer parts as a proper noun ("Smith
    # said…"), which names them just as well but would match ordinary words in lower case.
    whole = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    if re.search(whole, text, flags=re.IGNORECASE):
        return True
    if len(words) == 1:
        return False
    return any(
        re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text)
        for w in words
        if len(w) >= 3 and w[0].isupper()
    )


def names_held_back(
    title: str, body: str, people: Iterable[NamedPerson | StoryPerson]
) -> list[str]:
    """The names of people who did not agree to be named but are still in the words."""
    text = f"{title}\n{body}"
    return [p.name for p in people if not p.consented and _mentions(text, p.name)]


def held_back_message(name: str) -> str:
    return _(
        "%(name)s is named in your story but hasn't agreed to be named: tick the box or "
        "take the name out."
    ) % {"name": name}


def check_can_publish(story: Story) -> None:
    """Refuse to publish a story that still names someone who did not agree to it."""
    held_back = names_held_back(story.title, story.body, story.people.all())
    if held_back:
        raise StoryRuleBroken(
            _(
                "This story can't be published yet: it names %(names)s, who hasn't agreed "
                "to be named or quoted. Take the name out of the title and text (or ask the "
                "author to get their agreement) first."
            )
            % {"names": ", ".join(held_back)}
        )


def check_can_change_status(story: Story, to: str, note: str) -> None:
    if to not in Status.values:
        raise StoryRuleBroken(_("Choose what should happen to the story."))
    if to not in TRANSITIONS[story.status]:
        raise StoryRuleBroken(
            _("A story that is “%(now)s” can't be moved to “%(to)s”.")
            % {"now": story.get_status_display(), "to": Status(to).label}
        )
    if to in NOTE_REQUIRED and not note.strip():
        raise StoryRuleBroken(
            _("Tell the author what to change and why.")
            if to == Status.NEEDS_CHANGES
            else _("Tell the author why the story is rejected.")
        )
    if to == Status.PUBLISHED:
        check_can_publish(story)


def submission_limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "HANDSUP_STORIES_PER_HOUR", 3)),
        int(getattr(settings, "HANDSUP_STORIES_PER_DAY", 10)),
    )


def check_can_submit(author: User, *, now: datetime | None = None) -> None:
    """At most so many stories an hour and a day from one person (counted from the rows)."""
    now = now or timezone.now()
    per_hour, per_day = submission_limits()
    recent = list(
        Story.objects.filter(author=author, created_at__gte=now - timedelta(days=1)).values_list(
            "created_at", flat=True
        )
    )
    if sum(1 for at in recent if at >= now - timedelta(hours=1)) >= per_hour:
        raise StoryRuleBroken(
            _(
                "You have sent %(n)d stories in the last hour, the most we take. Your story "
                "is still here: send it again in an hour."
            )
            % {"n": per_hour}
        )
    if len(recent) >= per_day:
        raise StoryRuleBroken(
            _(
                "You have sent %(n)d stories today, the most we take in a day. Your story "
                "is still here: send it again tomorrow."
            )
            % {"n": per_day}
        )


# --- Writing a story -----------------------------------------------------------------------


def _apply(story: Story, details: StoryDetails) -> None:
    story.title = details.title.strip()
    story.body = details.body
    story.region = details.place.region
    story.district = details.place.district
    story.eastings = details.place.eastings
    story.northings = details.place.northings
    story.action_type = details.action_type
    if details.happened_on is not None:
        story.happened_on = details.happened_on
    if details.links is not None:
        story.links = list(details.links)


def _replace_people(story: Story, people: Sequence[NamedPerson]) -> None:
    story.people.all().delete()
    StoryPerson.objects.bulk_create(
        [
            StoryPerson(
                story=story, name=p.name.strip(), role=p.role.strip(), consented=p.consented
            )
            for p in people
        ]
    )


def do_submit_story(
    *,
    author: User,
    details: StoryDetails,
    group: Group | None = None,
    people: Sequence[NamedPerson] = (),
    images: Sequence[NewImage] = (),
    outcome_of: Need | None = None,
) -> Story:
    """Store a new story, its people and its pictures, all or nothing. Always "new".

    The pictures are written to storage inside the transaction and deleted again if it
    fails. Call it outside any other transaction (views do): a rollback of an outer one
    would leave the files behind."""
    with files_removed_on_failure() as stored:
        return _submit_story(
            author=author,
            details=details,
            group=group,
            people=people,
            images=images,
            outcome_of=outcome_of,
            stored=stored,
        )


@transaction.atomic
def _submit_story(
    *,
    author: User,
    details: StoryDetails,
    group: Group | None,
    people: Sequence[NamedPerson],
    images: Sequence[NewImage],
    outcome_of: Need | None,
    stored: list[StoredFile],
) -> Story:
    if details.happened_on is None:
        raise ValueError("A new story needs the date it happened.")
    # One submission at a time per author, so two at once can't both slip under the limit.
    User.objects.select_for_update().filter(pk=author.pk).exists()
    check_can_submit(author)
    story = Story(author=author, group=group, outcome_of=outcome_of, status=Status.NEW)
    _apply(story, details)
    story.save()
    story.issues.set(details.issues)
    _replace_people(story, people)
    _add_pictures(story, images, owner=author, after=0, stored=stored)
    record_audit(
        actor=author,
        action="story.submitted",
        obj=story,
        group=group,
        details={
            "images": len(images),
            "people_named": len(people),
            "outcome_of": outcome_of.public_id if outcome_of is not None else "",
        },
    )
    return story


def _add_pictures(
    story: Story,
    images: Sequence[NewImage],
    *,
    owner: User,
    after: int,
    stored: list[StoredFile],
) -> None:
    """Store `images` as `owner`'s private files and add them to the story, in order,
    after its first `after` pictures; each file written is added to `stored`."""
    for position, new in enumerate(images, start=after):
        private = store_image(owner=owner, image=new.image, stored=stored)
        StoryImage.objects.create(
            story=story,
            file=private,
            alt_text=new.alt_text.strip(),
            width=new.image.width,
            height=new.image.height,
            position=position,
        )


def _record_revision(story: Story, *, edited_by: User, note: str) -> StoryRevision:
    # Read the words as stored, not as the caller's copy of the story may hold them.
    before = Story.objects.filter(pk=story.pk).values("title", "body").get()
    return StoryRevision.objects.create(
        story=story, edited_by=edited_by, title=before["title"], body=before["body"], note=note
    )


def do_revise_story(
    *,
    actor: User,
    story: Story,
    details: StoryDetails,
    people: Sequence[NamedPerson],
    pictures: PictureChanges | None = None,
) -> Story:
    """The author changes their story while it is new or needs changes; back to "new".

    With `pictures`, they also keep, describe again, remove or add pictures. New files are
    written inside the transaction and deleted again if it fails; removed ones are deleted
    from storage once it has committed. Call it outside any other transaction (views do).
    """
    with files_removed_on_failure() as stored:
        return _revise_story(
            actor=actor,
            story=story,
            details=details,
            people=people,
            pictures=pictures,
            stored=stored,
        )


@transaction.atomic
def _revise_story(
    *,
    actor: User,
    story: Story,
    details: StoryDetails,
    people: Sequence[NamedPerson],
    pictures: PictureChanges | None,
    stored: list[StoredFile],
) -> Story:
    story = Story.objects.select_for_update().get(pk=story.pk)
    if story.status not in (Status.NEW, Status.NEEDS_CHANGES):
        raise StoryRuleBroken(_("A curator is working on this story now, so it can't be changed."))
    _record_revision(story, edited_by=actor, note="author")
    was = story.status
    _apply(story, details)
    story.status = Status.NEW
    story.save()
    story.issues.set(details.issues)
    _replace_people(story, people)
    audit: dict[str, Any] = {"from": was, "to": story.status}
    if pictures is not None:
        audit.update(_change_pictures(story, pictures, owner=actor, stored=stored))
    record_audit(actor=actor, action="story.revised", obj=story, group=story.group, details=audit)
    return story


def _change_pictures(
    story: Story, changes: PictureChanges, *, owner: User, stored: list[StoredFile]
) -> dict[str, int]:
    """Apply an author's picture changes inside the revision's transaction; the counts."""
    current = list(story.images.select_related("file"))
    known = {image.pk for image in current}
    if set(changes.described) | changes.removed != known or set(changes.described) & (
        changes.removed
    ):
        raise StoryRuleBroken(
            _(
                "The story's pictures changed while you were editing it. Open it again and "
                "make your changes once more."
            )
        )
    kept = [image for image in current if image.pk not in changes.removed]
    if len(kept) + len(changes.added) > MAX_IMAGES:
        raise StoryRuleBroken(
            ngettext(
                "A story has at most %(n)d picture: remove one before you add another.",
                "A story has at most %(n)d pictures: remove one before you add another.",
                MAX_IMAGES,
            )
            % {"n": MAX_IMAGES}
        )
    described = 0
    for position, image in enumerate(kept):
        alt_text = changes.described[image.pk].strip()
        described += alt_text != image.alt_text
        image.alt_text, image.position = alt_text, position
    StoryImage.objects.bulk_update(kept, ["alt_text", "position"])
    gone = [image for image in current if image.pk in changes.removed]
    if gone:
        files = [image.file for image in gone]
        StoryImage.objects.filter(pk__in=[image.pk for image in gone]).delete()
        PrivateFile.objects.filter(pk__in=[file.pk for file in files]).delete()
        for file in files:
            transaction.on_commit(partial(_delete_stored, file.file.storage, str(file.file.name)))
    _add_pictures(story, changes.added, owner=owner, after=len(kept), stored=stored)
    return {
        "pictures_added": len(changes.added),
        "pictures_removed": len(gone),
        "pictures_described_again": described,
    }


def _delete_stored(storage: Any, name: str) -> None:
    # Best effort, after the commit: the rows are gone, and a file left over is only
    # unreachable (no view serves a file no row points at).
    with suppress(OSError):
        storage.delete(name)


@transaction.atomic
def do_curator_edit_story(*, actor: User, story: Story, details: StoryDetails) -> Story:
    """A curator polishes the words, tags or place; the words before are kept."""
    story = Story.objects.select_for_update().get(pk=story.pk)
    _record_revision(story, edited_by=actor, note="curator")
    _apply(story, details)
    story.save()
    story.issues.set(details.issues)
    record_audit(actor=actor, action="story.edited", obj=story, group=story.group)
    return story


# --- The queue -----------------------------------------------------------------------------


@transaction.atomic
def do_change_story_status(
    *, actor: User, story: Story, to: str, note: str = "", now: datetime | None = None
) -> Story:
    """Move a story through the queue (curators only: the view asks the policy first)."""
    now = now or timezone.now()
    story = Story.objects.select_for_update().get(pk=story.pk)
    check_can_change_status(story, to, note)
    was = story.status
    story.status = to
    if to in NOTE_REQUIRED:
        story.status_note = note.strip()
    elif to == Status.PUBLISHED:
        story.status_note = ""
        story.published_at = now
    if to != Status.PUBLISHED:
        # Taken down (or never up): off the site, the feeds and the featured list.
        story.featured_at = None
        story.published_at = None
    story.save()
    record_audit(
        actor=actor,
        action=f"story.{to}",
        obj=story,
        group=story.group,
        details={"from": was, "to": to},
    )
    from handsup.platform.events import emit_story_published

    emit_story_published(story)  # only when it is now published
    notices.tell_author_of_status(actor=actor, story=story, now=now)
    return story


@transaction.atomic
def do_feature_story(*, actor: User, story: Story, now: datetime | None = None) -> Story:
    story = Story.objects.select_for_update().get(pk=story.pk)
    if story.status != Status.PUBLISHED:
        raise StoryRuleBroken(_("Only a published story can be featured."))
    story.featured_at = now or timezone.now()
    story.save(update_fields=["featured_at", "updated_at"])
    record_audit(actor=actor, action="story.featured", obj=story, group=story.group)
    return story


@transaction.atomic
def do_unfeature_story(*, actor: User, story: Story) -> Story:
    story = Story.objects.select_for_update().get(pk=story.pk)
    story.featured_at = None
    story.save(update_fields=["featured_at", "updated_at"])
    record_audit(actor=actor, action="story.unfeatured", obj=story, group=story.group)
    return story


# --- Tags ----------------------------------------------------------------------------------


def tag_slug(name: str) -> str:
    return slugify(name)[:60]


def check_tag_name(kind: str, name: str, *, tag: Tag | None = None) -> None:
    """A tag's name makes a slug, and no other tag of its kind has that name or slug."""
    slug = tag_slug(name)
    if not slug:
        raise StoryRuleBroken(_("Give the tag a name with some letters or numbers."))
    others = Tag.objects.filter(kind=kind)
    if tag is not None:
        others = others.exclude(pk=tag.pk)
    clash = others.filter(name__iexact=name.strip()).first()
    if clash is None and tag is None:
        clash = others.filter(slug=slug).first()
    if clash is not None:
        raise StoryRuleBroken(
            _("There is already a tag “%(name)s” of this kind.") % {"name": clash.name}
        )


@transaction.atomic
def do_add_tag(*, actor: User, kind: str, name: str) -> Tag:
    check_tag_name(kind, name)
    tag = Tag.objects.create(kind=kind, name=name.strip(), slug=tag_slug(name))
    record_audit(actor=actor, action="story.tag_added", obj=tag, details={"kind": kind})
    return tag


@transaction.atomic
def do_rename_tag(*, actor: User, tag: Tag, name: str) -> Tag:
    """A new name; the slug stays, so links to the tag's stories keep working."""
    check_tag_name(tag.kind, name, tag=tag)
    tag.name = name.strip()
    tag.save(update_fields=["name"])
    record_audit(actor=actor, action="story.tag_renamed", obj=tag)
    return tag


@transaction.atomic
def do_retire_tag(*, actor: User, tag: Tag, retired: bool = True) -> Tag:
    """Retired tags stay on their stories but can't be chosen any more."""
    tag.retired = retired
    tag.save(update_fields=["retired"])
    record_audit(
        actor=actor,
        action="story.tag_retired" if retired else "story.tag_restored",
        obj=tag,
    )
    return tag
