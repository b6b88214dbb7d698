""" "Similar stories": TF-IDF cosine on the words combined with tag overlap, over published
stories only, on a fixture where the nearest story is known."""

from __future__ import annotations

import pytest
from django.urls import reverse

from handsup.stories import similar
from handsup.stories.models import Story
from handsup.stories.similar import cosine, similar_stories, words

from .reading import make_story

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_index():
    similar.forget_index()
    yield
    similar.forget_index()


@pytest.fixture
def library(cast):
    author = cast.users["volunteer"]
    return {
        "seed": make_story(
            author,
            title="Tenants force landlord to fix damp and mould",
            body="After months of damp and black mould in the flats, the tenants' union "
            "organised a rent strike. The landlord agreed to fix the damp, replace the "
            "windows and pay compensation for the mould.",
            issues=("housing", "health"),
            action="campaign-win",
        ),
        "nearest": make_story(
            author,
            title="Mould and damp: tenants' union wins repairs",
            body="Tenants living with damp and mould formed a union, and after a rent "
            "strike the landlord fixed the damp and replaced the windows.",
            issues=("housing", "health"),
            action="campaign-win",
        ),
        "same_tags_other_words": make_story(
            author,
            title="Estate residents win new play area",
            body="Parents on the estate petitioned the council for a safe play area.",
            issues=("housing",),
            action="campaign-win",
        ),
        "some_words": make_story(
            author,
            title="Landlord licensing scheme backed by council",
            body="The council will license every private landlord in the borough.",
            issues=("cost-of-living",),
            action="petition",
        ),
        "unrelated": make_story(
            author,
            title="Cycle lanes for the ring road",
            body="Cyclists held a slow ride along the ring road to demand protected lanes.",
            issues=("transport",),
            action="protest",
        ),
        "hidden_twin": make_story(
            author,
            title="Tenants force landlord to fix damp and mould",
            body="The tenants' union organised a rent strike against damp and mould; the "
            "landlord agreed to fix the damp and pay compensation.",
            issues=("housing", "health"),
            action="campaign-win",
            status=Story.Status.IN_REVIEW,
        ),
    }


def titles(stories: list[Story]) -> list[str]:
    return [story.title for story in stories]


def test_the_story_sharing_words_and_tags_ranks_first(library):
    found = similar_stories(library["seed"])
    assert found[0] == library["nearest"]
    assert library["seed"] not in found


def test_a_story_with_nothing_in_common_is_not_similar_at_all(library):
    found = similar_stories(library["seed"])
    assert library["unrelated"] not in found
    # Sharing only tags, or only a word, still counts, below the near twin.
    assert set(found) == {
        library["nearest"],
        library["same_tags_other_words"],
        library["some_words"],
    }


def test_unpublished_stories_never_appear(library):
    for story in Story.objects.all():
        assert library["hidden_twin"] not in similar_stories(story)


def test_an_unpublished_story_being_previewed_gets_published_similar_stories(library):
    found = similar_stories(library["hidden_twin"])
    assert found[0] in (library["seed"], library["nearest"])
    assert library["hidden_twin"] not in found


def test_at_most_five(cast):
    author = cast.users["volunteer"]
    stories = [
        make_story(author, title=f"Food bank number {n}", body="Food bank volunteers.")
        for n in range(8)
    ]
    assert len(similar_stories(stories[0])) == 5


def test_the_index_is_built_once_and_rebuilt_when_published_stories_change(library, monkeypatch):
    builds = []
    real_build = similar.build_index

    def counting_build():  # type: ignore[no-untyped-def]
        builds.append(1)
        return real_build()

    monkeypatch.setattr(similar, "build_index", counting_build)
    similar_stories(library["seed"])
    similar_stories(library["nearest"])
    assert len(builds) == 1
    # Publishing a story changes the count: the next look-up sees it.
    twin = library["hidden_twin"]
    Story.objects.filter(pk=twin.pk).update(
        status=Story.Status.PUBLISHED, published_at=twin.created_at
    )
    assert twin in similar_stories(library["seed"])
    assert len(builds) == 2
    # An edit moves the latest `updated_at`.
    library["unrelated"].body = "Tenants, damp, mould, landlord, rent strike, union."
    library["unrelated"].save()
    assert library["unrelated"] in similar_stories(library["seed"])
    assert len(builds) == 3


def test_the_story_page_lists_similar_stories(cast, library):
    response = cast.client_for("anonymous").get(
        reverse("stories:story", args=[library["seed"].public_id])
    )
    html = response.content.decode()
    section = html.split('id="similar-heading"')[1]
    assert library["nearest"].title.replace("'", "&#x27;") in section
    assert "Cycle lanes for the ring road" not in section
    assert library["hidden_twin"].public_id not in html


def test_words_drop_short_words_stop_words_and_numbers():
    assert words("The tenants' union: 2024, a WIN for us and them!") == ["tenants", "union", "win"]


def test_cosine_of_unit_vectors():
    assert cosine({"a": 1.0}, {"a": 1.0}) == pytest.approx(1.0)
    assert cosine({"a": 1.0}, {"b": 1.0}) == 0.0
    assert cosine({"a": 0.6, "b": 0.8}, {"b": 1.0}) == pytest.approx(0.8)
