"""Messaging's fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import not_personal, personal

not_personal(
    "messaging.Message",
    "id",
    "public_id",
    "kind",
    "group",
    "subject",
    "body_markdown",
    "body_html",
    "body_text",
    "audience_description",
    "created_at",
    "sent_at",
    "recipients",
    "sent_count",
    "held_count",
    "folded_count",
    "suppressed_count",
    "reason_counts",
    "delivered_count",
    "failed_count",
    why="a group's message to many people and its totals, not about one person; a note "
    "that quotes someone (an introduction to organisers, a thank-you) loses their name and "
    "contact details when they are erased",
)
personal(
    "messaging.Message",
    "author",
    what="who wrote and sent a message",
    export_section="activity",
    erasure="anonymise",
    note="the group's message history stays; the link to its author is cleared",
)

personal(
    "messaging.LedgerEntry",
    "user",
    what="what we sent the person and what we held back, with the reasons",
    export_section="messages",
    erasure="delete",
    note="the person's contact ledger is deleted with them",
)
not_personal(
    "messaging.LedgerEntry",
    "id",
    "message",
    "kind",
    "group",
    "at",
    "decision",
    "reason",
    "release_at",
    "digest",
    why="describes a decision; personal only through `user`, and erased with it",
)

personal(
    "messaging.OutboxItem",
    "user",
    what="email waiting to be sent to the person, or sent",
    export_section="messages",
    erasure="delete",
)
personal(
    "messaging.OutboxItem",
    "address",
    what="the address an email was sent to",
    export_section="messages",
    erasure="delete",
)
not_personal(
    "messaging.OutboxItem",
    "id",
    "message",
    "status",
    "due_at",
    "lease_until",
    "attempts",
    "last_error",
    "sent_at",
    why="delivery state of one email; personal only through `user`, and erased with it",
)

not_personal(
    "messaging.CampaignPeriod",
    "id",
    "name",
    "group",
    "starts_at",
    "ends_at",
    "created_at",
    why="a campaign declared for a group or the movement",
)
personal(
    "messaging.CampaignPeriod",
    "declared_by",
    what="who declared a campaign period",
    export_section="activity",
    erasure="anonymise",
)

personal(
    "messaging.Unsubscribe",
    "user",
    what="what the person unsubscribed from",
    export_section="messages",
    erasure="delete",
    note="nothing is sent to an erased account, so the stop goes with it",
)
not_personal(
    "messaging.Unsubscribe",
    "id",
    "scope",
    "group",
    "kind",
    "created_at",
    why="describes the unsubscribe; personal only through `user`",
)

not_personal(
    "messaging.ContactLimits",
    "id",
    "group_updates_per_day",
    "group_updates_per_week_normal",
    "group_updates_per_week_campaign",
    "asks_per_day",
    "asks_per_week_normal",
    "asks_per_week_campaign",
    "news_per_day",
    "news_per_week_normal",
    "news_per_week_campaign",
    "updated_at",
    why="movement-wide settings",
)

personal(
    "messaging.Digest",
    "user",
    what="the person's digests: when each period's was put together and what it held",
    export_section="messages",
    erasure="delete",
    note="deleted with the person, like their contact ledger",
)
not_personal(
    "messaging.Digest",
    "id",
    "period_start",
    "cadence",
    "message",
    "since",
    "until",
    "item_count",
    "sections",
    why="a digest's period and contents (groups' news, ids of folded messages); "
    "personal only through `user`, and erased with it",
)

not_personal(
    "messaging.Message",
    "bounced_count",
    "complained_count",
    why="a message's totals of bounces and spam reports, not about one person",
)
not_personal(
    "messaging.OutboxItem",
    "feedback",
    why="what the mail provider reported about one email; personal only through `user`",
)
personal(
    "messaging.AddressSuppression",
    "user",
    what="that the mail provider reported the person's address bounced or our mail as spam",
    export_section="messages",
    erasure="delete",
)
personal(
    "messaging.AddressSuppression",
    "address",
    what="the address that bounced or complained",
    export_section="messages",
    erasure="delete",
)
personal(
    "messaging.AddressSuppression",
    "detail",
    what="the mail server's words about the bounce (may quote the address)",
    export_section="messages",
    erasure="delete",
)
not_personal(
    "messaging.AddressSuppression",
    "id",
    "cause",
    "reason",
    "provider",
    "message",
    "at",
    "created_at",
    "cleared_at",
    why="describes the suppression; personal only through `user`, and erased with it",
)
