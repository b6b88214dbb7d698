"""The demo's stories: three published (one featured), one waiting for a curator."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from handsup.stories.models import Story


@pytest.mark.django_db
def test_the_demo_has_stories_to_read_and_one_to_review_and_loads_twice() -> None:
    call_command("demo_data", stdout=io.StringIO())
    call_command("demo_data", stdout=io.StringIO())

    assert Story.objects.count() == 4
    published = Story.objects.published()
    assert published.count() == 3
    assert all(story.issues.exists() and story.action_type for story in published)
    assert list(Story.objects.featured().values_list("title", flat=True)) == [
        "Tenants win a repairs deal on the Ardwick estate"
    ]
    assert Story.objects.in_queue().get().status == Story.Status.NEW
    named = Story.objects.featured().get().people.get()
    assert named.consented
