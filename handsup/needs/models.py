"""What a group asks volunteers for: a need, the skills it wants and when it happens.

A need is on site (a place with a radius) or remote, and happens in time windows or is
ongoing on weekly slots. Weekly slots use the same bits as a volunteer's availability
(`people.Profile.availability`: bit day * 3 + part of day, Monday morning = bit 0), so
matching can compare the two with one AND.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.needs.querysets import NeedQuerySet
from handsup.people.models import PersonSkill, Skill
from handsup.places.areas import display_area

# Bounds a need must stay within; the form, the actions and the database all hold them.
MIN_RADIUS_KM = 1
MAX_RADIUS_KM = 200
MAX_PEOPLE_NEEDED = 500
MAX_HOURS = 500
ALL_WEEKLY_SLOTS = (1 << 21) - 1


class Need(PublicIdModel):
    class LocationKind(models.TextChoices):
        ON_SITE = "on_site", _("On site")
        REMOTE = "remote", _("Anywhere, remotely")

    class ScheduleKind(models.TextChoices):
        WINDOWS = "windows", _("At set times")
        ONGOING = "ongoing", _("Ongoing, on weekly slots")

    class Visibility(models.TextChoices):
        MOVEMENT = "movement", _("Anyone in the movement")
        MEMBERS = "members", _("Only our group's members")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        FILLED = "filled", _("Filled")

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="needs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what the help is"), max_length=5000)
    location_kind = models.CharField(max_length=10, choices=LocationKind.choices)
    # On site only: the normalised postcode (or district) the organiser typed, and where
    # it is. Volunteers are only ever shown the district.
    postcode = models.CharField(max_length=8, blank=True)
    district = models.CharField(max_length=4, blank=True)
    eastings = models.IntegerField(null=True, blank=True)
    northings = models.IntegerField(null=True, blank=True)
    radius_km = models.PositiveSmallIntegerField(null=True, blank=True)
    schedule_kind = models.CharField(max_length=10, choices=ScheduleKind.choices)
    weekly_slots = models.PositiveIntegerField(default=0)
    hours = models.DecimalField(_("hours of effort"), max_digits=4, decimal_places=1)
    people_needed = models.PositiveSmallIntegerField(_("people needed"))
    # How many places are taken. Nothing fills a place yet; the acceptance action of the
    # invitations work adds one in the same transaction as the contact-release grant it
    # makes, so the count and the grants can't disagree.
    filled_count = models.PositiveSmallIntegerField(default=0)
    closes_on = models.DateField(_("closing date"))
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.MOVEMENT
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = NeedQuerySet.as_manager()

    class Meta:
        ordering = ["closes_on", "pk"]
        indexes = [
            models.Index(fields=["group", "status"], name="need_group_status_idx"),
            models.Index(fields=["status", "closes_on"], name="need_status_closes_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(people_needed__gte=1, people_needed__lte=MAX_PEOPLE_NEEDED),
                name="need_people_needed_in_range",
            ),
            models.CheckConstraint(
                condition=Q(filled_count__lte=F("people_needed")),
                name="need_not_filled_beyond_people_needed",
            ),
            models.CheckConstraint(
                condition=Q(hours__gt=0, hours__lte=MAX_HOURS), name="need_hours_in_range"
            ),
            models.CheckConstraint(
                condition=Q(
                    location_kind="on_site",
                    # NULL compares as unknown, which a check lets through: say it.
                    radius_km__isnull=False,
                    radius_km__gte=MIN_RADIUS_KM,
                    radius_km__lte=MAX_RADIUS_KM,
                    eastings__isnull=False,
                    northings__isnull=False,
                )
                & ~Q(district="")
                | Q(
                    location_kind="remote",
                    radius_km__isnull=True,
                    eastings__isnull=True,
                    northings__isnull=True,
                    postcode="",
                    district="",
                ),
                name="need_place_matches_location_kind",
            ),
            models.CheckConstraint(
                condition=Q(
                    schedule_kind="ongoing", weekly_slots__gt=0, weekly_slots__lte=ALL_WEEKLY_SLOTS
                )
                | Q(schedule_kind="windows", weekly_slots=0),
                name="need_weekly_slots_only_when_ongoing",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["closed", "filled"], closed_at__isnull=False)
                | Q(status__in=["draft", "open"], closed_at__isnull=True),
                name="need_closed_at_when_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def area_name(self) -> str:
        """Where the need is as volunteers see it: the district, never the postcode."""
        return display_area(self.district) if self.district else ""

    @property
    def places_left(self) -> int:
        return max(self.people_needed - self.filled_count, 0)

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.OPEN)


class NeedSkill(models.Model):
    """A skill the need asks for, at a minimum level; must-have or nice-to-have."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    # The same levels volunteers give themselves (`people.PersonSkill.Level`).
    min_level = models.PositiveSmallIntegerField(choices=PersonSkill.Level.choices)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["-required", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["need", "skill"], name="need_skill_once"),
            models.CheckConstraint(
                condition=Q(min_level__gte=min(PersonSkill.Level.values))
                & Q(min_level__lte=max(PersonSkill.Level.values)),
                name="need_skill_level_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.need_id}: {self.skill_id} ({self.min_level})"


class NeedWindow(models.Model):
    """One stretch of time when the help is needed."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="need_window_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.need_id}: {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"
