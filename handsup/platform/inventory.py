"""The platform app's fields in the privacy field inventory (see `handsup.privacy.inventory`).

Tokens, endpoints and calls belong to groups; a person appears as who created them. A
webhook delivery about a person (who joined, left or said yes) is theirs: erasure
deletes it, and download-my-data lists it with who has seen their details.
"""

from __future__ import annotations

from handsup.privacy.inventory import not_personal, personal

A_GROUPS_SYSTEM = "a group's connection to its own systems, not about a person"

for model in ("platform.ApiToken", "platform.WebhookEndpoint"):
    personal(
        model,
        "created_by",
        what="API tokens and webhook endpoints the person set up for a group",
        export_section="activity",
        erasure="anonymise",
        note="the token or endpoint is the group's and stays",
    )
not_personal(
    "platform.ApiToken",
    "id",
    "public_id",
    "group",
    "name",
    "scopes",
    "prefix",
    "secret_digest",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
    why=A_GROUPS_SYSTEM,
)
not_personal(
    "platform.ApiCall",
    "id",
    "token",
    "method",
    "path",
    "status",
    "at",
    why="a call by a group's system; reads of people's data it made are in the access log",
)
not_personal(
    "platform.WebhookEndpoint",
    "id",
    "public_id",
    "group",
    "url",
    "description",
    "events",
    "secret",
    "created_at",
    "failing_since",
    "disabled_at",
    "disabled_reason",
    why=A_GROUPS_SYSTEM,
)
personal(
    "platform.WebhookDelivery",
    "subject",
    what="events about the person sent to a group's systems (joined, left, said yes)",
    export_section="who_has_seen_me",
    erasure="delete",
)
personal(
    "platform.WebhookDelivery",
    "payload",
    what="what an event about the person told the group's system",
    export_section="who_has_seen_me",
    erasure="delete",
    note="only what the group may see of them; deleted with the delivery",
)
not_personal(
    "platform.WebhookDelivery",
    "id",
    "endpoint",
    "message_id",
    "event",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "last_status_code",
    "last_error",
    "created_at",
    "delivered_at",
    why="how a delivery went; personal only through `subject`, and erased with it",
)
not_personal(
    "platform.WebhookAttempt",
    "id",
    "delivery",
    "at",
    "status_code",
    "error",
    "duration_ms",
    why="how one try went",
)
personal(
    "platform.Tool",
    "submitted_by",
    what="tools the person added to the registry",
    export_section="activity",
    erasure="anonymise",
    note="the tool's page is the movement's and stays",
)
not_personal(
    "platform.Tool",
    "id",
    "public_id",
    "name",
    "summary",
    "description",
    "licence",
    "source_url",
    "status",
    "tags",
    "review",
    "review_note",
    "changed_since_review",
    "maintainer_groups",
    "used_by",
    "created_at",
    "updated_at",
    why="describes a tool, not a person",
)
personal(
    "platform.ToolMaintainer",
    "user",
    what="tools the person maintains, as shown on the tool's page",
    export_section="activity",
    erasure="delete",
)
not_personal("platform.ToolMaintainer", "id", "tool", "created_at", why="which tool")
personal(
    "platform.ToolHelpNeed",
    "opened_by",
    what="'help wanted' needs the person opened for a tool",
    export_section="activity",
    erasure="anonymise",
    note="the need is the group's and stays",
)
not_personal("platform.ToolHelpNeed", "id", "tool", "need", "created_at", why="which need")
