"""The stories routes in the authorisation matrix (merged into `MATRIX` by the test).

Each path builder makes the rows it needs: a story of the volunteer's waiting for a
curator (readable only by her and curators), a published one of group A's organiser, a
"help tell it" need the volunteer said yes to, and a support request of group A's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.authorisation.matrix import ENROLLED, PUBLIC, Expect

CURATORS = frozenset({"curator", "platform_admin"})
# A story waiting for a curator: its author and the curators only.
UNPUBLISHED_READERS = frozenset({"volunteer"}) | CURATORS
# A published story of group A's organiser, for help and support.
ASK_FOR_HELP = frozenset({"organiser_a"}) | CURATORS
ORGANISE_A = frozenset({"organiser_a", "admin_a"})


def _story(world: Any, *, author: str, published: bool) -> Any:
    from django.utils import timezone

    from handsup.stories.models import Story

    return Story.objects.create(
        author=world.users[author],
        group=world.groups["group_a"],
        title="Tenants win repairs",
        body="The estate's tenants won a repairs plan.",
        district="M1",
        region="north_west",
        happened_on=timezone.localdate() - timedelta(days=10),
        status=Story.Status.PUBLISHED if published else Story.Status.NEW,
        published_at=timezone.now() if published else None,
    )


def _unpublished(suffix: str = "") -> Callable[[Any], str]:
    def build(world: Any) -> str:
        story = _story(world, author="volunteer", published=False)
        return f"/stories/{story.public_id}/{suffix}"

    return build


def _published(suffix: str = "", *, prefix: str = "stories") -> Callable[[Any], str]:
    def build(world: Any) -> str:
        story = _story(world, author="organiser_a", published=True)
        return f"/{prefix}/{story.public_id}/{suffix}"

    return build


def _unpublished_image(world: Any) -> str:
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from handsup.core.models import PrivateFile
    from handsup.stories.models import StoryImage

    page = _unpublished()(world)
    story_id = page.split("/")[2]
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, format="PNG")
    owner = world.users["volunteer"]
    stored = PrivateFile(owner=owner, name="picture.png", content_type="image/png")
    stored.file.save("picture.png", ContentFile(out.getvalue()), save=False)
    stored.save()
    from handsup.stories.models import Story

    image = StoryImage.objects.create(
        story=Story.objects.get(public_id=story_id),
        file=stored,
        alt_text="A red",
        width=4,
        height=3,
    )
    return f"{page}images/{image.pk}/"


def _helped(suffix: str) -> Callable[[Any], str]:
    """A published story of group A's with a "help tell it" need the volunteer said yes to."""

    def build(world: Any) -> str:
        from django.utils import timezone

        from handsup.needs.actions import do_publish_need
        from handsup.needs.answers import do_accept
        from handsup.needs.models import Invitation
        from handsup.stories.help import HelpRequest, do_open_help_need
        from handsup.stories.models import Story

        page = _published()(world)
        story = Story.objects.get(public_id=page.split("/")[2])
        organiser = world.users["organiser_a"]
        help_need = do_open_help_need(
            actor=organiser,
            story=story,
            group=world.groups["group_a"],
            ask=HelpRequest(
                kind="video",
                people_needed=1,
                hours=Decimal(2),
                closes_on=timezone.localdate() + timedelta(days=20),
                words="Cut the film",
            ),
        )
        do_publish_need(actor=organiser, need=help_need.need)
        now = timezone.now()
        invitation = Invitation.objects.create(
            need=help_need.need,
            user=world.users["volunteer"],
            source=Invitation.Source.ASK,
            invited_by=organiser,
            created_at=now - timedelta(hours=1),
            expires_at=now + timedelta(days=7),
        )
        do_accept(invitation=invitation, actor=world.users["volunteer"], share_phone=False)
        return f"{page}{suffix}"

    return build


