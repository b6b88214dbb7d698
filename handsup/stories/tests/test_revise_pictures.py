"""An author revising their story keeps, describes again, removes and adds pictures."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from handsup.core.models import PrivateFile
from handsup.privacy.models import AuditEntry
from handsup.stories import actions
from handsup.stories.images import clean_image, store_image
from handsup.stories.models import MAX_IMAGES, Story, StoryImage, StoryRevision
from handsup.stories.tests.conftest import make_story, png_bytes
from handsup.stories.tests.test_submit import picture, story_data

pytestmark = pytest.mark.django_db


def with_pictures(story: Story, count: int) -> list[StoryImage]:
    """Give `story` `count` stored pictures, described "Picture 0", "Picture 1", …"""
    made = []
    for position in range(count):
        private = store_image(owner=story.author, image=clean_image(picture()), stored=[])
        made.append(
            StoryImage.objects.create(
                story=story,
                file=private,
                alt_text=f"Picture {position}",
                width=4,
                height=3,
                position=position,
            )
        )
    return made


def revision(new_slots: int, **fields: Any) -> dict[str, Any]:
    """The edit form's fields, with `new_slots` rows for new pictures."""
    return story_data(**{"images-TOTAL_FORMS": str(new_slots), **fields})


def stored_files(private_media: Any) -> set[str]:
    if not private_media.exists():
        return set()
    return {str(p.relative_to(private_media)) for p in private_media.rglob("*") if p.is_file()}


def test_the_edit_page_shows_the_pictures_and_room_for_more(cast, private_media):
    story = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    first, second = with_pictures(story, 2)
    page = (
        cast.client_for("volunteer")
        .get(reverse("stories:edit", args=[story.public_id]))
        .content.decode()
    )
    assert 'enctype="multipart/form-data"' in page
    for image in (first, second):
        assert reverse("stories:image", args=[story.public_id, image.pk]) in page
        assert f'name="current-{image.pk}-remove"' in page
        assert f'value="{image.alt_text}"' in page
    assert f'name="images-TOTAL_FORMS" value="{MAX_IMAGES - 2}"' in page
    assert "Pictures can" not in page  # the old "can't be changed here"


