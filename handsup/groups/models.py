"""The movement's groups, memberships, join requests, blocks and movement-wide roles."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.groups.querysets import GroupQuerySet, MembershipQuerySet

colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # and six hexadecimal digits, like #a3122a.")
)


class MovementLimits(models.Model):
    """The movement-wide limits every group's policy must stay within (one row)."""

    updates_per_week_normal = models.PositiveSmallIntegerField(
        _("group updates a member may get from one group in a week, normally"),
        default=1,
        validators=[MinValueValidator(0), MaxValueValidator(7)],
    )
    updates_per_week_campaign = models.PositiveSmallIntegerField(
        _("group updates a member may get from one group in a week, during campaigns"),
        default=3,
        validators=[MinValueValidator(0), MaxValueValidator(14)],
    )
    max_retention_months = models.PositiveSmallIntegerField(
        _("longest a group may keep an ex-member's data (months)"),
        default=24,
        validators=[MinValueValidator(0), MaxValueValidator(120)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("movement limits")
        verbose_name_plural = _("movement limits")

    def __str__(self) -> str:
        return "Movement limits"

    @classmethod
    def current(cls) -> MovementLimits:
        limits, _ = cls.objects.get_or_create(pk=1)
        return limits


class Group(PublicIdModel):
    class Kind(models.TextChoices):
        NATIONAL = "national", _("National")
        REGION = "region", _("Nation or region")
        CONSTITUENCY = "constituency", _("Constituency party")
        BRANCH = "branch", _("Branch")
        AFFILIATE = "affiliate", _("Affiliated union")
        CAMPAIGN = "campaign", _("Campaign")
        SOCIETY = "society", _("Society")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        SUSPENDED = "suspended", _("Suspended")
        DECLINED = "declined", _("Declined")

    class JoinPolicy(models.TextChoices):
        OPEN = "open", _("Anyone can join")
        APPROVAL = "approval", _("An admin approves each request to join")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True)
    description = models.TextField(_("what the group does"), blank=True)
    public_contact = models.CharField(
        _("public contact"),
        max_length=200,
        blank=True,
        help_text=_("A group address or web page, shown to everyone. Not a personal address."),
    )
    join_policy = models.CharField(
        _("who can join"), max_length=20, choices=JoinPolicy.choices, default=JoinPolicy.OPEN
    )
    # Where the group works: a centre with a radius, or a list of postcode districts.
    area_districts = models.CharField(
        _("postcode districts"),
        max_length=1000,
        blank=True,
        help_text=_("Separate them with commas, like M1, M2, M3."),
    )
    area_centre = models.CharField(_("centre postcode or district"), max_length=10, blank=True)
    area_radius_km = models.PositiveSmallIntegerField(
        _("radius (km)"), null=True, blank=True, validators=[MaxValueValidator(500)]
    )
    centre_eastings = models.IntegerField(null=True, blank=True)
    centre_northings = models.IntegerField(null=True, blank=True)
    colour = models.CharField(_("colour"), max_length=7, blank=True, validators=[colour_validator])
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    updates_per_week_normal = models.PositiveSmallIntegerField(
        _("updates a member gets from this group in a week, normally"), default=1
    )
    updates_per_week_campaign = models.PositiveSmallIntegerField(
        _("updates a member gets from this group in a week, during campaigns"), default=2
    )
    retention_months = models.PositiveSmallIntegerField(
        _("months we keep an ex-member's details"), default=6
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Made by `handsup seed` (see groups/seeding.py), so its reset removes exactly these.
    seeded = models.BooleanField(default=False, editable=False)

    objects = GroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["centre_eastings", "centre_northings"])]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Group]:
        chain: list[Group] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def district_list(self) -> list[str]:
        return [code.strip() for code in self.area_districts.split(",") if code.strip()]

    @property
    def is_joinable(self) -> bool:
        return self.status == self.Status.ACTIVE


class Membership(PublicIdModel):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ORGANISER = "organiser", _("Organiser")
        ADMIN = "admin", _("Admin")

    # No index of its own: the (user, group) unique constraint's index leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="membership_once_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id} as {self.role}"


class Departure(models.Model):
    """Someone left a group: the group may keep their details until `retain_until`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="departures"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="departures")
    left_at = models.DateTimeField(auto_now_add=True)
    retain_until = models.DateField()

    def __str__(self) -> str:
        return f"{self.user_id} left {self.group_id}"


class GroupInvitation(PublicIdModel):
    """A group asks someone who already has an account to join it.

    Made when a group's imported list holds the address of an existing account: the
    import never changes or reveals that account, so the person decides, on their own
    page, whether to join. Answering closes the invitation.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    accepted = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"],
                condition=Q(answered_at__isnull=True),
                name="group_invitation_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation to {self.user_id} from {self.group_id}"


class JoinRequest(PublicIdModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="join_requests"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="join_requests")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"],
                condition=models.Q(status="pending"),
                name="one_pending_join_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} asks to join {self.group_id}"


class GroupBlock(models.Model):
    """A volunteer's block: this group may never shortlist, message or invite them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_blocks"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="blocks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="block_once_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} blocks {self.group_id}"


class MovementRole(models.Model):
    """A role that spans the whole movement rather than one group."""

    class Role(models.TextChoices):
        PLATFORM_ADMIN = "platform_admin", _("Platform admin")
        CURATOR = "curator", _("Story curator")
        DPO = "dpo", _("Data protection officer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="movement_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="movement_role_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role}"


class PersonSuspension(models.Model):
    """A platform admin suspended someone's account, with a recorded reason."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suspensions"
    )
    reason = models.CharField(max_length=500)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    suspended_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"suspension of {self.user_id}"
