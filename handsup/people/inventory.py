"""People's fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import not_personal, personal

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
):
    personal("people.Person", name, what=what, export_section="profile", erasure="delete")
