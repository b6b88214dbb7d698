"""PostgreSQL: drop the `varchar_pattern_ops` ("_like") indexes Django adds beside every
unique text column, for the columns nothing ever matches by prefix: every public id and
the account email (looked up whole, or case-insensitively through UPPER(), which such an
index can't serve). Each cost an index entry on every insert: four per imported person.

The unique indexes stay. On other databases there are no such indexes and this does
nothing. Reversing it makes them again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

COLUMNS = ("public_id",)


def _unused_like_indexes(apps: Any) -> list[tuple[Any, Any]]:
    found = []
    for model in apps.get_models():
        for field in model._meta.local_concrete_fields:
            wanted = field.name in COLUMNS or (
                model._meta.label_lower == "accounts.user" and field.name == "email"
            )
            if wanted and field.unique:
                found.append((model, field))
    return found


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _unused_like_indexes(apps):
        name = schema_editor._create_index_name(
            model._meta.db_table, [field.column], suffix="_like"
        )
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def make_again(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _unused_like_indexes(apps):
        statement = schema_editor._create_like_index_sql(model, field)
        if statement is not None:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_create_cache_table"),
        ("accounts", "0002_user_erased_at"),
        ("people", "0005_profile_quiet_hours_index"),
        ("groups", "0003_group_invitations_for_existing_accounts"),
        ("privacy", "0004_dpo_desk_retention_and_fresh_consent"),
        ("needs", "0005_matching_row"),
        ("stories", "0002_starting_tags"),
        ("platform", "0002_tool_changed_since_review"),
        ("imports", "0001_import_jobs_and_imported_people"),
        ("messaging", "0006_bounces"),
    ]

    operations = [migrations.RunPython(drop, make_again)]
