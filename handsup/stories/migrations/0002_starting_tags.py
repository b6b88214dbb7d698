"""The issue tags and types of action curators start with; they manage them from there."""

from django.db import migrations
from django.utils.text import slugify

ISSUES = [
    "Housing",
    "Health",
    "Climate",
    "Workplace",
    "Transport",
    "Education",
    "Food",
    "Cost of living",
    "Community safety",
    "Environment",
    "Disability rights",
    "Migrants' rights",
]
ACTIONS = [
    "Campaign win",
    "Mutual aid",
    "Community project",
    "Protest",
    "Workplace organising",
    "Petition",
    "Public meeting",
    "Election campaign",
]


def add_tags(apps, schema_editor):
    Tag = apps.get_model("stories", "Tag")
    for kind, names in (("issue", ISSUES), ("action", ACTIONS)):
        for name in names:
            Tag.objects.get_or_create(kind=kind, slug=slugify(name), defaults={"name": name})


def remove_tags(apps, schema_editor):
    Tag = apps.get_model("stories", "Tag")
    Tag.objects.filter(stories_on_issue=None, stories_of_type=None).delete()


class Migration(migrations.Migration):
    dependencies = [("stories", "0001_initial")]

    operations = [migrations.RunPython(add_tags, remove_tags)]
