"""The digest's "Needs that fit you", through a real digest run: the best three needs of
the person's "needs for me", never one they were already asked about."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

import handsup.needs.digest  # noqa: F401  (registers the section, as NeedsConfig.ready does)
from handsup.accounts.models import User
from handsup.messaging.digest_sections import section_named
from handsup.messaging.digests import render_digest, run_digests
from handsup.messaging.models import Digest
from handsup.needs.actions import SkillWanted
from handsup.needs.models import Invitation

from .conftest import make_volunteer

pytestmark = pytest.mark.django_db


def last_monday_morning() -> datetime:
    """10:00 London time on the most recent Monday: a weekly digest period has begun and
    quiet hours are over."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(10), tzinfo=timezone.get_default_timezone())


def joined_long_ago(user: User) -> User:
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=90))
    return user


def test_the_section_is_registered_with_the_digests():
    section = section_named("needs")
    assert section is not None and str(section.title) == "Needs that fit you"


def test_a_digest_brings_the_best_three_fitting_needs_but_not_one_they_were_asked_about(
    cast, skills, make_need
):
    person = joined_long_ago(make_volunteer(skills={skills[0]: (4, True), skills[1]: (2, True)}))
    # The first three fit best (skill 0 at "can teach"); the fourth fits least.
    best = [make_need(publish=True, title=f"Phone bank {n}") for n in range(3)]
    make_need(
        publish=True,
        title="Envelope stuffing",
        skills=(SkillWanted(skills[1], 2, required=True),),
    )
    asked = make_need(publish=True, title="Already asked about this")
    now = timezone.now()
    Invitation.objects.create(
        need=asked,
        user=person,
        source=Invitation.Source.ASK,
        invited_by=cast.users["organiser_a"],
        created_at=now,
        expires_at=now + timedelta(days=14),
    )

    run_digests(now=last_monday_morning())

    digest = Digest.objects.get(user=person)
    [section] = [s for s in digest.sections if s["name"] == "needs"]
    assert sorted(item["title"] for item in section["items"]) == sorted(n.title for n in best)
    assert {item["url"] for item in section["items"]} == {f"/needs/{n.public_id}/" for n in best}
    assert all(item["source"] == cast.groups["group_a"].name for item in section["items"])
    email = render_digest(digest, name="Sam Jones")
    assert "NEEDS THAT FIT YOU" in email.text
    assert "* Phone bank 0" in email.text
    assert "Already asked about this" not in email.text
    assert "Envelope stuffing" not in email.text


def test_someone_nothing_fits_gets_no_needs_section(cast, skills, make_need):
    make_need(publish=True)
    person = joined_long_ago(make_volunteer(skills={skills[2]: (4, True)}))
    no_consent = joined_long_ago(make_volunteer(skills={skills[0]: (4, True)}, found=None))

    run_digests(now=last_monday_morning())

    for user in (person, no_consent):
        digest = Digest.objects.filter(user=user).first()
        assert digest is None or "needs" not in [s["name"] for s in digest.sections]
