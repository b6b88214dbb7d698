"""Ledger and outbox: no unique (message, user) index; a BRIN index on `message_id`
on PostgreSQL instead.

Pacing writes one ledger row and at most one outbox row per person per message (it
decides for each account of the audience once, and `do_send_message` refuses a message
already sent), so the two unique B-trees only checked again what the code guarantees, at
the price of half a million index entries per send. What still reads by message — the
cascade when a message is deleted, a message's rows in tests and the benchmark — finds
them on PostgreSQL through a BRIN index (rows arrive one message after another, so a few
pages cover millions of rows and cost nearly nothing to keep). SQLite has no BRIN: there
those rare reads scan.
"""

from django.db import migrations

BRIN = (
    ("ledger_message_brin", "messaging_ledgerentry"),
    ("outbox_message_brin", "messaging_outboxitem"),
)


def create_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, table in BRIN:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING brin (message_id)"
            )


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _table in BRIN:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_outbox_cancelled_when_unsubscribed")]

    operations = [
        migrations.RemoveConstraint(model_name="ledgerentry", name="ledger_once_per_message"),
        migrations.RemoveConstraint(model_name="outboxitem", name="outbox_once_per_recipient"),
        migrations.RunPython(create_brin, drop_brin, elidable=False),
    ]
