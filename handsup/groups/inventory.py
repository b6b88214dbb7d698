"""The groups app's fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import not_personal, personal

ABOUT_THE_GROUP = "about the group, not a person"

not_personal(
    "groups.Group",
    "id",
    "public_id",
    "name",
    "slug",
    "kind",
    "parent",
    "status",
    "status_reason",
    "description",
    "join_policy",
    "area_districts",
    "area_centre",
    "area_radius_km",
    "centre_eastings",
    "centre_northings",
    "colour",
    "logo",
    "updates_per_week_normal",
    "updates_per_week_campaign",
    "retention_months",
    "created_at",
    "seeded",
    why=ABOUT_THE_GROUP,
)
not_personal(
    "groups.Group",
    "public_contact",
    why="a group's public address; the form asks for a group address, not a personal one",
)
personal(
    "groups.Group",
    "requested_by",
    what="who asked for the group to be created",
    export_section="groups",
    erasure="anonymise",
    note="the group stays; the link to the person is cleared",
)
not_personal(
    "groups.MovementLimits",
    "id",
    "updates_per_week_normal",
    "updates_per_week_campaign",
    "max_retention_months",
    "updated_at",
    why="movement-wide settings",
)

not_personal("groups.Membership", "id", "group", why="personal only through user")
personal(
    "groups.Membership",
    "user",
    what="which groups the person belongs to",
    export_section="groups",
    erasure="delete",
)
for field, what in (
    ("public_id", "the opaque id of the membership"),
    ("role", "the person's role in the group"),
    ("joined_at", "when the person joined"),
):
    personal("groups.Membership", field, what=what, export_section="groups", erasure="delete")

not_personal("groups.Departure", "id", "group", why="personal only through user")
for field, what in (
    ("user", "groups the person has left"),
    ("left_at", "when the person left"),
    ("retain_until", "until when the group may keep the person's details"),
):
    personal("groups.Departure", field, what=what, export_section="groups", erasure="delete")

not_personal("groups.JoinRequest", "id", "group", why="personal only through user")
for field, what in (
    ("user", "groups the person asked to join"),
    ("public_id", "the opaque id of the request"),
    ("status", "what was decided"),
    ("created_at", "when the person asked"),
    ("decided_at", "when it was decided"),
):
    personal("groups.JoinRequest", field, what=what, export_section="groups", erasure="delete")
personal(
    "groups.JoinRequest",
    "decided_by",
    what="which admin decided someone's request",
    export_section="groups",
    erasure="anonymise",
    note="the decision stays in the other person's record; the admin's link is cleared",
)

not_personal("groups.GroupInvitation", "id", "group", why="personal only through user")
for field, what in (
    ("user", "groups that invited the person to join"),
    ("public_id", "the opaque id of the invitation"),
    ("created_at", "when the group invited them"),
    ("answered_at", "when the person answered"),
    ("accepted", "whether they joined"),
):
    personal("groups.GroupInvitation", field, what=what, export_section="groups", erasure="delete")
personal(
    "groups.GroupInvitation",
    "invited_by",
    what="which organiser's import made the invitation",
    export_section="groups",
    erasure="anonymise",
    note="the invitation stays in the invited person's record; the organiser's link is cleared",
)

not_personal("groups.GroupBlock", "id", "group", why="personal only through user")
for field, what in (("user", "groups the person has blocked"), ("created_at", "when")):
    personal(
        "groups.GroupBlock",
        field,
        what=what,
        export_section="groups",
        erasure="delete",
        note="deleted with the person: the hash of each of their addresses stays on the "
        "movement-wide suppression list (privacy.ErasedIdentity), so no group can contact "
        "them again, this one included",
    )

not_personal("groups.MovementRole", "id", why="internal row number")
for field, what in (
    ("user", "movement-wide roles the person holds"),
    ("role", "the role"),
    ("granted_at", "when it was granted"),
):
    personal("groups.MovementRole", field, what=what, export_section="groups", erasure="delete")

not_personal("groups.PersonSuspension", "id", why="internal row number")
for field, what in (
    ("user", "a suspension of the person's account"),
    ("reason", "the recorded reason for the suspension"),
    ("suspended_at", "when"),
    ("lifted_at", "when it was lifted"),
):
    personal(
        "groups.PersonSuspension",
        field,
        what=what,
        export_section="account",
        erasure="keep",
        note="kept for the movement's safeguarding record, pointing at the emptied "
        "account: it no longer names anyone",
    )
personal(
    "groups.PersonSuspension",
    "suspended_by",
    what="which platform admin suspended someone",
    export_section="account",
    erasure="anonymise",
)
