"""The stories app's fields in the privacy field inventory (see `handsup.privacy.inventory`).

A story is its author's: their words and pictures go with them when they erase their
account, published or not. Curators, helpers and requesters are only mentioned.
"""

from __future__ import annotations

from handsup.privacy.inventory import not_personal, personal

THE_STORY = "the story's own content, erased with its author (see Story.author)"

personal(
    "stories.Story",
    "author",
    what="the stories the person wrote, with their pictures and the people they named",
    export_section="stories",
    erasure="delete",
    note="a story is its author's words: erasure deletes it, published or not, with its "
    "images, revisions, credits and support requests",
)
for field in ("title", "body", "links", "status_note", "told_result_url"):
    personal(
        "stories.Story",
        field,
        what="what the person wrote (or a curator told them) about a story of theirs",
        export_section="stories",
        erasure="delete",
        note=THE_STORY,
    )
personal(
    "stories.Story",
    "district",
    what="where the story happened, to the postcode district",
    export_section="stories",
    erasure="delete",
    note=THE_STORY,
)
not_personal(
    "stories.Story",
    "id",
    "public_id",
    "group",
    "region",
    "eastings",
    "northings",
    "happened_on",
    "issues",
    "action_type",
    "status",
    "featured_at",
    "published_at",
    "outcome_of",
    "created_at",
    "updated_at",
    why="describes the story, not a person; the district's centroid is not where anyone "
    "lives; erased with the story",
)
for field in ("name", "role"):
    personal(
        "stories.StoryPerson",
        field,
        what="someone a story of the person's names, and who they are",
        export_section="stories",
        erasure="delete",
        note="shown by name only when the author ticked that they agreed; deleted with the story",
    )
not_personal("stories.StoryPerson", "id", "story", "consented", why=THE_STORY)
personal(
    "stories.StoryImage",
    "alt_text",
    what="the description of a picture the person uploaded with a story",
    export_section="stories",
    erasure="delete",
    note="the picture itself is the person's private file (core.PrivateFile.owner)",
)
not_personal(
    "stories.StoryImage", "id", "story", "file", "width", "height", "position", why=THE_STORY
)
personal(
    "stories.StoryRevision",
    "edited_by",
    what="which stories the person edited (as author or curator)",
    export_section="stories",
    erasure="anonymise",
    note="the revision is the story's history and stays with the story",
)
for field in ("title", "body", "note"):
    personal(
        "stories.StoryRevision",
        field,
        what="an earlier version of a story",
        export_section="stories",
        erasure="delete",
        note=THE_STORY,
    )
not_personal("stories.StoryRevision", "id", "story", "created_at", why=THE_STORY)
personal(
    "stories.StoryHelpNeed",
    "opened_by",
    what="which 'help tell this story' needs the person opened",
    export_section="activity",
    erasure="anonymise",
    note="the need is the group's and stays",
)
not_personal("stories.StoryHelpNeed", "id", "story", "need", "kind", "created_at", why=THE_STORY)
personal(
    "stories.StoryCredit",
    "user",
    what="stories the person helped tell and chose to be named on",
    export_section="stories",
    erasure="delete",
    note="the story then counts them without a name, from the need's accepted invitation",
)
not_personal("stories.StoryCredit", "id", "story", "created_at", why="when the credit was given")
personal(
    "stories.SupportRequest",
    "requested_by",
    what="support the person asked the centre for, for a group's story",
    export_section="activity",
    erasure="anonymise",
    note="the request is the group's and stays",
)
personal(
    "stories.SupportRequest",
    "decided_by",
    what="support requests the person decided on as a curator",
    export_section="activity",
    erasure="anonymise",
    note="the decision is the centre's record and stays",
)
not_personal(
    "stories.SupportRequest",
    "id",
    "public_id",
    "story",
    "group",
    "kind",
    "what",
    "how_much",
    "why",
    "status",
    "decision_note",
    "decided_at",
    "created_at",
    why="a group's request to the centre, not about a person",
)
not_personal(
    "stories.Tag", "id", "kind", "slug", "name", "retired", "created_at", why="a curated label"
)
