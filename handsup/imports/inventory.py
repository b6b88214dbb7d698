"""Imports' fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import NOT_EXPORTED, not_personal, personal

not_personal(
    "imports.ImportJob",
    "id",
    "public_id",
    "group",
    "source_file",
    "report_file",
    "encoding",
    "delimiter",
    "columns",
    "mapping",
    "file_errors",
    "lawful_basis",
    "dry_run",
    "status",
    "stage",
    "failure",
    "cancel_requested_at",
    "rows_total",
    "rows_processed",
    "created_count",
    "updated_count",
    "invited_count",
    "rejected_count",
    "duplicate_count",
    "notes",
    "created_at",
    "started_at",
    "finished_at",
    "delete_after",
    why="about the import: its file's shape, progress and counts, never a row's contents "
    "(the files are core.PrivateFile, registered there)",
)
personal(
    "imports.ImportJob",
    "created_by",
    what="who uploaded a list of people and imported it",
    export_section="activity",
    erasure="anonymise",
    note="the import stays the group's record (its consents cite the importer too); "
    "erasure removes the link to the importer",
)
personal(
    "imports.ImportJob",
    "row_errors",
    what="problems with rejected rows, which quote the values in them (other people's details)",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="about the people in the file, not the importer; deleted with the files after "
    "the retention period by delete_expired_import_files, and a person's erasure removes "
    "the problems with their rows (and the files that hold them) at once",
)

not_personal("imports.ImportedPerson", "id", "group", why="personal only through user")
for name, what in (
    ("user", "which groups brought the person in from their own lists"),
    ("job", "the import that first brought the person in"),
    ("imported_at", "when a group first imported the person"),
):
    personal("imports.ImportedPerson", name, what=what, export_section="groups", erasure="delete")
