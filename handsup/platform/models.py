"""The open platform: API tokens, webhooks and the movement's registry of tools.

- `ApiToken`: a group admin's key to the REST API, scoped to their group and to chosen
  scopes, with an expiry. Only a SHA-256 digest of the secret is stored; the secret is
  shown once. `ApiCall` is the audit row of every call made with a token.
- `WebhookEndpoint`: where a group wants events sent (HTTPS to a public address), with
  its signing secret (Standard Webhooks). `WebhookDelivery` is one event for one
  endpoint, written in the transaction of the change that caused it (the outbox) and
  sent by the worker with retries and backoff; its attempts are the delivery log.
- `Tool`: something a builder in the movement made (what it does, who maintains it,
  licence, source, status, which groups use it), moderated by curators. `ToolHelpNeed`
  links a tool's "help wanted" to an ordinary need.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel


class Scope(models.TextChoices):
    """What a token may do; reads and writes of each kind of object apart."""

    GROUPS_READ = "groups:read", _("Read the group")
    NEEDS_READ = "needs:read", _("Read needs, shortlists and invitations")
    NEEDS_WRITE = "needs:write", _("Create, change and close needs; invite people")
    MEMBERS_READ = "members:read", _("Read members (only what their consents allow)")
    STORIES_READ = "stories:read", _("Read published stories")
    STORIES_WRITE = "stories:write", _("Submit stories")
    UPDATES_WRITE = "updates:write", _("Preview and send group updates")
    TOOLS_READ = "tools:read", _("Read the tools registry")


class ApiToken(PublicIdModel):
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    scopes = models.JSONField(default=list)
    # The first characters of the secret, to recognise it in a list; never enough to use.
    prefix = models.CharField(max_length=16)
    secret_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ApiCall(models.Model):
    """One call made with a token: the API's audit log."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="calls")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["token", "at"], name="apicall_token_at_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


class WebhookEvent(models.TextChoices):
    NEED_CREATED = "need.created", _("A need was created")
    NEED_FILLED = "need.filled", _("A need was filled")
    INVITATION_ACCEPTED = "invitation.accepted", _("Someone said yes to an invitation")
    MEMBER_JOINED = "member.joined", _("Someone joined the group")
    MEMBER_LEFT = "member.left", _("Someone left the group")
    STORY_PUBLISHED = "story.published", _("A story of the group was published")
    IMPORT_FINISHED = "import.finished", _("An import into the group finished")


class WebhookEndpoint(PublicIdModel):
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("address"), max_length=500)
    description = models.CharField(_("what it is for"), max_length=200, blank=True)
    events = models.JSONField(default=list)
    # "whsec_" + base64: the Standard Webhooks signing secret, shown to the group's admins.
    secret = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the first failure in a run of failures, cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        DELIVERED = "delivered", _("Delivered")
        GAVE_UP = "gave_up", _("Gave up")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The Standard Webhooks message id ("msg_…"): the same for every retry, so a
    # receiver deduplicates on it.
    message_id = models.CharField(max_length=40, unique=True)
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    # The person the event is about (who joined, left or said yes), if anyone: their
    # erasure deletes the deliveries about them, sent or not.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # The lease of the worker sending it, so two workers never send it at once.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try at sending a delivery: the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code}"


class Tool(PublicIdModel):
    class Status(models.TextChoices):
        IDEA = "idea", _("An idea")
        BUILDING = "building", _("Being built")
        IN_USE = "in_use", _("In use")
        RETIRED = "retired", _("Retired")

    class Review(models.TextChoices):
        PENDING = "pending", _("Waiting for a curator")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    name = models.CharField(_("name"), max_length=100)
    summary = models.CharField(_("what it does, in a line"), max_length=200)
    description = models.TextField(_("what it does"), max_length=10_000)
    licence = models.CharField(_("licence"), max_length=100)
    source_url = models.URLField(_("source code"), max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    tags = models.JSONField(default=list, blank=True)
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    review_note = models.TextField(blank=True, max_length=2000)
    # A maintainer changed a published tool's words, link or tags: it stays published,
    # and waits in the curators' queue until one of them checks it again.
    changed_since_review = models.BooleanField(default=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    maintainer_groups = models.ManyToManyField(
        "groups.Group", related_name="tools_maintained", blank=True
    )
    used_by = models.ManyToManyField("groups.Group", related_name="tools_used", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["review", "name"], name="tool_review_name_idx")]

    def __str__(self) -> str:
        return self.name


class ToolMaintainer(models.Model):
    """A person who maintains a tool (groups that do are `Tool.maintainer_groups`)."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="maintainers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tools_maintained"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["tool", "user"], name="tool_maintainer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tool_id}: {self.user_id}"


class ToolHelpNeed(models.Model):
    """A need opened from a tool's "help wanted"."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="help_needs")
    need = models.OneToOneField("needs.Need", on_delete=models.CASCADE, related_name="tool_help")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.tool_id}: {self.need_id}"