def _support_request(suffix: str = "") -> Callable[[Any], str]:
    def build(world: Any) -> str:
        from handsup.stories.models import Story
        from handsup.stories.support import do_request_support

        page = _published()(world)
        request = do_request_support(
            actor=world.users["organiser_a"],
            story=Story.objects.get(public_id=page.split("/")[2]),
            kind="grant",
            what="A camera",
            how_much="£150",
            why="To film the next action",
        )
        if suffix:
            return f"/curate/support/{request.public_id}/{suffix}"
        return f"/stories/support/{request.public_id}/"

    return build


def _review(suffix: str) -> Callable[[Any], str]:
    """The curators' page (or action) for a story waiting for them."""

    def build(world: Any) -> str:
        story_page = _unpublished()(world)
        return f"/curate/stories/{story_page.split('/')[2]}/{suffix}"

    return build


def _tag(world: Any) -> str:
    from handsup.stories.models import Tag

    tag = Tag.objects.create(kind=Tag.Kind.ISSUE, slug="matrix-parks", name="Matrix parks")
    return f"/curate/tags/{tag.pk}/"


STORIES_MATRIX: dict[str, Expect] = {
    # Reading: published stories are public; an unpublished one only its author's and
    # the curators'.
    "stories/": Expect(PUBLIC),
    "stories/feed/": Expect(PUBLIC, why="the Atom feed of published stories"),
    "stories/near/": Expect(PUBLIC),
    "stories/<str:public_id>/": Expect(
        UNPUBLISHED_READERS, path=_unpublished(), why="a story waiting for a curator"
    ),
    "stories/<str:public_id>/images/<int:image_id>/": Expect(
        UNPUBLISHED_READERS, path=_unpublished_image, why="a picture of an unpublished story"
    ),
    # Submitting: every verified member; their own stories only.
    "stories/new/": Expect(ENROLLED),
    "stories/new/thanks/": Expect(ENROLLED),
    "stories/mine/": Expect(ENROLLED, why="one's own stories"),
    "stories/<str:public_id>/edit/": Expect(
        frozenset({"volunteer"}),
        path=_unpublished("edit/"),
        why="the author while it is new; curators edit from the review page (a redirect)",
    ),
    # Curating: curators and platform admins.
    "curate/stories/": Expect(CURATORS),
    "curate/stories/<str:public_id>/": Expect(CURATORS, path=_review("")),
    "curate/stories/<str:public_id>/status/": Expect(
        CURATORS, path=_review("status/"), method="post", data=lambda world: {"status": "in_review"}
    ),
    "curate/stories/<str:public_id>/feature/": Expect(
        CURATORS,
        path=_published("feature/", prefix="curate/stories"),
        method="post",
        data=lambda world: {"feature": "1"},
    ),
    "curate/tags/": Expect(CURATORS),
    "curate/tags/<int:tag_id>/": Expect(
        CURATORS, path=_tag, method="post", data=lambda world: {"retired": "1"}
    ),
    # Help to tell it: the author and curators; credits only for helpers.
    "stories/<str:public_id>/help/": Expect(ASK_FOR_HELP, path=_published("help/")),
    "stories/<str:public_id>/help/credit/": Expect(
        frozenset({"volunteer"}),
        path=_helped("help/credit/"),
        method="post",
        data=lambda world: {"credit": "on"},
        why="only someone who said yes to the story's help need",
    ),
    "stories/<str:public_id>/help/result/": Expect(
        ASK_FOR_HELP,
        path=_published("help/result/"),
        method="post",
        data=lambda world: {"url": "https://example.org/film"},
    ),
    # Support from the centre: the story's group asks, curators decide.
    "stories/<str:public_id>/support/": Expect(ORGANISE_A, path=_published("support/")),
    "stories/support/<str:public_id>/": Expect(ORGANISE_A | CURATORS, path=_support_request()),
    "curate/support/": Expect(CURATORS),
    "curate/support/<str:public_id>/decide/": Expect(
        CURATORS,
        path=_support_request("decide/"),
        method="post",
        data=lambda world: {"decision": "approve", "note": "Yes"},
    ),
}
