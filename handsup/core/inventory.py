"""Core's fields in the privacy field inventory (see `handsup.privacy.inventory`).

Also the Django admin's change log and the background-task results, which core runs.
"""

from __future__ import annotations

from handsup.privacy.inventory import NOT_EXPORTED, not_personal, personal

not_personal(
    "core.JobRun",
    "id",
    "job",
    "period_start",
    "claimed_at",
    "claimed_by",
    "finished_at",
    "outcome",
    "run_count",
    why="the schedule's bookkeeping: which periodic job ran when, on which worker",
)

# Private files: imports and exports, which hold people's data.
personal(
    "core.PrivateFile",
    "owner",
    what="who uploaded the file or asked for it",
    export_section="files",
    erasure="delete",
    note="the person's own files go with them; a group's import they uploaded is the "
    "group's to keep under its retention policy, and a later issue re-parents it",
)
personal(
    "core.PrivateFile",
    "name",
    what="the file's name, which may name a person",
    export_section="files",
    erasure="delete",
)
personal(
    "core.PrivateFile",
    "file",
    what="the stored file: imports and exports hold people's personal data",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="download-my-data lists the person's files by name; a file can hold other "
    "people's data, so its contents are not copied into the export",
)
not_personal(
    "core.PrivateFile",
    "id",
    "public_id",
    "content_type",
    "group",
    "created_at",
    why="describes the file; personal only through `owner` and the contents",
)

# Demo-mode mail: never sent, kept for the demo's "sent mail" page.
not_personal("core.DemoMail", "id", "sent_at", why="when a demo message was captured")
for name, what in (
    ("to", "the addresses a demo message was for"),
    ("subject", "the subject of a demo message"),
    ("body", "the text of a demo message, which may name the person"),
):
    personal(
        "core.DemoMail",
        name,
        what=what,
        export_section=NOT_EXPORTED,
        erasure="delete",
        note="demo mode only; production never writes this table. Erasure deletes "
        "messages to the person's address",
    )

# The Django admin's own change log (platform admins only).
not_personal(
    "admin.LogEntry",
    "id",
    "action_time",
    "content_type",
    "object_id",
    "action_flag",
    "change_message",
    why="which row a platform admin changed and which fields, never their values",
)
personal(
    "admin.LogEntry",
    "user",
    what="the platform admin who made a change in the admin",
    export_section="activity",
    erasure="delete",
    note="Django deletes a user's admin log entries with the user",
)
personal(
    "admin.LogEntry",
    "object_repr",
    what="the changed row as the admin prints it; a person prints only as 'Person <public id>'",
    export_section="activity",
    erasure="anonymise",
)

# Background tasks (django-tasks-db): arguments and results.
not_personal(
    "django_tasks_database.DBTaskResult",
    "id",
    "status",
    "enqueued_at",
    "started_at",
    "finished_at",
    "priority",
    "task_path",
    "worker_ids",
    "queue_name",
    "backend_name",
    "run_after",
    "exception_class_path",
    why="the queue's bookkeeping",
)
for name, what in (
    ("args_kwargs", "a task's arguments, which may be people's public ids"),
    ("return_value", "a task's result"),
    ("traceback", "a failed task's traceback"),
):
    personal(
        "django_tasks_database.DBTaskResult",
        name,
        what=what,
        export_section=NOT_EXPORTED,
        erasure="delete",
        note="tasks are given public ids, never names or addresses; finished tasks are "
        "pruned by the prune_finished_tasks job, and erasure deletes any that name the "
        "person",
    )
