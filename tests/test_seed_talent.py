"""The seed's "talent" step: skills, profiles and dates away for every seeded person."""

from __future__ import annotations

import io
import json
import zoneinfo
from collections import Counter
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import Count

from handsup.core.seeding import SEED_EPOCH, SeedContext, SeedError, db_timestamps, seed_steps
from handsup.people.forms import LANGUAGES
from handsup.people.models import DateAway, Person, PersonSkill, Profile, Skill
from handsup.people.seeding import SeededPeople
from handsup.people.seeding_talent import (
    DRAMA_MOBILE_PREFIX,
    IN_PERSON_ONLY,
    LANGUAGE_SKILLS,
    POPULAR_SKILLS,
    SeededTalent,
    build_talent,
)
from handsup.places.postcodes import area_of

pytestmark = pytest.mark.usefixtures("places")

VOLUNTEERS = 2000
FORM_CODES = [code for code, _ in LANGUAGES]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed", *args, "--no-progress", stdout=out)
    return out.getvalue()


def talent_rows() -> tuple[list[Any], list[Any], list[Any]]:
    """Everything the step wrote, keyed by the people's public ids (not row ids)."""
    profiles = sorted(
        Profile.objects.filter(person__seeded=True).values_list(
            "person__public_id", *[f for f in PROFILE_VALUES]
        )
    )
    skills = sorted(
        PersonSkill.objects.filter(person__seeded=True).values_list(
            "person__public_id", "skill__slug", "level", "remote"
        )
    )
    away = sorted(
        DateAway.objects.filter(person__seeded=True).values_list(
            "person__public_id", "starts_on", "ends_on"
        )
    )
    return profiles, skills, away


PROFILE_VALUES = (
    "availability", "hours_normal", "hours_campaign", "travel_radius_km", "talents",
    "languages", "accessibility_needs", "phone", "postal_address", "contact_by_email",
    "contact_by_phone", "contact_by_post", "asks_per_week_normal", "asks_per_week_campaign",
    "digest_cadence", "quiet_from", "quiet_until", "time_zone", "updated_at",
)  # fmt: skip


def test_the_step_runs_after_people() -> None:
    names = [step.name for step in seed_steps()]
    assert names.index("talent") > names.index("people")


def test_empty_timestamps() -> None:
    assert db_timestamps(np.empty(0, dtype=np.int64)) == []
    assert db_timestamps([]) == []
    assert len(db_timestamps(np.array([0, 60]))) == 2


def test_skills_are_zipf_like_with_levels_and_remote_help() -> None:
    output = seed("--volunteers", str(VOLUNTEERS), "--seed", "1")
    assert f"talent: {VOLUNTEERS:,} profiles" in output
    people = Person.objects.filter(seeded=True)
    held = PersonSkill.objects.filter(person__seeded=True)

    # 5–10% list no skill; the rest list a few.
    per_person = Counter(held.values_list("person_id", flat=True))
    without = VOLUNTEERS - len(per_person)
    assert 0.04 * VOLUNTEERS < without < 0.11 * VOLUNTEERS
    assert 2.5 < sum(per_person.values()) / len(per_person) < 4.5
    assert max(per_person.values()) <= 14

    # A few skills very common, a long tail: the most popular far above the median.
    by_skill = dict(Skill.objects.annotate(n=Count("holders")).values_list("slug", "n"))
    counts = sorted(by_skill.values(), reverse=True)
    median = float(np.median(counts))
    assert counts[0] > 10 * max(median, 1)
    assert max(by_skill, key=lambda slug: by_skill[slug]) in POPULAR_SKILLS[:3]
    assert counts[0] > 0.3 * VOLUNTEERS
    assert sum(n < 0.03 * VOLUNTEERS for n in counts) > len(counts) / 2  # the tail
    assert sum(n > 0 for n in counts) > 0.9 * len(counts)

    levels = Counter(held.values_list("level", flat=True))
    assert set(levels) == {1, 2, 3, 4}
    assert levels[2] > levels[1] and levels[2] > levels[4]

    # About 30% can help remotely, never with skills that need them there in person.
    remote_people = held.filter(remote=True).values("person_id").distinct().count()
    assert 0.25 * VOLUNTEERS < remote_people < 0.35 * VOLUNTEERS
    assert not held.filter(remote=True, skill__slug__in=IN_PERSON_ONLY).exists()
    assert not held.filter(remote=True, skill__category__slug="practical").exists()
    assert held.filter(remote=True, skill__category__slug="digital").exists()
    assert held.filter(remote=False, skill__category__slug="digital").exists()

    # Language skills go to people who speak the language.
    for slug, code in LANGUAGE_SKILLS.items():
        for languages in held.filter(skill__slug=slug).values_list(
            "person__profile__languages", flat=True
        ):
            assert code in languages, slug
    assert held.filter(skill__slug="welsh").exists()
    assert people.count() == VOLUNTEERS


