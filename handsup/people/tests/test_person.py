"""The Person row: constraints, location helpers, name parts."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from handsup.accounts.models import User
from handsup.people.models import Person
from handsup.people.names import FIRST_NAMES, SURNAMES
from handsup.people.seeding import email_slug
from handsup.places.geo import Point, distance_km, geocode

pytestmark = pytest.mark.django_db


def test_a_person_without_an_account_keeps_their_own_email() -> None:
    person = Person.objects.create(display_name="Paper Signup", email="paper@example.org")
    assert person.user is None
    assert len(person.public_id) == 16


def test_a_person_with_an_account_uses_the_accounts_email() -> None:
    user = User.objects.create_user("someone@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(user=user, display_name="Someone", email="other@example.org")
    assert Person.objects.create(user=user, display_name="Someone").email == ""


def test_location_is_both_coordinates_or_neither() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(display_name="Half There", eastings=1)
    person = Person.objects.create(display_name="Nowhere")
    assert person.point is None
    assert person.area_name == ""


def test_one_person_per_account() -> None:
    user = User.objects.create_user("twice@example.org")
    Person.objects.create(user=user, display_name="Once")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(user=user, display_name="Twice")


def test_people_near_a_point(places: None) -> None:
    centre = geocode("M1 1AE").point
    near = Person.objects.create(
        display_name="Near", postcode="M1 1AE", district="M1", eastings=384756, northings=398553
    )
    Person.objects.create(
        display_name="Far", postcode="SW1A 1AA", district="SW1A", eastings=529090, northings=179645
    )
    Person.objects.create(display_name="Unplaced")
    found = list(Person.objects.located().in_box_around(centre, 5))
    assert found == [near]
    assert near.point == Point(384756, 398553)
    assert distance_km(near.point, centre) == 0
    assert near.area_name == "Manchester (M1)"


def test_name_parts() -> None:
    assert len(FIRST_NAMES) >= 300 and len(set(FIRST_NAMES)) == len(FIRST_NAMES)
    assert len(SURNAMES) >= 300 and len(set(SURNAMES)) == len(SURNAMES)
    assert email_slug("Siân") == "sian"
    assert email_slug("O'Brien") == "obrien"
    assert email_slug("Wiśniewski") == "wisniewski"
    assert email_slug("Powell-Jones") == "powell-jones"
    assert email_slug("Paweł") == "pawel"
    assert all(email_slug(name) for name in FIRST_NAMES + SURNAMES)
