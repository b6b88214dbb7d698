"""People's fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import NOT_EXPORTED, not_personal, personal

not_personal("people.Person", "id", why="internal row number, never shown")
not_personal(
    "people.Person",
    "seeded",
    why="marks the synthetic people `handsup seed` makes; says nothing about a real person",
)
personal(
    "people.Person",
    "public_id",
    what="the opaque id that stands for the person's profile in links and logs",
    export_section="profile",
    erasure="delete",
)
personal(
    "people.Person",
    "user",
    what="the account this profile belongs to, if the person has one",
    export_section="profile",
    erasure="delete",
)
personal(
    "people.Person",
    "display_name",
    what="the name the person goes by",
    export_section="profile",
    erasure="delete",
)
personal(
    "people.Person",
    "email",
    what="the email address of a person who has no account (with one, the account's)",
    export_section="profile",
    erasure="keep_hashed",
    note="as for an account's address: a one-way hash stays on the suppression list so "
    "the address is never emailed again",
)
for name, what in (
    ("postcode", "the person's postcode"),
    ("district", "the person's postcode district"),
    ("eastings", "where the person is, from their postcode (grid eastings)"),
    ("northings", "where the person is, from their postcode (grid northings)"),
    ("created_at", "when the person's profile was created"),
    ("verified", "whether the person's email is confirmed or an organiser vouched for them"),
):
    personal("people.Person", name, what=what, export_section="profile", erasure="delete")

# --- The talent pool ----------------------------------------------------------------------

not_personal(
    "people.SkillCategory",
    "id",
    "slug",
    "name",
    "position",
    why="part of the skills taxonomy, the same for everyone",
)
not_personal(
    "people.Skill",
    "id",
    "slug",
    "name",
    "category",
    "synonyms",
    "description",
    why="part of the skills taxonomy, the same for everyone",
)

not_personal("people.PersonSkill", "id", why="internal row number, never shown")
for name, what in (
    ("person", "whose skill this is"),
    ("skill", "a skill the person offers"),
    ("level", "how well the person says they can do the skill"),
    ("remote", "whether the person can use the skill remotely"),
):
    personal("people.PersonSkill", name, what=what, export_section="profile", erasure="delete")

not_personal("people.Profile", "id", why="internal row number, never shown")
for name, what in (
    ("person", "whose profile this is"),
    ("availability", "the times of the week the person can usually help"),
    ("hours_normal", "how many hours a week the person can give, normally"),
    ("hours_campaign", "how many hours a week the person can give during campaigns"),
    ("travel_radius_km", "how far the person will travel to help"),
    ("talents", "other talents the person described in their own words"),
    ("languages", "the languages the person speaks"),
    ("accessibility_needs", "the access needs the person told us about"),
    ("phone", "the person's phone number"),
    ("postal_address", "the person's postal address"),
    ("contact_by_email", "whether the person wants to be contacted by email"),
    ("contact_by_phone", "whether the person wants to be contacted by phone"),
    ("contact_by_post", "whether the person wants to be contacted by post"),
    ("asks_per_week_normal", "how many asks a week the person accepts, normally"),
    ("asks_per_week_campaign", "how many asks a week the person accepts during campaigns"),
    ("digest_cadence", "how often the person wants a news digest"),
    ("quiet_from", "when the person's quiet hours start"),
    ("quiet_until", "when the person's quiet hours end"),
    ("time_zone", "the person's time zone"),
    ("updated_at", "when the person last changed their profile"),
):
    personal("people.Profile", name, what=what, export_section="profile", erasure="delete")

not_personal("people.DateAway", "id", why="internal row number, never shown")
for name, what in (
    ("person", "who is away"),
    ("starts_on", "when the person's time away starts"),
    ("ends_on", "when the person's time away ends"),
):
    personal("people.DateAway", name, what=what, export_section="profile", erasure="delete")

not_personal("people.ClaimCode", "id", why="internal row number, never shown")
personal(
    "people.ClaimCode",
    "code_hash",
    what="a one-way hash of the code that lets the person claim their account",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="a credential: the hash of a secret is never handed out, not even to its owner",
)
for name, what in (
    ("person", "whose account the code claims"),
    ("created_at", "when the claim code was made"),
    ("expires_at", "when the claim code stops working"),
    ("used_at", "when the person used the claim code"),
):
    personal("people.ClaimCode", name, what=what, export_section="profile", erasure="delete")
personal(
    "people.ClaimCode",
    "created_by",
    what="the organiser who registered the person and made the code",
    export_section="profile",
    erasure="anonymise",
    note="the code is the registered person's; when the organiser is erased, the link to "
    "them is cleared",
)
