"""Stories: what local groups did, told by their members, curated by the centre.

A story is submitted by a verified member (optionally for one of their groups), goes
through the curators' queue (new → in review → needs changes / published / rejected) and,
once published, has a public page, appears in the index, the Atom feeds, "stories near
you", similar stories, group pages and volunteers' digests. Curators can feature a
published story (`featured_at`).

People named in a story are rows of `StoryPerson`: a name is shown only when the
author ticked that the person agreed to be named or quoted; the others are held back,
and a story whose text still names someone held back can't be published.

Images are private files (`core.PrivateFile`, owned by the author) served through a
checked view: everyone once the story is published, otherwise only its author and
curators. They are re-encoded on upload (metadata gone) and carry required alt text.

A story can ask for help to be told: `StoryHelpNeed` links it to ordinary needs (video
editing, photography, writing, design; remote by default) that go through the normal
invite-and-accept flow. Helpers who said yes are counted on the story ("told with help
from N volunteers"); a helper's name is shown only if they chose to be credited
(`StoryCredit`). `outcome_of` links an outcome story to the filled need it reports on.

A story's group can ask the centre for support (`SupportRequest`: a small grant, staff
time or equipment); curators approve or decline with a note.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.stories.querysets import StoryQuerySet

TITLE_MAX = 140
BODY_MAX = 20_000
MAX_IMAGES = 6
MAX_PEOPLE_NAMED = 20
MAX_LINKS = 10


class Region(models.TextChoices):
    """The nations and English regions of Great Britain: a story's coarsest place."""

    SCOTLAND = "scotland", _("Scotland")
    WALES = "wales", _("Wales")
    NORTH_EAST = "north_east", _("North East")
    NORTH_WEST = "north_west", _("North West")
    YORKSHIRE = "yorkshire", _("Yorkshire and the Humber")
    EAST_MIDLANDS = "east_midlands", _("East Midlands")
    WEST_MIDLANDS = "west_midlands", _("West Midlands")
    EAST = "east", _("East of England")
    LONDON = "london", _("London")
    SOUTH_EAST = "south_east", _("South East")
    SOUTH_WEST = "south_west", _("South West")


class Tag(models.Model):
    """A curated label: an issue (housing, health…) or a type of action (mutual aid…)."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("Issue")
        ACTION = "action", _("Type of action")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    slug = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=60)
    # Retired tags stay on the stories that have them but can't be chosen any more.
    retired = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="story_tag_slug_once"),
        ]

    def __str__(self) -> str:
        return self.name


class Story(PublicIdModel):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_REVIEW = "in_review", _("In review")
        NEEDS_CHANGES = "needs_changes", _("Needs changes")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stories"
    )
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stories",
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    # Markdown (the messaging subset), rendered and cleaned when shown.
    body = models.TextField(_("what happened"), max_length=BODY_MAX)
    # Where: a postcode district (placed at its centroid) or only a region.
    district = models.CharField(_("postcode district"), max_length=4, blank=True)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices, blank=True)
    eastings = models.IntegerField(null=True, blank=True)
    northings = models.IntegerField(null=True, blank=True)
    happened_on = models.DateField(_("when it happened"))
    issues = models.ManyToManyField(Tag, related_name="stories_on_issue", blank=True)
    action_type = models.ForeignKey(
        Tag, on_delete=models.PROTECT, null=True, blank=True, related_name="stories_of_type"
    )
    # Links to media coverage, videos, posts: a list of http(s) URLs.
    links = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    # The curator's words to the author: what to change, or why it was rejected.
    status_note = models.TextField(blank=True, max_length=2000)
    featured_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Where the finished telling lives (a video, an article), once helpers are done.
    told_result_url = models.URLField(_("link to the result"), blank=True, max_length=500)
    # An outcome story reports on a need that was filled.
    outcome_of = models.ForeignKey(
        "needs.Need",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outcome_stories",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-published_at", "-created_at"]
        indexes = [
            models.Index(fields=["status", "published_at"], name="story_status_published_idx"),
            models.Index(fields=["status", "created_at"], name="story_status_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="published", published_at__isnull=False)
                | ~Q(status="published"),
                name="story_published_has_date",
            ),
            models.CheckConstraint(
                condition=Q(featured_at__isnull=True) | Q(status="published"),
                name="story_featured_only_when_published",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class StoryPerson(models.Model):
    """Someone the story names. Shown by name only if `consented`."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="people")
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("who they are"), max_length=200, blank=True)
    consented = models.BooleanField(_("agreed to be named or quoted"), default=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class StoryImage(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="images")
    file = models.OneToOneField(
        "core.PrivateFile", on_delete=models.CASCADE, related_name="story_image"
    )
    alt_text = models.CharField(_("description for people who can't see it"), max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.alt_text


class StoryRevision(models.Model):
    """What the story said before an edit (the author's resubmission or a curator's)."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="revisions")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(max_length=TITLE_MAX)
    body = models.TextField(max_length=BODY_MAX)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.story_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class StoryHelpNeed(models.Model):
    """A need opened to help tell a story (video editing, photography, writing, design)."""

    class Kind(models.TextChoices):
        VIDEO = "video", _("Video editing")
        PHOTOGRAPHY = "photography", _("Photography")
        WRITING = "writing", _("Writing")
        DESIGN = "design", _("Design")

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="help_needs")
    need = models.OneToOneField("needs.Need", on_delete=models.CASCADE, related_name="story_help")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.story_id}: {self.kind}"


class StoryCredit(models.Model):
    """A helper who said yes to a story's help need and chose to be named on it."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="credits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="story_credits"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["story", "user"], name="story_credit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.story_id}: {self.user_id}"


class SupportRequest(PublicIdModel):
    """A story's group asks the centre for a small grant, staff time or equipment."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("A small grant")
        STAFF_TIME = "staff_time", _("Staff time")
        EQUIPMENT = "equipment", _("Equipment")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="support_requests")
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, related_name="support_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(_("what kind of support"), max_length=20, choices=Kind.choices)
    what = models.CharField(_("what exactly"), max_length=300)
    how_much = models.CharField(_("how much"), max_length=100)
    why = models.TextField(_("why it would help"), max_length=3000)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decision_note = models.TextField(blank=True, max_length=2000)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | Q(status__in=["approved", "declined"], decided_at__isnull=False),
                name="support_decided_at_when_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.what}"
