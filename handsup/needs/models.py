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
            # The open-needs index catches up from here (`needs_index.refresh`).
            models.Index(fields=["updated_at"], name="need_updated_idx"),
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


# --- Invitations, introductions and what happened afterwards ----------------------------

# An invitation lapses after this long, or at the end of the need's closing date if
# that comes first.
INVITATION_LIFETIME_DAYS = 14
# A contact-release grant lasts until this long after the need ends; for an ongoing
# need at most `GRANT_MAX_DAYS` from when it was given (the volunteer can renew it).
GRANT_DAYS_AFTER_NEED = 30
GRANT_MAX_DAYS = 183


class Invitation(PublicIdModel):
    """One person and one need: the group asked them, or they offered themselves.

    There is at most one per (need, person): someone already invited, who declined or
    who offered is never asked again for the same need (matching leaves them out).
    """

    class Source(models.TextChoices):
        ASK = "ask", _("The group asked")
        OFFER = "offer", _("The volunteer offered")

    class Channel(models.TextChoices):
        EMAIL = "email", _("By email")
        # Someone whose only channels are phone or post: the organisers of the group
        # that registered them phone or write, then record the answer.
        RELAY = "relay", _("By phone or post, through an organiser")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Said yes")
        DECLINED = "declined", _("Said no")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    class DeclineReason(models.TextChoices):
        NOT_NOW = "not_now", _("Not now")
        NOT_THIS_KIND = "not_this_kind", _("Not this kind of thing")
        TOO_MANY_ASKS = "too_many_asks", _("Too many asks")
        NONE_GIVEN = "", _("No reason given")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="need_invitations"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Who sent the ask (an organiser), or None for an offer.
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The ask message that carried it (email channel); None for offers and relays.
    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(
        max_length=20, choices=DeclineReason.choices, blank=True, default=""
    )
    # Which contact details the volunteer chose to share on saying yes (name and email
    # always; phone only if they tick it). An offer records it when it is made.
    share_phone = models.BooleanField(default=False)
    # Relay channel: the organiser who phoned or wrote and recorded the answer.
    relayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A material edit (times, place, skills) after they said yes: asked to confirm again.
    reconfirm_requested_at = models.DateTimeField(null=True, blank=True)
    # Afterwards: did they help? None until the organiser records it.
    helped = models.BooleanField(null=True, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    thanked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["need", "user"], name="invitation_once_per_need"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="invitation_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", answered_at__isnull=True)
                | ~Q(status="pending") & Q(answered_at__isnull=False),
                name="invitation_answered_at_when_answered",
            ),
            models.CheckConstraint(
                condition=Q(helped__isnull=True) | Q(status="accepted"),
                name="invitation_outcome_only_when_accepted",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="invitation_user_status_idx"),
            models.Index(fields=["need", "status"], name="invitation_need_status_idx"),
            models.Index(fields=["status", "expires_at"], name="invitation_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.need_id} → {self.user_id} ({self.status})"


class ContactGrant(models.Model):
    """A volunteer lets one group see their contact details, for one need, for a while.

    Made when they say yes (or when an organiser accepts their offer). Only while a
    grant is current (not revoked, not expired) may the group's organisers see the
    fields it names; every such view is access-logged.
    """

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="grant")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_grants"
    )
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+")
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="grants")
    # Name and email are always released; phone only if the volunteer chose it.
    share_phone = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="grant_expires_after_creation"
            ),
        ]
        indexes = [
            models.Index(fields=["group", "need"], name="grant_group_need_idx"),
            models.Index(fields=["user", "revoked_at"], name="grant_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → group {self.group_id} for need {self.need_id}"

    @property
    def stopped_early(self) -> bool:
        """Whether the person stopped sharing before the grant's end. Retention closes an
        expired grant by setting `revoked_at` to its end, which is not a revocation."""
        return self.revoked_at is not None and self.revoked_at < self.expires_at

    @property
    def fields(self) -> list[str]:
        return ["full_name", "email", "phone"] if self.share_phone else ["full_name", "email"]


class HoursLog(models.Model):
    """Hours someone gave to a need, logged by them or by one of the group's organisers."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="hours")
    hours = models.DecimalField(max_digits=4, decimal_places=1)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    on_date = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-on_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0, hours__lte=24), name="hours_log_within_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hours} h on {self.on_date} for invitation {self.invitation_id}"


class MatchingChange(models.Model):
    """Something matching reads about one account changed (or, with no account, anything
    may have: rebuild). Written in the same transaction as the change, by the signals in
    `index_changes`, so the in-process index (`index.MatchingIndex`) can catch up from its
    watermark, the highest id it has applied. Rows are only read forwards; old ones may be
    pruned once every process has passed them.
    """

    id = models.BigAutoField(primary_key=True)
    # The account's id, not a foreign key: the row must outlive an erased account so the
    # index learns to drop them. None means "reload everyone" (bulk loads skip signals).
    user_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"change {self.pk} for {self.user_id or 'everyone'}"


class MatchingRow(models.Model):
    """Matching's narrow copy of one volunteer: what a need's candidates are found by.

    Derived, never edited by hand: `narrow.sync_rows` recomputes a person's row in the
    same transaction as any change matching reads about them (through `index_changes`),
    and `narrow.rebuild_rows` recomputes everyone after a bulk load. The database path
    (`db_path.shortlist_from_table`) picks candidates here, then re-checks them against
    the real tables (`matching.eligible_people`), so a stale row can cost a candidate a
    place but can never show anyone ineligible.

    Skills are bit sets over the taxonomy's ids, two signed 64-bit words each (`_lo`:
    ids 0-63, `_hi`: ids 64-127; bit 63 is the sign bit, stored as two's complement).
    `skills_*` holds a skill at any level, `level{2,3,4}_*` at that level or better (so a
    minimum level is one mask test, and the level itself is 1 + those three bits), and
    `remote_*` "I can do this remotely". Skills with ids of 128 or more are not held: a
    need asking for one is shortlisted by the exact path.

    No database-level foreign key to the person: the table is derived, and bulk
    deletes by raw SQL (`handsup seed --reset`) remove people without looking at it;
    `rebuild_rows` drops such rows, and nothing is ever shown from this table unchecked.
    """

    person = models.OneToOneField(
        "people.Person",
        on_delete=models.CASCADE,
        primary_key=True,
        db_constraint=False,
        related_name="matching_row",
    )
    user_id = models.BigIntegerField(db_index=True)
    eastings = models.IntegerField(null=True)
    northings = models.IntegerField(null=True)
    travel_km = models.PositiveSmallIntegerField()
    availability = models.IntegerField(default=0)
    skills_lo = models.BigIntegerField(default=0)
    skills_hi = models.BigIntegerField(default=0)
    level2_lo = models.BigIntegerField(default=0)
    level2_hi = models.BigIntegerField(default=0)
    level3_lo = models.BigIntegerField(default=0)
    level3_hi = models.BigIntegerField(default=0)
    level4_lo = models.BigIntegerField(default=0)
    level4_hi = models.BigIntegerField(default=0)
    remote_lo = models.BigIntegerField(default=0)
    remote_hi = models.BigIntegerField(default=0)
    # Account active and person verified; the latest movement-wide consents to be found.
    active_verified = models.BooleanField(default=False)
    found_movement = models.BooleanField(default=False)
    found_my_groups = models.BooleanField(default=False)
    # Contact counters: read with the row, never searched on, so in no index.
    last_asked_at = models.DateTimeField(null=True)
    outcomes = models.PositiveIntegerField(default=0)
    helped = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # On site: the square around the need, as on `Person`.
            models.Index(fields=["eastings", "northings"], name="matching_row_location_idx"),
            # Remote: the people who can do anything remotely (about a third), whose rows
            # `rebuild_rows` writes first, together, so a remote need reads that stretch.
            models.Index(
                fields=["person"],
                condition=~Q(remote_lo=0) | ~Q(remote_hi=0),
                name="matching_row_remote_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"matching row of {self.person_id}"
