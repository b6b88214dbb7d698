"""Who matching may suggest: verified people whose consent lets them be found."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from handsup.accounts.models import User
from handsup.people.models import Person
from handsup.privacy.consent import do_record_consent
from handsup.privacy.register import PurposeCode
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db


def _consent(user: User, purpose: str, given: bool = True) -> None:
    do_record_consent(user=user, purpose=purpose, given=given, source="web", recorded_by=user)


def test_personas_who_agreed_are_findable_movement_wide(cast: Cast) -> None:
    findable = set(Person.objects.findable().values_list("user__email", flat=True))
    assert cast.users["volunteer"].email in findable
    assert cast.users["volunteer_no_consent"].email not in findable


def test_only_my_groups_means_only_groups_i_belong_to(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    _consent(vera, PurposeCode.FOUND_MOVEMENT, given=False)
    _consent(vera, PurposeCode.FOUND_MY_GROUPS)
    person = vera.person
    assert person not in Person.objects.findable()
    assert person in Person.objects.findable(by=cast.groups["group_a"])
    assert person not in Person.objects.findable(by=cast.groups["group_b"])


def test_withdrawing_consent_hides_at_once(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    _consent(vera, PurposeCode.FOUND_MOVEMENT, given=False)
    assert vera.person not in Person.objects.findable(by=cast.groups["group_a"])


def test_a_new_volunteer_is_findable_only_once_their_email_is_confirmed(places: None) -> None:
    client = Client()
    response = client.post(
        "/hand-up/",
        {
            "full_name": "Nia New",
            "email": "nia@example.org",
            "password": "a-long-and-unusual-passphrase",
            "place": "M1 1AE",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="nia@example.org")
    _consent(user, PurposeCode.FOUND_MOVEMENT)
    person = Person.objects.get(user=user)
    assert not person.verified
    assert person not in Person.objects.findable()

    # Confirming a second address proves nothing about the one we use.
    other = EmailAddress.objects.create(user=user, email="nia.other@example.org")
    from allauth.account.signals import email_confirmed

    email_confirmed.send(sender=EmailAddress, request=None, email_address=other)
    person.refresh_from_db()
    assert not person.verified

    (message,) = [m for m in mail.outbox if "nia@example.org" in m.to]
    link = next(word for word in message.body.split() if "/accounts/confirm-email/" in word)
    path = link[link.index("/accounts/") :]
    assert client.post(path).status_code == 302
    assert EmailAddress.objects.get(email="nia@example.org").verified, path
    person.refresh_from_db()
    assert person.verified
    assert person in Person.objects.findable()


def test_people_registered_in_person_are_vouched_for(cast: Cast) -> None:
    from handsup.people.offline import OfflineDetails, do_register_offline_person

    person, _code = do_register_offline_person(
        organiser=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=OfflineDetails(
            name="Paper Person",
            agreed_by="paper",
            email="",
            phone="01632 960000",
            postal_address="1 High Street",
            channels=("phone",),
            place=None,
            share_contact=True,
        ),
        claim_link="http://testserver/claim/",
    )
    assert person.verified
