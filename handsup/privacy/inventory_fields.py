"""The privacy app's own fields in the field inventory.

Not named `inventory.py`: that module is the registry itself. `PrivacyConfig.ready`
imports this one. The logs' personal fields are their links to people; the rest of a row
describes that link and goes with it.
"""

from __future__ import annotations

from handsup.privacy.inventory import NOT_EXPORTED, not_personal, personal

REGISTER = "the purposes register and the notice describe what we do, not anyone"

not_personal(
    "privacy.Purpose",
    "id",
    "code",
    "name",
    "text",
    "lawful_basis",
    "special_category_condition",
    "scope",
    "channel",
    why=REGISTER,
)
not_personal("privacy.PrivacyNotice", "id", "version", "text", "published_at", why=REGISTER)

# Consent events.
personal(
    "privacy.ConsentEvent",
    "user",
    what="whose consent this is",
    export_section="consents",
    erasure="delete",
    note="the person's whole consent history is deleted with them",
)
personal(
    "privacy.ConsentEvent",
    "recorded_by",
    what="who recorded the consent: the person, or an organiser who took it on paper or by phone",
    export_section="consents",
    erasure="anonymise",
    note="when the organiser who recorded it is erased, the consent stands, unattributed",
)
not_personal(
    "privacy.ConsentEvent",
    "id",
    "purpose",
    "group",
    "channel",
    "given",
    "at",
    "source",
    "notice_version",
    "wording",
    why="describes the consent; personal only through `user`, and erased with it",
)

# The access log.
personal(
    "privacy.AccessLogEntry",
    "subject",
    what="whose personal data was read",
    export_section="who_has_seen_me",
    erasure="delete",
)
personal(
    "privacy.AccessLogEntry",
    "actor",
    what="who read someone else's personal data",
    export_section="activity",
    erasure="anonymise",
    note="the reader's export says what they read and when, not whose data it was; "
    "after the reader's erasure, the person read keeps seeing that a read happened",
)
not_personal(
    "privacy.AccessLogEntry",
    "id",
    "purpose",
    "fields",
    "group",
    "at",
    why="describes the read; personal only through `subject` and `actor`",
)

# The audit log.
personal(
    "privacy.AuditEntry",
    "actor",
    what="who took the action",
    export_section="activity",
    erasure="anonymise",
)
personal(
    "privacy.AuditEntry",
    "object_public_id",
    what="the public id of what was acted on, which may be a person",
    export_section="activity",
    erasure="anonymise",
)
personal(
    "privacy.AuditEntry",
    "details",
    what="what changed, as codes and public ids (never names or contact details)",
    export_section="activity",
    erasure="anonymise",
    note="erasure removes the person's public id wherever it appears in details",
)
not_personal(
    "privacy.AuditEntry",
    "id",
    "action",
    "object_type",
    "group",
    "at",
    why="describes the action; personal only through `actor` and the object's id",
)

# What erasure leaves behind: a one-way hash, never the address itself.
not_personal(
    "privacy.ErasedIdentity",
    "id",
    "digest",
    "erased_at",
    why="a keyed one-way hash of an erased person's address, kept so the address is never "
    "emailed or imported again; it can't be turned back into the address or linked to "
    "anything else",
)

# Download-my-data requests.
not_personal("privacy.DataExport", "id", why="internal row number")
personal(
    "privacy.DataExport",
    "user",
    what="whose data the download holds",
    export_section="files",
    erasure="delete",
)
personal(
    "privacy.DataExport",
    "file",
    what="the zip of the person's data",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="the download itself; an export of it would be a copy of the same data",
)
not_personal(
    "privacy.DataExport",
    "public_id",
    "status",
    "progress",
    "created_at",
    "finished_at",
    "expires_at",
    "failure",
    why="describes the download; personal only through `user`, and erased with it",
)

not_personal(
    "privacy.PrivacyNotice",
    "needs_fresh_consent",
    why="describes a version of the notice",
)

# The data protection officer's desk.
not_personal("privacy.DataRequest", "id", why="internal row number")
personal(
    "privacy.DataRequest",
    "subject",
    what="whose data a data-protection request is about",
    export_section="activity",
    erasure="keep",
    note="the request stays on the desk's record (the law asks us to show we answered), "
    "pointing at the emptied account",
)
personal(
    "privacy.DataRequest",
    "requester_details",
    what="how someone who asked by post, phone or email described themselves",
    export_section="activity",
    erasure="delete",
    note="cleared when the request is closed, and at erasure",
)
for name, what in (
    ("identity_checked_by", "which officer checked the requester's identity"),
    ("handled_by", "which officer handled the request"),
):
    personal(
        "privacy.DataRequest",
        name,
        what=what,
        export_section="activity",
        erasure="anonymise",
    )
not_personal(
    "privacy.DataRequest",
    "public_id",
    "kind",
    "channel",
    "status",
    "received_on",
    "due_on",
    "extended_to",
    "extension_reason",
    "identity_checked_at",
    "identity_check_note",
    "created_at",
    "closed_at",
    "outcome",
    why="describes the request; personal only through `subject`, and the desk writes "
    "these in words that don't name the requester",
)

# Retention.
not_personal("privacy.ReconfirmRequest", "id", why="internal row number")
personal(
    "privacy.ReconfirmRequest",
    "user",
    what="who was asked whether to keep their account after a long time away",
    export_section="account",
    erasure="delete",
)
not_personal(
    "privacy.ReconfirmRequest",
    "asked_at",
    "anonymise_after",
    "confirmed_at",
    why="describes the question; personal only through `user`, and erased with it",
)
not_personal(
    "privacy.RetentionRun",
    "id",
    "started_at",
    "finished_at",
    "as_of",
    "dry_run",
    "report",
    why="what a retention run did, as counts per rule; nobody is named",
)
not_personal(
    "privacy.AccessLogSummary",
    "id",
    "month",
    "group",
    "purpose",
    "reads",
    why="old access-log rows counted per group, purpose and month; nobody is named",
)
