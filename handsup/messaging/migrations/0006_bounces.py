# Bounces and complaints from the mail provider: suppressed addresses, counts on the
# message and the outbox row, and the two new ledger reasons.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_digests"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="bounced_count",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="message",
            name="complained_count",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="outboxitem",
            name="feedback",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Nothing reported"),
                    ("bounced", "Bounced"),
                    ("complained", "Reported as spam"),
                ],
                db_default="",
                default="",
                max_length=12,
            ),
        ),
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
                    ("digest_empty", "Nothing new to put in your digest, so we didn't send one"),
                    ("unsubscribed", "You unsubscribed"),
                    ("no_consent", "You have not agreed to this group emailing you"),
                    ("blocked", "You blocked this group"),
                    ("email_off", "You asked not to be contacted by email"),
                    ("no_address", "No usable email address"),
                    ("address_bounced", "Your address bounced: we stopped emailing it"),
                    ("complained", "You reported our email as spam: we stopped emailing you"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="AddressSuppression",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("address", models.EmailField(max_length=254)),
                (
                    "cause",
                    models.CharField(
                        choices=[
                            ("bounced", "Bounced"),
                            ("rejected", "Refused by the mail provider"),
                            ("complained", "Reported as spam"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("address_bounced", "Your address bounced: we stopped emailing it"),
                            (
                                "complained",
                                "You reported our email as spam: we stopped emailing you",
                            ),
                        ],
                        max_length=20,
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=300)),
                ("provider", models.CharField(blank=True, max_length=40)),
                ("at", models.DateTimeField(help_text="When the provider saw it happen.")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("cleared_at", models.DateTimeField(blank=True, null=True)),
                (
                    "message",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="messaging.message",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="address_suppressions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("cleared_at__isnull", True)),
                        fields=("user", "address"),
                        name="one_active_suppression_per_address",
                    )
                ],
            },
        ),
    ]
