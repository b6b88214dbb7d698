"""What readers see: the index and its filters, a story's page and pictures, stories near
you, featured stories on group pages, and the region of a postcode district."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from handsup.core.models import PrivateFile
from handsup.core.storage import PrivateFileSystemStorage
from handsup.people.models import Person
from handsup.places.geo import geocode
from handsup.stories.models import Story, StoryImage, StoryPerson
from handsup.stories.regions import AREA_REGIONS, region_of_district

from .reading import make_story

pytestmark = pytest.mark.django_db

INDEX = reverse("stories:index")
NEAR = reverse("stories:near")


def page_of(story: Story) -> str:
    return reverse("stories:story", args=[story.public_id])


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return unescape(response.content.decode())


# --- The index -----------------------------------------------------------------------------


def test_everyone_reads_the_index_newest_first_and_never_an_unpublished_story(cast):
    author = cast.users["volunteer"]
    now = timezone.now()
    older = make_story(author, title="Older win", published_at=now - timedelta(days=3))
    newer = make_story(author, title="Newer win", published_at=now - timedelta(days=1))
    make_story(author, title="Still waiting for a curator", status=Story.Status.NEW)
    make_story(author, title="Turned down", status=Story.Status.REJECTED)

    for persona in ("anonymous", "volunteer", "curator"):
        response = cast.client_for(persona).get(INDEX)
        assert response.status_code == 200
        html = text_of(response)
        assert html.index(newer.title) < html.index(older.title)
        assert "Still waiting for a curator" not in html
        assert "Turned down" not in html


def test_the_index_filters_by_issue_action_and_region_combined(cast):
    author = cast.users["volunteer"]
    make_story(
        author,
        title="Welsh housing mutual aid",
        issues=("housing",),
        action="mutual-aid",
        region="wales",
    )
    make_story(
        author, title="Welsh housing protest", issues=("housing",), action="protest", region="wales"
    )
    make_story(
        author,
        title="Manchester housing mutual aid",
        issues=("housing",),
        action="mutual-aid",
        region="north_west",
    )
    make_story(
        author,
        title="Welsh health mutual aid",
        issues=("health",),
        action="mutual-aid",
        region="wales",
    )
    client = cast.client_for("anonymous")

    def titles(query: str) -> set[str]:
        response = client.get(INDEX + query)
        assert response.status_code == 200
        return set(
            re.findall(r'class="result__title"><a href="[^"]+">([^<]+)</a>', text_of(response))
        )

    assert titles("?issue=housing") == {
        "Welsh housing mutual aid",
        "Welsh housing protest",
        "Manchester housing mutual aid",
    }
    assert titles("?issue=housing&action=mutual-aid") == {
        "Welsh housing mutual aid",
        "Manchester housing mutual aid",
    }
    assert titles("?issue=housing&action=mutual-aid&region=wales") == {"Welsh housing mutual aid"}
    assert titles("?region=wales&action=protest") == {"Welsh housing protest"}
    assert titles("?region=scotland") == set()
    # Empty values are no filter at all.
    assert len(titles("?issue=&action=&region=")) == 4


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?issue=no-such-issue", "There is no issue tag called “no-such-issue”."),
        ("?action=housing", "There is no type of action called “housing”."),
        ("?region=atlantis", "There is no region called “atlantis”."),
        ("?issue=" + "x" * 500, "There is no issue tag called “xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…”."),
        ("?region=%00%3Cscript%3E", "There is no region called"),
    ],
)
def test_an_unknown_filter_value_gets_a_clear_message_not_a_500(cast, query, message):
    make_story(cast.users["volunteer"], title="A story that must not show")
    response = cast.client_for("anonymous").get(INDEX + query)
    assert response.status_code == 404
    html = text_of(response)
    assert message in html
    assert "A story that must not show" not in html
    assert "<script>" not in response.content.decode()


def test_the_index_links_its_atom_feed_for_the_current_filter_in_the_page_and_the_head(cast):
    response = cast.client_for("anonymous").get(INDEX + "?issue=housing&region=wales")
    html = response.content.decode()
    head = html.split("</head>")[0]
    feed = reverse("stories:feed") + "?issue=housing&amp;region=wales"
    alternate = r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="'
    assert re.search(alternate + re.escape(feed) + '">', head)
    assert f'href="{feed}"' in html.split("</head>")[1]


def test_featured_stories_top_the_first_unfiltered_page_only(cast):
    author = cast.users["volunteer"]
    now = timezone.now()
    make_story(author, title="A featured win", featured_at=now, issues=("housing",))
    make_story(author, title="An ordinary story", issues=("health",))
    client = cast.client_for("anonymous")

    first = text_of(client.get(INDEX))
    assert "Featured stories" in first
    assert first.index("A featured win") < first.index("Latest stories")

    filtered = text_of(client.get(INDEX + "?issue=health"))
    assert "Featured stories" not in filtered
    assert "A featured win" not in filtered


def test_the_index_pages_by_twenty(cast):
    author = cast.users["volunteer"]
    now = timezone.now()
    for n in range(21):
        make_story(author, title=f"Story number {n:02d}", published_at=now - timedelta(minutes=n))
    client = cast.client_for("anonymous")
    first, second = text_of(client.get(INDEX)), text_of(client.get(INDEX + "?page=2"))
    assert "Story number 00" in first and "Story number 19" in first
    assert "Story number 20" not in first
    assert "Story number 20" in second and "Story number 00" not in second
    assert "Page 1 of 2" in first
    # Nonsense page numbers land on a real page.
    assert client.get(INDEX + "?page=abc").status_code == 200


def test_the_index_query_count_does_not_grow_with_the_stories(cast, django_assert_num_queries):
    author = cast.users["volunteer"]
    now = timezone.now()
    group = cast.groups["group_a"]

    def add(n: int) -> None:
        for i in range(n):
            make_story(
                author,
                title=f"Story {i}",
                group=group,
                issues=("housing", "health"),
                action="mutual-aid",
                featured_at=now if i == 0 else None,
            )

    add(3)
    client = cast.client_for("anonymous")
    client.get(INDEX)  # warm up anything cached per process
    # Tags for the filters, count, the page, its issue tags, featured, their issue tags.
    with django_assert_num_queries(6):
        assert client.get(INDEX).status_code == 200
    add(10)
    with django_assert_num_queries(6):
        assert client.get(INDEX).status_code == 200
    # A filter adds only the lookup of the tag named; no featured block when filtered.
    with django_assert_num_queries(5):
        assert client.get(INDEX + "?issue=housing").status_code == 200


# --- A story's page -------------------------------------------------------------------------


def test_a_published_story_shows_everything_a_reader_needs(cast):
    story = make_story(
        cast.users["volunteer"],
        title="Tenants win a repairs deal",
        body="We met **every week**. See [the report](https://example.org/report).",
        group=cast.groups["group_a"],
        district="M1",
        region="north_west",
        issues=("housing",),
        action="campaign-win",
        links=["https://news.example.org/tenants", "javascript:alert(1)"],
    )
    StoryPerson.objects.create(story=story, name="Amira Consenting", role="chair", consented=True)
    StoryPerson.objects.create(story=story, name="Bob Heldback", role="neighbour", consented=False)

    response = cast.client_for("anonymous").get(page_of(story))
    assert response.status_code == 200
    html = text_of(response)
    assert "<h1>Tenants win a repairs deal</h1>" in html
    assert cast.groups["group_a"].name in html
    assert "Manchester (M1)" in html
    assert "1 May 2026" in html
    assert "Housing" in html and "Campaign win" in html
    assert "<strong>every week</strong>" in html
    assert '<a href="https://example.org/report" rel="nofollow noopener">the report</a>' in html
    assert "Amira Consenting" in html
    assert "Bob Heldback" not in html
    assert '<a href="https://news.example.org/tenants" rel="nofollow noopener">' in html
    assert "javascript:" not in html
    assert "Not published" not in html
    # Open Graph, with an absolute URL, and the share text ready to copy.
    # The site's own address, never whatever Host header the request came with.
    absolute = settings.SITE_URL + page_of(story)
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:title" content="Tenants win a repairs deal">' in html
    assert f'<meta property="og:url" content="{absolute}">' in html
    assert '<meta property="og:description" content="We met every week. See the report.">' in html
    assert "og:image" not in html
    share = re.search(r'<textarea id="id_share_text" readonly rows="3">([^<]+)</textarea>', html)
    assert share is not None and absolute in share.group(1)
    assert "https://wa.me/?text=" in html
    assert "<script" not in html.split("</head>")[1].replace("<script src", "")


def test_the_authors_html_is_never_run(cast):
    story = make_story(
        cast.users["volunteer"],
        title="<script>alert('title')</script>",
        body="Hello <script>alert('body')</script> <img src=x onerror=alert(1)>",
    )
    html = cast.client_for("anonymous").get(page_of(story)).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html


def test_an_unpublished_story_is_for_its_author_and_curators_only_with_a_banner(cast):
    story = make_story(cast.users["volunteer"], title="Waiting", status=Story.Status.IN_REVIEW)
    for persona in ("anonymous", "volunteer_other", "organiser_a", "admin_parent"):
        assert cast.client_for(persona).get(page_of(story)).status_code == 404, persona
    for persona in ("volunteer", "curator", "platform_admin"):
        response = cast.client_for(persona).get(page_of(story))
        assert response.status_code == 200, persona
        assert "Not published: In review" in text_of(response)
        assert response["Cache-Control"] == "private, no-store"
        assert "Share this story" not in text_of(response)
    assert (
        cast.client_for("anonymous").get(reverse("stories:story", args=["nosuch"])).status_code
        == 404
    )


def test_the_author_may_change_a_new_story_and_a_curator_may_curate_it(cast):
    story = make_story(cast.users["volunteer"], title="Just sent", status=Story.Status.NEW)
    author = text_of(cast.client_for("volunteer").get(page_of(story)))
    assert reverse("stories:edit", args=[story.public_id]) in author
    assert reverse("stories:review", args=[story.public_id]) not in author
    curator = text_of(cast.client_for("curator").get(page_of(story)))
    assert reverse("stories:review", args=[story.public_id]) in curator
    Story.objects.filter(pk=story.pk).update(
        status=Story.Status.PUBLISHED, published_at=timezone.now()
    )
    reader = text_of(cast.client_for("volunteer_other").get(page_of(story)))
    assert "Change this story" not in reader and "Curate this story" not in reader
    # Sharing by email stays in the same tab; the others open a new one.
    assert '<a href="mailto:?subject=Just%20sent&body=' in reader
    assert 'rel="nofollow noopener">Share by email</a>' in reader
    assert 'target="_blank">Share by WhatsApp' in reader


@pytest.fixture
def private_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    storage = PrivateFileSystemStorage(location=tmp_path)
    monkeypatch.setattr(PrivateFile._meta.get_field("file"), "storage", storage)
    return tmp_path


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
    b"\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def add_image(
    story: Story, *, content_type: str = "image/png", alt: str = "Tenants outside"
) -> StoryImage:
    stored = PrivateFile(name="picture.png", content_type=content_type, owner=story.author)
    stored.file.save("picture.png", ContentFile(PNG), save=False)
    stored.save()
    return StoryImage.objects.create(story=story, file=stored, alt_text=alt, width=1, height=1)


def test_a_published_storys_pictures_are_public_and_cacheable(cast, private_files):
    story = make_story(cast.users["volunteer"])
    image = add_image(story)
    url = reverse("stories:image", args=[story.public_id, image.pk])

    response = cast.client_for("anonymous").get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"

    html = text_of(cast.client_for("anonymous").get(page_of(story)))
    assert f'<img src="{url}" alt="Tenants outside" width="1" height="1">' in html
    assert f'<meta property="og:image" content="{settings.SITE_URL}{url}">' in html
    assert '<meta property="og:image:alt" content="Tenants outside">' in html


def test_an_unpublished_storys_pictures_are_private(cast, private_files):
    story = make_story(cast.users["volunteer"], status=Story.Status.NEEDS_CHANGES)
    image = add_image(story)
    url = reverse("stories:image", args=[story.public_id, image.pk])
    for persona in ("anonymous", "volunteer_other"):
        assert cast.client_for(persona).get(url).status_code == 404
    for persona in ("volunteer", "curator"):
        response = cast.client_for(persona).get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_picture_is_only_found_through_its_own_story(cast, private_files):
    mine = make_story(cast.users["volunteer"])
    hidden = make_story(cast.users["volunteer_other"], status=Story.Status.NEW)
    hidden_image = add_image(hidden)
    not_an_image = add_image(mine, content_type="text/html")
    client = cast.client_for("anonymous")
    # Another story's picture through a readable story: no.
    assert (
        client.get(reverse("stories:image", args=[mine.public_id, hidden_image.pk])).status_code
        == 404
    )
    assert client.get(reverse("stories:image", args=[mine.public_id, 999999])).status_code == 404
    # A stored file that isn't one of our image types is never served.
    assert (
        client.get(reverse("stories:image", args=[mine.public_id, not_an_image.pk])).status_code
        == 404
    )
    # A picture whose file has gone is a 404, not a 500.
    gone = add_image(mine)
    gone.file.file.delete(save=False)
    assert client.get(reverse("stories:image", args=[mine.public_id, gone.pk])).status_code == 404


# --- Stories near you ----------------------------------------------------------------------


def centroid(district: str) -> tuple[int, int]:
    point = geocode(district).point
    return point.eastings, point.northings


@pytest.fixture
def stories_around_manchester(cast, places):
    author = cast.users["volunteer"]
    return {
        "city": make_story(
            author,
            title="City centre pantry",
            district="M1",
            region="north_west",
            point=centroid("M1"),
        ),
        "south": make_story(
            author,
            title="Didsbury tenants",
            district="M20",
            region="north_west",
            point=centroid("M20"),
        ),
        "cardiff": make_story(
            author,
            title="Cardiff bus campaign",
            district="CF10",
            region="wales",
            point=centroid("CF10"),
        ),
        "region": make_story(author, title="Across the North West", region="north_west"),
        "wales": make_story(author, title="Across Wales", region="wales"),
        "unpublished": make_story(
            author,
            title="Not yet out",
            district="M1",
            region="north_west",
            point=centroid("M1"),
            status=Story.Status.NEW,
        ),
    }


def test_anyone_can_type_a_district_and_see_stories_nearest_first_with_bands(
    cast, stories_around_manchester
):
    response = cast.client_for("anonymous").get(NEAR + "?district=m1")
    assert response.status_code == 200
    html = text_of(response)
    assert "Stories near Manchester (M1), nearest first." in html
    assert html.index("City centre pantry") < html.index("Didsbury tenants")
    assert "under 2 km" in html and "5–10 km" in html
    assert "Cardiff bus campaign" not in html
    assert "Not yet out" not in html
    # Region-only stories come after, only for the reader's own region.
    assert "Elsewhere in North West" in html
    assert html.index("Didsbury tenants") < html.index("Across the North West")
    assert "Across Wales" not in html


def test_a_full_postcode_is_used_only_for_its_district(cast, stories_around_manchester):
    html = text_of(cast.client_for("anonymous").get(NEAR + "?district=M1+1AE"))
    assert "Stories near Manchester (M1), nearest first." in html


def test_a_signed_in_person_sees_stories_near_their_profile_district(
    cast, stories_around_manchester
):
    volunteer = cast.users["volunteer"]
    Person.objects.filter(user=volunteer).update(district="CF10")
    html = text_of(cast.client_for("volunteer").get(NEAR))
    assert "Stories near Cardiff (CF10), from your profile, nearest first." in html
    assert "Cardiff bus campaign" in html
    assert "Elsewhere in Wales" in html and "Across Wales" in html
    assert "City centre pantry" not in html and "Across the North West" not in html
    # Typing a district wins over the profile.
    assert "City centre pantry" in text_of(cast.client_for("volunteer").get(NEAR + "?district=M1"))


def test_without_a_district_the_page_asks_for_one(cast):
    html = text_of(cast.client_for("volunteer").get(NEAR))
    assert "Type a postcode district to see stories near it." in html
    assert cast.client_for("anonymous").get(NEAR).status_code == 200


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("QQ1", "“QQ1” doesn't look like a UK postcode."),
        ("<script>", "doesn't look like a UK postcode."),
        ("M59", "We can't find the postcode district M59."),
        ("BT1", "We can't place postcodes in Northern Ireland yet"),
        ("x" * 300, "doesn't look like a UK postcode."),
    ],
)
def test_a_malformed_or_unknown_district_gets_a_clear_message(cast, places, typed, message):
    response = cast.client_for("anonymous").get(NEAR, {"district": typed})
    assert response.status_code == 400
    html = text_of(response)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert "<script>" not in response.content.decode()


# --- Group pages -----------------------------------------------------------------------------


def test_a_group_page_shows_its_own_featured_stories_else_the_movements(cast):
    author = cast.users["volunteer"]
    now = timezone.now()
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    for n in range(4):
        make_story(
            author,
            title=f"Group A feature {n}",
            group=group_a,
            featured_at=now - timedelta(hours=n),
        )
    make_story(author, title="Group A, not featured", group=group_a)

    html = text_of(cast.client_for("anonymous").get(reverse("groups:page", args=[group_a.slug])))
    assert f"Stories from {group_a.name}" in html
    assert "Group A feature 0" in html and "Group A feature 2" in html
    assert "Group A feature 3" not in html  # at most three
    assert "Group A, not featured" not in html

    other = text_of(cast.client_for("anonymous").get(reverse("groups:page", args=[group_b.slug])))
    assert "Stories from the movement" in other
    assert "Group A feature 0" in other


def test_a_group_page_without_any_featured_story_has_no_block(cast):
    html = text_of(
        cast.client_for("anonymous").get(reverse("groups:page", args=[cast.groups["group_a"].slug]))
    )
    assert "featured-stories" not in html


# --- Regions ----------------------------------------------------------------------------------


def test_every_great_britain_postcode_area_has_a_region():
    from handsup.places.areas import AREA_NAMES

    assert set(AREA_REGIONS) == set(AREA_NAMES) - {"BT", "GY", "JE", "IM"}


@pytest.mark.parametrize(
    ("district", "region"),
    [
        ("M1", "north_west"),
        ("cf10", "wales"),
        ("SW1A", "london"),
        ("EC1V", "london"),
        ("IV2", "scotland"),
        ("SY23", "wales"),  # Aberystwyth: a Shrewsbury district in Wales
        ("SY1", "west_midlands"),
        ("CH5", "wales"),
        ("TD15", "north_east"),  # Berwick-upon-Tweed
        ("BT1", ""),
        ("JE2", ""),
        ("not a district", ""),
        ("", ""),
    ],
)
def test_the_region_of_a_district(district, region):
    assert region_of_district(district) == region


def test_stories_near_uses_a_fixed_number_of_queries(
    cast, stories_around_manchester, django_assert_num_queries
):
    client = cast.client_for("anonymous")
    # The district, the nearby stories and their tags, the region's and their tags.
    with django_assert_num_queries(5):
        assert client.get(NEAR + "?district=M1").status_code == 200
    for n in range(5):
        make_story(
            cast.users["volunteer"],
            title=f"More in M1 {n}",
            district="M1",
            region="north_west",
            point=centroid("M1"),
            issues=("housing",),
        )
        make_story(cast.users["volunteer"], title=f"More in the region {n}", region="north_west")
    with django_assert_num_queries(5):
        assert client.get(NEAR + "?district=M1").status_code == 200
