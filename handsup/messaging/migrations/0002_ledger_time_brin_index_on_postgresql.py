"""A BRIN index on the contact ledger's `at`, on PostgreSQL only.

Budgets count each person's rows of the last days; for a large audience PostgreSQL reads
that window of the ledger in one range scan and hash-joins it. Ledger rows are written
in time order, so a BRIN index (a few pages for millions of rows) finds the window at
almost no cost per insert. SQLite has no BRIN; there pacing probes (user, at) instead.
"""

from django.db import migrations


def create_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS ledger_at_brin ON messaging_ledgerentry USING brin (at)"
        )


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ledger_at_brin")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_contact_ledger_outbox_and_campaigns")]

    operations = [migrations.RunPython(create_brin, drop_brin, elidable=False)]