def test_the_author_removes_one_describes_another_and_adds_a_new_one(
    cast, places, private_media, django_capture_on_commit_callbacks
):
    author = cast.users["volunteer"]
    story = make_story(author, status=Story.Status.NEEDS_CHANGES)
    gone, kept = with_pictures(story, 2)
    gone_file = gone.file.file.name
    data = revision(
        1,
        **{
            f"current-{gone.pk}-alt_text": "Picture 0",
            f"current-{gone.pk}-remove": "on",
            f"current-{kept.pk}-alt_text": "  The march   reaching the square ",
            "images-0-image": picture("new.png", png_bytes(6, 5)),
            "images-0-alt_text": "Volunteers after the count",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client_for("volunteer").post(
            reverse("stories:edit", args=[story.public_id]), data
        )
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.NEW
    pictures = list(story.images.select_related("file"))
    assert [(p.pk, p.alt_text, p.position) for p in pictures[:1]] == [
        (kept.pk, "The march reaching the square", 0)
    ]
    assert pictures[1].alt_text == "Volunteers after the count"
    assert (pictures[1].position, pictures[1].width, pictures[1].height) == (1, 6, 5)
    assert pictures[1].file.owner == author
    # The removed picture's row, its file's row and the file itself are gone.
    assert not StoryImage.objects.filter(pk=gone.pk).exists()
    assert not PrivateFile.objects.filter(pk=gone.file_id).exists()
    assert gone_file not in stored_files(private_media)
    assert stored_files(private_media) == {p.file.file.name for p in pictures}
    entry = AuditEntry.objects.get(action="story.revised")
    assert entry.details["pictures_added"] == 1
    assert entry.details["pictures_removed"] == 1
    assert entry.details["pictures_described_again"] == 1
    assert StoryRevision.objects.filter(story=story).count() == 1


def test_a_kept_picture_needs_a_description_and_nothing_changes(cast, places, private_media):
    story = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    (only,) = with_pictures(story, 1)
    before = stored_files(private_media)
    data = revision(
        1,
        title="A new title that must not be kept",
        **{
            f"current-{only.pk}-alt_text": "   ",
            "images-0-image": picture("new.png"),
            "images-0-alt_text": "Another",
        },
    )
    response = cast.client_for("volunteer").post(
        reverse("stories:edit", args=[story.public_id]), data
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Describe the picture for people who can&#x27;t see it, or remove it." in page
    assert f'href="#id_current-{only.pk}-alt_text"' in page
    story.refresh_from_db()
    assert story.status == Story.Status.NEEDS_CHANGES
    assert story.title != "A new title that must not be kept"
    assert list(story.images.values_list("alt_text", flat=True)) == ["Picture 0"]
    assert stored_files(private_media) == before
    assert not StoryRevision.objects.exists()


def test_no_more_than_the_limit_in_all(cast, places, private_media):
    story = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    full = with_pictures(story, MAX_IMAGES)
    url = reverse("stories:edit", args=[story.public_id])
    client = cast.client_for("volunteer")
    # A full story still offers one row, to replace a picture in one go.
    assert 'name="images-TOTAL_FORMS" value="1"' in client.get(url).content.decode()
    before = stored_files(private_media)
    kept = {f"current-{image.pk}-alt_text": image.alt_text for image in full}
    adding = {"images-0-image": picture("seventh.png"), "images-0-alt_text": "One too many"}
    response = client.post(url, revision(1, **kept, **adding))
    assert response.status_code == 400
    assert f"A story has at most {MAX_IMAGES} pictures" in response.content.decode()
    assert story.images.count() == MAX_IMAGES
    assert stored_files(private_media) == before
    # Removing one at the same time makes room.
    replacing = {**kept, f"current-{full[0].pk}-remove": "on"}
    adding["images-0-image"] = picture("seventh.png")
    response = client.post(url, revision(1, **replacing, **adding))
    assert response.status_code == 302
    assert list(story.images.values_list("alt_text", flat=True)) == [
        *[image.alt_text for image in full[1:]],
        "One too many",
    ]


def test_a_bad_new_picture_changes_nothing(cast, places, private_media):
    story = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    (only,) = with_pictures(story, 1)
    before = stored_files(private_media)
    data = revision(
        1,
        **{
            f"current-{only.pk}-alt_text": "Picture 0",
            f"current-{only.pk}-remove": "on",
            "images-0-image": picture("notes.png", b"not a picture at all", "image/png"),
            "images-0-alt_text": "Meant to replace it",
        },
    )
    response = cast.client_for("volunteer").post(
        reverse("stories:edit", args=[story.public_id]), data
    )
    assert response.status_code == 400
    assert "isn&#x27;t a picture we can read" in response.content.decode()
    assert list(story.images.values_list("pk", flat=True)) == [only.pk]
    assert stored_files(private_media) == before


def test_another_storys_picture_cant_be_removed_from_here(cast, places, private_media):
    mine = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    theirs = make_story(cast.users["volunteer_other"])
    (their_picture,) = with_pictures(theirs, 1)
    data = revision(1, **{f"current-{their_picture.pk}-remove": "on"})
    response = cast.client_for("volunteer").post(
        reverse("stories:edit", args=[mine.public_id]), data
    )
    assert response.status_code == 302
    assert StoryImage.objects.filter(pk=their_picture.pk, story=theirs).exists()
    # The action itself refuses changes that don't name exactly the story's pictures.
    with pytest.raises(actions.StoryRuleBroken, match="pictures changed"):
        actions.do_revise_story(
            actor=cast.users["volunteer"],
            story=mine,
            details=_details(),
            people=[],
            pictures=actions.PictureChanges(removed=frozenset({their_picture.pk})),
        )
    assert StoryImage.objects.filter(pk=their_picture.pk).exists()


def test_a_failure_after_storing_leaves_no_new_file_and_keeps_the_old_ones(
    cast, places, private_media, monkeypatch, django_capture_on_commit_callbacks
):
    story = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    (old,) = with_pictures(story, 1)
    before = stored_files(private_media)

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(actions, "record_audit", broken)
    new = actions.NewImage(image=clean_image(picture("new.png")), alt_text="New")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        actions.do_revise_story(
            actor=cast.users["volunteer"],
            story=story,
            details=_details(),
            people=[],
            pictures=actions.PictureChanges(removed=frozenset({old.pk}), added=[new]),
        )
    # The old file's deletion was to wait for the commit, which never came.
    assert callbacks == []
    assert stored_files(private_media) == before
    assert list(story.images.values_list("pk", flat=True)) == [old.pk]
    assert PrivateFile.objects.count() == 1


def _details() -> actions.StoryDetails:
    story = Story.objects.order_by("pk").first()
    assert story is not None
    return actions.StoryDetails(
        title="Changed",
        body="Changed body",
        place=actions.StoryPlace(region=story.region, district=story.district),
        issues=(),
        action_type=None,
    )