def test_profiles_look_like_real_ones() -> None:
    seed("--volunteers", str(VOLUNTEERS), "--seed", "2")
    profiles = list(Profile.objects.filter(person__seeded=True).select_related("person"))
    assert len(profiles) == VOLUNTEERS
    assert len({profile.person_id for profile in profiles}) == VOLUNTEERS

    # Languages as the onboarding form stores them: its codes, in its order.
    speaks: Counter[str] = Counter()
    welsh_in_wales = [0, 0]  # Welsh speakers, people: in CF (Cardiff)
    welsh_elsewhere = [0, 0]
    for profile in profiles:
        languages = profile.languages
        assert languages, profile.person_id
        assert languages == sorted(languages, key=FORM_CODES.index)
        assert len(set(languages)) == len(languages)
        speaks.update(languages)
        tally = welsh_in_wales if area_of(profile.person.district) == "CF" else welsh_elsewhere
        tally[0] += "cy" in languages
        tally[1] += 1
    assert speaks["en"] > 0.97 * VOLUNTEERS
    assert speaks["bfi"] > 0  # some BSL
    assert sum(speaks[code] for code in ("pl", "ur", "pa", "bn", "ar")) > 0.02 * VOLUNTEERS
    assert welsh_in_wales[1] > 100
    welsh_share = welsh_in_wales[0] / welsh_in_wales[1]
    assert 0.06 < welsh_share < 0.2
    assert welsh_share > 10 * welsh_elsewhere[0] / welsh_elsewhere[1]
    gaelic = [p for p in profiles if "gd" in p.languages]
    assert gaelic and Counter(area_of(p.person.district) for p in gaelic).most_common(1)[0][0] in {
        "HS",
        "IV",
        "KW",
    }

    zones = Counter(profile.time_zone for profile in profiles)
    assert 0.92 * VOLUNTEERS < zones["Europe/London"] < 0.99 * VOLUNTEERS
    assert len(zones) >= 4
    for zone in zones:
        zoneinfo.ZoneInfo(zone)

    grids = Counter(profile.availability for profile in profiles)
    assert 0.04 * VOLUNTEERS < grids[0] < 0.12 * VOLUNTEERS
    assert len(grids) > 200
    evenings = sum(p.availability >> (day * 3 + 2) & 1 for p in profiles for day in range(5))
    mornings = sum(p.availability >> (day * 3) & 1 for p in profiles for day in range(5))
    assert evenings > mornings  # most people work by day

    for profile in profiles:
        assert 0 <= profile.availability < 1 << 21
        assert 0 <= profile.hours_normal <= profile.hours_campaign <= 80
        assert 1 <= profile.travel_radius_km <= 500
        assert 0 <= profile.asks_per_week_normal <= profile.asks_per_week_campaign <= 14
        assert profile.asks_per_week_normal <= 7
        assert profile.quiet_from != profile.quiet_until
        assert profile.digest_cadence in Profile.Cadence.values
        assert profile.contact_by_email or profile.contact_by_phone or profile.contact_by_post
        assert bool(profile.phone) == profile.contact_by_phone
        assert not profile.phone or profile.phone.startswith(DRAMA_MOBILE_PREFIX)
        assert bool(profile.postal_address) == profile.contact_by_post
        if profile.postal_address:
            assert profile.postal_address.endswith(profile.person.postcode)
        assert profile.person.created_at <= profile.updated_at <= SEED_EPOCH
    for profile in profiles[:300]:
        profile.full_clean()  # every field's validators, as the admin would run them
    assert sum(p.contact_by_email for p in profiles) > 0.85 * VOLUNTEERS
    assert 0.1 * VOLUNTEERS < sum(p.contact_by_phone for p in profiles) < 0.35 * VOLUNTEERS
    assert 0 < sum(p.contact_by_post for p in profiles) < 0.06 * VOLUNTEERS
    assert Counter(p.hours_normal for p in profiles).most_common(1)[0][0] in {1, 2, 3}
    assert 0 < sum(bool(p.talents) for p in profiles) < 0.25 * VOLUNTEERS
    assert 0 < sum(bool(p.accessibility_needs) for p in profiles) < 0.1 * VOLUNTEERS

    away = list(DateAway.objects.filter(person__seeded=True))
    away_people = {row.person_id for row in away}
    assert 0.03 * VOLUNTEERS < len(away_people) < 0.08 * VOLUNTEERS
    assert len(away) > len(away_people)  # a few are away twice
    epoch = SEED_EPOCH.date()
    for row in away:
        assert row.starts_on <= row.ends_on <= row.starts_on + timedelta(days=27)
        assert epoch - timedelta(days=14) <= row.starts_on < date(2027, 1, 1)


