"""Digests: one row per person and period (unique: the once-only claim), the reason
`digest_empty`, and on the ledger the digest that settled a folded row.

The new ledger column is nullable with no default, so adding it rewrites nothing on
PostgreSQL; it has no index (it is only ever set, and read with the person's rows).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_drop_unique_recipient_indexes_brin_by_message"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="reason",
            field=models.CharField(
                choices=[
                    ("within_budget", "Within your limits"),
                    ("service", "Service message: always sent"),
                    ("quiet_hours", "Your quiet hours: held until they end"),
                    ("over_budget_day", "Over the limit for one day"),
                    ("over_budget_week", "Over the limit for one week"),
                    ("over_group_policy", "Over the group's own limit for one week"),
                    ("digest_cadence", "You had a digest more recently than you asked"),
                    ("digest_off", "You asked for no digest"),
                    (
                        "digest_empty",
                        "Nothing new to put in your digest, so we didn't send one",
                    ),
                    ("unsubscribed", "You unsubscribed"),
                    ("no_consent", "You have not agreed to this group emailing you"),
                    ("blocked", "You blocked this group"),
                    ("email_off", "You asked not to be contacted by email"),
                    ("no_address", "No usable email address"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="Digest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period_start", models.DateField()),
                ("cadence", models.CharField(max_length=20)),
                ("since", models.DateTimeField(help_text="News after this moment went in.")),
                ("until", models.DateTimeField(help_text="When it was put together.")),
                ("item_count", models.PositiveIntegerField(default=0)),
                ("sections", models.JSONField(blank=True, default=list)),
                (
                    "message",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="digests",
                        to="messaging.message",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="digests",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "period_start"), name="digest_once_per_person_and_period"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="digest",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="messaging.digest",
            ),
        ),
    ]
