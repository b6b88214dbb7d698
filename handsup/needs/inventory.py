"""The needs app's fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import not_personal, personal

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
