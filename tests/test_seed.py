"""`handsup seed`: deterministic, geographically plausible, resettable, extensible."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from handsup.accounts.models import User
from handsup.core import seeding
from handsup.core.seeding import SEED_EPOCH, SeedContext, SeedStep, seed_steps
from handsup.people.models import Person
from handsup.people.seeding import SEED_EMAIL_DOMAIN, SeededPeople
from handsup.places.areas import LONDON_AREAS
from handsup.places.models import Postcode
from handsup.places.postcodes import area_of

pytestmark = pytest.mark.usefixtures("places")

HIGHLAND_AREAS = {"IV", "KW", "HS"}


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed", *args, "--no-progress", stdout=out)
    return out.getvalue()


def seeded_rows() -> list[tuple[Any, ...]]:
    return list(
        Person.objects.filter(seeded=True)
        .order_by("id")
        .values_list(
            "public_id",
            "display_name",
            "postcode",
            "district",
            "eastings",
            "northings",
            "created_at",
            "user__email",
            "user__public_id",
            "user__password",
        )
    )


def test_same_seed_same_rows_different_seed_different_rows() -> None:
    seed("--volunteers", "300", "--seed", "7")
    first = seeded_rows()
    assert len(first) == 300
    seed("--reset", "--volunteers", "300", "--seed", "7")
    assert seeded_rows() == first
    seed("--reset", "--volunteers", "300", "--seed", "8")
    other = seeded_rows()
    assert len(other) == 300
    assert other != first
    assert sum(a[2] == b[2] for a, b in zip(first, other, strict=True)) < 30


def test_people_are_spread_like_postcodes() -> None:
    """Uniform over postcodes: London's share of people matches its share of postcodes,
    so London (many postcodes, few districts) outnumbers the Highlands (few postcodes,
    many districts) about 2.5 to 1 with the test areas loaded."""
    seed("--volunteers", "3000", "--seed", "1")
    by_area = Counter(
        area_of(district) for district in Person.objects.values_list("district", flat=True)
    )
    london = sum(by_area[area] for area in LONDON_AREAS)
    highlands = sum(by_area[area] for area in HIGHLAND_AREAS)
    assert london > 2 * highlands > 0

    located = Postcode.objects.filter(eastings__isnull=False).values_list(
        "district_code", flat=True
    )
    postcodes_by_area = Counter(area_of(district) for district in located)
    total = sum(postcodes_by_area.values())
    for area, postcodes in postcodes_by_area.items():
        expected = 3000 * postcodes / total
        assert abs(by_area[area] - expected) < 5 * np.sqrt(expected) + 5, area


def test_seeded_people_are_real_places_and_clearly_fictional() -> None:
    seed("--volunteers", "200", "--seed", "3")
    people = list(Person.objects.filter(seeded=True).select_related("user"))
    assert len(people) == 200
    codes = {person.postcode for person in people}
    located = dict(
        (code, (east, north))
        for code, east, north in Postcode.objects.filter(code__in=codes).values_list(
            "code", "eastings", "northings"
        )
    )
    for person in people:
        assert located[person.postcode] == (person.eastings, person.northings)
        assert person.district == person.postcode.split()[0]
        assert person.email == ""
        assert person.user is not None
        assert person.user.email.endswith("@" + SEED_EMAIL_DOMAIN)
        assert person.user.full_name == person.display_name
        assert not person.user.has_usable_password()
        assert not check_password("", person.user.password)
        assert not person.user.is_staff and not person.user.is_superuser
        assert SEED_EPOCH - timedelta(days=3 * 365) <= person.created_at < SEED_EPOCH
        assert person.user.date_joined == person.created_at
    assert len({person.user.email for person in people if person.user}) == 200
    assert len({person.public_id for person in people}) == 200


def test_seeded_accounts_cannot_log_in(client: Any) -> None:
    seed("--volunteers", "5", "--seed", "3")
    user = User.objects.filter(email__endswith=SEED_EMAIL_DOMAIN).first()
    assert user is not None
    assert not client.login(email=user.email, password="")
    assert not client.login(email=user.email, password=user.password)


def test_reset_removes_seeded_rows_and_leaves_personas_alone(cast: Any) -> None:
    personas = {key: (user.pk, user.password) for key, user in cast.users.items()}
    offline = Person.objects.create(display_name="Not Seeded")
    seed("--volunteers", "50", "--seed", "2")
    assert User.objects.count() == len(personas) + 50
    output = seed("--reset")
    assert "50 people and 50 accounts removed" in output
    assert not Person.objects.filter(seeded=True).exists()
    assert User.objects.count() == len(personas)
    for key, (pk, password) in personas.items():
        assert User.objects.get(pk=pk).password == password, key
    assert Person.objects.filter(pk=offline.pk).exists()


def test_seeding_twice_without_reset_is_refused() -> None:
    seed("--volunteers", "10")
    with pytest.raises(CommandError, match="--reset"):
        seed("--volunteers", "10")


def test_seeding_needs_postcodes() -> None:
    Postcode.objects.all().delete()
    with pytest.raises(CommandError, match="places load"):
        seed("--volunteers", "10")


def test_seed_needs_a_count() -> None:
    with pytest.raises(CommandError, match="--volunteers"):
        seed()


def test_a_later_step_extends_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extension point: a step registered after "people" gets its artifacts and its
    own random stream, and its reset runs before people's."""
    calls: list[str] = []

    def build(context: SeedContext) -> str:
        people = context.artifacts["people"]
        assert isinstance(people, SeededPeople) and len(people) == 20
        assert Person.objects.filter(pk__in=people.person_ids.tolist()).count() == 20
        calls.append(f"build {context.rng('skills').integers(1_000_000)}")
        return "skills seeded"

    def reset(context: SeedContext) -> str:
        calls.append(f"reset with {Person.objects.filter(seeded=True).count()} people left")
        return "skills removed"

    monkeypatch.setattr(seeding, "_registry", dict(seeding._registry))
    seeding.register_seed_step(SeedStep("skills", build, reset, after=("people",)))
    names = [step.name for step in seed_steps()]
    assert names.index("skills") > names.index("people")
    output = seed("--volunteers", "20", "--seed", "5")
    assert "skills: skills seeded" in output
    seed("--reset")
    assert calls[1] == "reset with 20 people left"
    seed("--volunteers", "20", "--seed", "5")
    assert calls[0] == calls[2]  # same seed, same draws


def test_step_order_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def noop(context: SeedContext) -> str:
        return ""

    monkeypatch.setattr(seeding, "_registry", {})
    seeding.register_seed_step(SeedStep("b", noop, after=("a",)))
    seeding.register_seed_step(SeedStep("a", noop))
    assert [step.name for step in seed_steps()] == ["a", "b"]
    seeding.register_seed_step(SeedStep("a", noop, after=("b",)))
    with pytest.raises(ImproperlyConfigured, match="cycle"):
        seed_steps()
    seeding.register_seed_step(SeedStep("c", noop, after=("missing",)))
    with pytest.raises(ImproperlyConfigured, match="missing"):
        seed_steps()


def test_step_random_streams_are_independent() -> None:
    context = SeedContext(seed=1, volunteers=0)
    again = SeedContext(seed=1, volunteers=0)
    assert context.rng("people").integers(10**9) == again.rng("people").integers(10**9)
    assert context.rng("people").integers(10**9) != context.rng("skills").integers(10**9)
    assert SeedContext(seed=2, volunteers=0).rng("people").integers(10**9) != again.rng(
        "people"
    ).integers(10**9)
