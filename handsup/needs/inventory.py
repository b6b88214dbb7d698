"""The needs app's fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import NOT_EXPORTED, not_personal, personal

ABOUT_THE_NEED = "about what a group asks for, not about a person"

not_personal(
    "needs.Need",
    "id",
    "public_id",
    "group",
    "title",
    "description",
    "location_kind",
    "district",
    "radius_km",
    "schedule_kind",
    "weekly_slots",
    "hours",
    "people_needed",
    "filled_count",
    "closes_on",
    "visibility",
    "status",
    "created_at",
    "updated_at",
    "closed_at",
    why=ABOUT_THE_NEED,
)
not_personal(
    "needs.Need",
    "postcode",
    "eastings",
    "northings",
    why="where the help is needed (a venue the group chose), not where anyone lives; "
    "volunteers are shown only its district",
)
personal(
    "needs.Need",
    "created_by",
    what="which needs the person posted for a group",
    export_section="activity",
    erasure="anonymise",
    note="the need is the group's and stays; the link to the person who posted it is cleared",
)
not_personal("needs.NeedSkill", "id", "need", "skill", "min_level", "required", why=ABOUT_THE_NEED)
not_personal("needs.NeedWindow", "id", "need", "starts_at", "ends_at", why=ABOUT_THE_NEED)
personal(
    "needs.Invitation",
    "user",
    what="which needs the person was asked about or offered for, and what they answered",
    export_section="needs",
    erasure="keep",
    note="erasure keeps the yeses, pointing at the emptied account (the group's record of "
    "help given, shown as 'a former volunteer', with hours-log notes cleared); every other "
    "invitation is deleted, and the need keeps only its count of places filled",
)
not_personal(
    "needs.Invitation",
    "id",
    "public_id",
    "need",
    "message",
    "source",
    "channel",
    "status",
    "created_at",
    "expires_at",
    "answered_at",
    "decline_reason",
    "share_phone",
    "reconfirm_requested_at",
    "helped",
    "outcome_recorded_at",
    "thanked_at",
    why="describes an invitation; personal only through `user`, and erased with it",
)
for field in ("invited_by", "relayed_by"):
    personal(
        "needs.Invitation",
        field,
        what="which invitations the person sent or relayed for a group",
        export_section="activity",
        erasure="anonymise",
        note="the invitation is the volunteer's and stays; the link to the organiser is cleared",
    )
personal(
    "needs.ContactGrant",
    "user",
    what="which groups the person let see their contact details, for which need, until when",
    export_section="needs",
    erasure="delete",
)
not_personal(
    "needs.ContactGrant",
    "id",
    "invitation",
    "group",
    "need",
    "share_phone",
    "created_at",
    "expires_at",
    "renewed_at",
    "revoked_at",
    why="describes a grant; personal only through `user`, and erased with it",
)
personal(
    "needs.HoursLog",
    "logged_by",
    what="hours logged for a need by this person",
    export_section="activity",
    erasure="anonymise",
)
not_personal(
    "needs.HoursLog",
    "id",
    "invitation",
    "hours",
    "on_date",
    "note",
    "created_at",
    why="hours given to a need; personal through the invitation's `user`, erased with it "
    "(a yes the group keeps after erasure keeps its hours, and its notes are cleared)",
)
personal(
    "needs.MatchingChange",
    "user_id",
    what="that something matching reads about the account changed (the bare account id)",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="says only that something changed and when, for the matching index to catch up; "
    "no detail of the person, and rows are read within seconds and may be pruned after. "
    "Erasure deletes the account's rows and writes one naming only the emptied account, "
    "so every index drops the person",
)
not_personal(
    "needs.MatchingChange",
    "id",
    "at",
    why="the change log's own order and time, for the matching index's watermark",
)
for name, what in (
    ("person", "whose matching row this is"),
    ("user_id", "the person's account (the bare id)"),
    ("eastings", "where the person is, copied from their profile (grid eastings)"),
    ("northings", "where the person is, copied from their profile (grid northings)"),
    ("travel_km", "how far the person will travel, copied from their profile"),
    ("availability", "when the person can usually help, copied from their profile"),
    ("skills_lo", "which skills the person offers, as bits"),
    ("skills_hi", "which skills the person offers, as bits"),
    ("level2_lo", "which of their skills the person is capable at or better, as bits"),
    ("level2_hi", "which of their skills the person is capable at or better, as bits"),
    ("level3_lo", "which of their skills the person is experienced at or better, as bits"),
    ("level3_hi", "which of their skills the person is experienced at or better, as bits"),
    ("level4_lo", "which of their skills the person can teach others, as bits"),
    ("level4_hi", "which of their skills the person can teach others, as bits"),
    ("remote_lo", "which of their skills the person can use remotely, as bits"),
    ("remote_hi", "which of their skills the person can use remotely, as bits"),
    ("active_verified", "whether the person's account is active and the person verified"),
    ("found_movement", "whether the person's latest consent lets any group find them"),
    ("found_my_groups", "whether the person's latest consent lets their groups find them"),
    ("last_asked_at", "when the person was last asked to help"),
    ("outcomes", "how many of the person's yeses have an outcome recorded"),
    ("helped", "how many of those say the person helped"),
):
    personal(
        "needs.MatchingRow",
        name,
        what=what,
        export_section=NOT_EXPORTED,
        erasure="delete",
        note="a copy derived for matching from the profile, skills, consents, ask ledger "
        "and invitations, which are exported from their own tables; recomputed from them "
        "on every change and deleted with the person",
    )