def test_same_seed_same_talent_different_seed_different_talent() -> None:
    seed("--volunteers", "300", "--seed", "7")
    first = talent_rows()
    assert len(first[0]) == 300 and len(first[1]) > 600
    seed("--reset", "--volunteers", "300", "--seed", "7")
    assert talent_rows() == first
    seed("--reset", "--volunteers", "300", "--seed", "8")
    other = talent_rows()
    assert other[0] != first[0] and other[1] != first[1]


def test_reset_removes_the_seeded_talent_and_leaves_everyone_else_alone(cast: Any) -> None:
    volunteer = Person.objects.get(user=cast.users["volunteer"])
    PersonSkill.objects.create(
        person=volunteer, skill=Skill.objects.get(slug="leafleting"), level=3
    )
    DateAway.objects.create(person=volunteer, starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 8))
    offline = Person.objects.create(display_name="Paper Sign-up")
    Profile.objects.create(person=offline, languages=["en", "cy"])

    def others() -> tuple[list[Any], ...]:
        return (
            sorted(Profile.objects.filter(person__seeded=False).values_list()),
            sorted(PersonSkill.objects.filter(person__seeded=False).values_list()),
            sorted(DateAway.objects.filter(person__seeded=False).values_list()),
        )

    before = others()
    assert len(before[0]) == len(cast.users) + 1
    seed("--volunteers", "400", "--seed", "3")
    assert Profile.objects.filter(person__seeded=True).count() == 400
    assert others() == before

    output = seed("--reset")
    assert "reset talent: 400 profiles" in output
    assert not Profile.objects.filter(person__seeded=True).exists()
    assert not PersonSkill.objects.filter(person__seeded=True).exists()
    assert not DateAway.objects.filter(person__seeded=True).exists()
    assert others() == before


def test_a_second_build_is_refused() -> None:
    seed("--volunteers", "30", "--seed", "4")
    ids = np.array(
        Person.objects.filter(seeded=True).order_by("pk").values_list("pk", flat=True),
        dtype=np.int64,
    )
    people = SeededPeople(
        person_ids=ids,
        user_ids=ids,
        districts=np.full(len(ids), "M1", dtype="U4"),
        eastings=np.zeros(len(ids), np.int64),
        northings=np.zeros(len(ids), np.int64),
    )
    context = SeedContext(seed=4, volunteers=30, artifacts={"people": people})
    with pytest.raises(SeedError, match="--reset"):
        build_talent(context)
    with pytest.raises(SeedError, match="people step"):
        build_talent(SeedContext(seed=4, volunteers=30))


def test_no_volunteers_no_talent() -> None:
    output = seed("--volunteers", "0", "--seed", "1")
    assert "talent: 0 profiles, 0 skills held" in output
    assert not Profile.objects.filter(person__seeded=True).exists()


def test_later_steps_get_the_talent() -> None:
    context = SeedContext(seed=5, volunteers=50)
    from handsup.people.seeding import build_people

    build_people(context)
    build_talent(context)
    talent = context.artifacts["talent"]
    assert isinstance(talent, SeededTalent)
    assert len(talent.skill_person) == PersonSkill.objects.filter(person__seeded=True).count()
    assert len(talent.availability) == 50
    languages = [talent.languages[i] for i in talent.language_set.tolist()]
    stored = dict(Profile.objects.filter(person__seeded=True).values_list("person_id", "languages"))
    assert [stored[pk] for pk in context.artifacts["people"].person_ids.tolist()] == languages
    assert json.dumps(languages[0])
