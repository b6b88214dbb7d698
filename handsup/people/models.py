"""One row per volunteer: who they are and roughly where.

A person may have no account (someone an organiser added from a paper sign-up sheet);
with an account, the account's email is the one we use and `email` stays empty, so the
two can never disagree. Location is kept as the normalised postcode, its district, and
its grid reference in metres (see `handsup.places`).
"""

from __future__ import annotations

from datetime import time
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.people.querysets import PersonQuerySet
from handsup.places.areas import display_area
from handsup.places.geo import Point


class Person(PublicIdModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="person",
    )
    display_name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(
        _("email address"),
        blank=True,
        help_text=_("Only for people without an account; otherwise the account's address."),
    )
    # Normalised ("M1 1AE"); empty when we only know the district, or nothing.
    postcode = models.CharField(_("postcode"), max_length=8, blank=True)
    district = models.CharField(_("postcode district"), max_length=4, blank=True)
    eastings = models.IntegerField(_("eastings (m)"), null=True, blank=True)
    northings = models.IntegerField(_("northings (m)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # Findable for needs only once true: their email address is confirmed, or an
    # organiser registered them in person (on paper or by phone) and vouches for them.
    verified = models.BooleanField(_("verified"), default=False)
    # Made by `handsup seed`, and removed by `handsup seed --reset`.
    seeded = models.BooleanField(default=False, editable=False)

    objects: ClassVar[PersonQuerySet] = PersonQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            # Matching's "who is near here" range filter on both coordinates.
            models.Index(fields=["eastings", "northings"], name="person_location_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(email=""),
                name="person_email_only_without_account",
            ),
            models.CheckConstraint(
                condition=Q(eastings__isnull=True, northings__isnull=True)
                | Q(eastings__isnull=False, northings__isnull=False),
                name="person_location_complete_or_absent",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def point(self) -> Point | None:
        if self.eastings is None or self.northings is None:
            return None
        return Point(self.eastings, self.northings)

    @property
    def area_name(self) -> str:
        """Roughly where this person is, never finer than the district."""
        return display_area(self.district) if self.district else ""


# --- The talent pool: what a person offers, when, and how they want to be asked ---------


class SkillCategory(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("skill category")
        verbose_name_plural = _("skill categories")

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    """One skill in the curated taxonomy. Synonyms are what people might type instead."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    category = models.ForeignKey(SkillCategory, on_delete=models.PROTECT, related_name="skills")
    synonyms = models.TextField(
        _("synonyms"), blank=True, help_text=_("Other words for this skill, one per line.")
    )
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name

    @property
    def synonym_list(self) -> list[str]:
        return [line.strip() for line in self.synonyms.splitlines() if line.strip()]


class PersonSkill(models.Model):
    class Level(models.IntegerChoices):
        LEARNING = 1, _("Learning")
        CAPABLE = 2, _("Capable")
        EXPERIENCED = 3, _("Experienced")
        CAN_TEACH = 4, _("Can teach others")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="holders")
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    remote = models.BooleanField(_("I can do this remotely"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "skill"], name="person_skill_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.skill_id} ({self.level})"


class Profile(models.Model):
    """The rest of a volunteer's profile: availability, preferences and needs.

    One row per person, kept apart from `Person` so the narrow identity row stays narrow.
    Discoverability is *not* here: it is a consent (privacy purposes `found_movement` and
    `found_my_groups`), recorded with its history.
    """

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", _("Once a week")
        FORTNIGHTLY = "fortnightly", _("Once a fortnight")
        MONTHLY = "monthly", _("Once a month")
        NEVER = "never", _("Never: only direct asks")

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="profile")
    # 7 days × (morning, afternoon, evening): bit (day * 3 + slot), Monday morning = bit 0.
    availability = models.PositiveIntegerField(_("when I can help"), default=0)
    hours_normal = models.PositiveSmallIntegerField(
        _("hours a week, normally"), default=2, validators=[MaxValueValidator(80)]
    )
    hours_campaign = models.PositiveSmallIntegerField(
        _("hours a week, during campaigns"), default=4, validators=[MaxValueValidator(80)]
    )
    travel_radius_km = models.PositiveSmallIntegerField(
        _("how far I will travel (km)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
    )
    talents = models.CharField(
        _("other talents"),
        max_length=500,
        blank=True,
        help_text=_("Anything else you can do, separated by commas."),
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    accessibility_needs = models.TextField(_("access needs"), blank=True)
    phone = models.CharField(_("phone number"), max_length=30, blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    contact_by_email = models.BooleanField(_("email"), default=True)
    contact_by_phone = models.BooleanField(_("phone"), default=False)
    contact_by_post = models.BooleanField(_("post"), default=False)
    asks_per_week_normal = models.PositiveSmallIntegerField(
        _("at most this many asks a week, normally"),
        default=1,
        validators=[MaxValueValidator(7)],
    )
    asks_per_week_campaign = models.PositiveSmallIntegerField(
        _("at most this many asks a week, during campaigns"),
        default=3,
        validators=[MaxValueValidator(14)],
    )
    digest_cadence = models.CharField(
        _("news digest"), max_length=20, choices=Cadence.choices, default=Cadence.WEEKLY
    )
    quiet_from = models.TimeField(_("quiet hours from"), default=time(21, 0))
    quiet_until = models.TimeField(_("quiet hours until"), default=time(8, 0))
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/London")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(hours_campaign__gte=models.F("hours_normal")),
                name="profile_campaign_hours_not_below_normal",
            ),
            models.CheckConstraint(
                condition=~Q(quiet_from=models.F("quiet_until")),
                name="profile_quiet_hours_not_whole_day",
            ),
        ]
        indexes = [
            # Pacing asks which (time zone, quiet hours) combinations exist, to work out
            # once for each whether it is quiet now: a few dozen hops along this index
            # rather than a pass over everyone's profile.
            models.Index(
                fields=["time_zone", "quiet_from", "quiet_until"], name="profile_quiet_hours_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"profile of {self.person_id}"


class DateAway(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="dates_away")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="date_away_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} away {self.starts_on}–{self.ends_on}"


class ClaimCode(models.Model):
    """A single-use code with which someone registered offline takes over their account."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="claim_codes")
    # Only a hash is stored: the code itself exists on the letter or in the email.
    code_hash = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"claim code for {self.person_id}"
