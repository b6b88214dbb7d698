"""People who are not online: registered by an organiser, claimed with a single-use code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.people.models import ClaimCode, Person
from handsup.people.offline import (
    CLAIM_CODE_ALPHABET,
    OfflineDetails,
    do_issue_claim_code,
    do_register_offline_person,
    hash_claim_code,
    new_claim_code,
)
from handsup.privacy.consent import has_consent
from handsup.privacy.models import AccessLogEntry, AuditEntry, ConsentEvent
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b")
PASSWORD = "a-long-new-passphrase-42"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def _register_url(cast: Cast, group: str = "group_a") -> str:
    return f"/groups/manage/{cast.groups[group].public_id}/people/new/"


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Pat Paper",
        "agreed_by": "paper",
        "email": "pat@example.org",
        "phone": "0161 496 0000",
        "postal_address": "1 Mill Lane\nManchester",
        "channels": ["email", "post"],
        "share_contact": "on",
        "place": "",
    }
    data.update(overrides)
    return data


def _register_by_phone(cast: Cast) -> Person:
    person, code = do_register_offline_person(
        organiser=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=OfflineDetails(
            name="Phoebe Phone",
            agreed_by="phone",
            email="",
            phone="01632 960000",
            postal_address="2 Pier Road\nCardiff",
            channels=("phone", "post"),
            share_contact=False,
            place=None,
        ),
        claim_link="http://testserver/claim/",
    )
    assert code is None
    return person


def _claim(code: str, email: str = "pat.new@example.org", password: str = PASSWORD) -> Any:
    return Client().post("/claim/", {"code": code, "email": email, "password": password})


# --- Codes ----------------------------------------------------------------------------------


def test_codes_are_two_groups_of_five_from_an_unambiguous_alphabet() -> None:
    code = new_claim_code()
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code)
    assert not set(code.replace("-", "")) - set(CLAIM_CODE_ALPHABET)
    assert not set("01OIL") & set(CLAIM_CODE_ALPHABET)
    # Typed loosely, it is the same code; the hash never contains it.
    assert hash_claim_code(code.lower().replace("-", " ")) == hash_claim_code(code)
    assert code.replace("-", "") not in hash_claim_code(code)


# --- Registering ----------------------------------------------------------------------------


def test_an_organiser_registers_someone_who_agreed_on_paper(
    cast: Cast, places: None, django_capture_on_commit_callbacks: Any
) -> None:
    organiser = cast.users["organiser_a"]
    group = cast.groups["group_a"]
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client_for("organiser_a").post(_register_url(cast), _form(place="M1 1AE"))
    assert response.status_code == 302
    person = Person.objects.select_related("user", "profile").get(display_name="Pat Paper")
    user = person.user
    assert user is not None and user.email == "pat@example.org"
    assert not user.has_usable_password()
    assert person.district == "M1" and person.eastings is not None
    assert person.profile.phone == "0161 496 0000"
    assert person.profile.contact_by_email and person.profile.contact_by_post
    assert not person.profile.contact_by_phone
    assert Membership.objects.filter(user=user, group=group, role="member").exists()
    events = ConsentEvent.objects.filter(user=user).select_related("purpose")
    assert {e.purpose.code for e in events} == {
        "group_email",
        "group_post",
        "share_contact_with_group",
    }
    assert {(e.source, e.recorded_by_id, e.group_id) for e in events} == {
        ("paper", organiser.pk, group.pk)
    }
    assert has_consent(user, "group_post", group=group)
    assert AuditEntry.objects.filter(
        action="people.offline_person_registered", actor=organiser, group=group
    ).exists()
    # The claim code went by email, and only its hash is kept.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.org"]
    found = CODE.search(str(mail.outbox[0].body))
    assert found and "http://testserver/claim/" in mail.outbox[0].body
    claim = ClaimCode.objects.get(person=person)
    assert claim.code_hash == hash_claim_code(found.group(0))
    assert claim.expires_at - timezone.now() > timedelta(days=13, hours=23)
    assert claim.created_by == organiser
    # Nobody can log in to the account before it is claimed.
    assert not Client().login(email="pat@example.org", password="")


def test_someone_without_email_is_registered_by_phone_and_gets_a_letter(cast: Cast) -> None:
    person = _register_by_phone(cast)
    assert person.user is not None
    assert person.user.email.endswith("@unclaimed.handsup.invalid")
    assert ConsentEvent.objects.filter(user=person.user, source="phone").count() == 2
    organiser = cast.client_for("organiser_a")
    letter_url = (
        f"/groups/manage/{cast.groups['group_a'].public_id}/people/{person.public_id}/letter/"
    )
    assert organiser.get(letter_url).status_code == 200
    assert not ClaimCode.objects.filter(person=person).exists()  # GET changes nothing
    response = organiser.post(letter_url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Phoebe Phone" in text and "2 Pier Road" in text
    assert "size: A4" in text
    code = CODE.search(text)
    assert code is not None
    assert ClaimCode.objects.get(person=person).code_hash == hash_claim_code(code.group(0))
    # Each read by the organiser is in the access log, naming the fields shown.
    logged = AccessLogEntry.objects.filter(actor=cast.users["organiser_a"], subject=person.user)
    assert {entry.purpose for entry in logged} == {"offline_claim_letter"}
    assert ["full_name", "postal_address"] in [entry.fields for entry in logged]


def test_the_person_page_is_access_logged(cast: Cast) -> None:
    person = _register_by_phone(cast)
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/people/{person.public_id}/"
    response = cast.client_for("organiser_a").get(url)
    assert response.status_code == 200
    assert "01632 960000" in response.content.decode()
    entry = AccessLogEntry.objects.get(actor=cast.users["organiser_a"], subject=person.user)
    assert entry.purpose == "offline_person" and "phone" in entry.fields


def test_an_organiser_of_b_cannot_register_into_a_or_see_a_person(cast: Cast) -> None:
    client = cast.client_for("organiser_b")
    assert client.get(_register_url(cast)).status_code == 404
    assert client.post(_register_url(cast), _form()).status_code == 404
    assert not Person.objects.filter(display_name="Pat Paper").exists()
    person = _register_by_phone(cast)
    base = f"/groups/manage/{cast.groups['group_a'].public_id}/people/{person.public_id}/"
    assert client.get(base).status_code == 404
    assert client.post(base + "letter/").status_code == 404
    # Nor through their own group's address.
    other = f"/groups/manage/{cast.groups['group_b'].public_id}/people/{person.public_id}/"
    assert client.get(other).status_code == 404
    assert not AccessLogEntry.objects.filter(actor=cast.users["organiser_b"]).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"channels": ["phone"], "phone": ""}, "phone", "fill this in, or untick it"),
        ({"email": "", "phone": "", "postal_address": "", "channels": []}, None, "at least one"),
        ({"agreed_by": "web"}, "agreed_by", "Select a valid choice"),
        ({"place": "BT1 1AA"}, "place", "Northern Ireland"),
        ({"place": "ZZ99 9ZZ"}, "place", "leave it blank"),
    ],
)
def test_bad_registrations_say_why_and_keep_what_was_typed(
    cast: Cast, places: None, overrides: dict[str, Any], field: str | None, message: str
) -> None:
    response = cast.client_for("organiser_a").post(_register_url(cast), _form(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    errors = " ".join(str(e) for e in form.errors.get(field or "__all__", []))
    assert message in errors, form.errors
    assert "Pat Paper" in response.content.decode()  # nothing lost
    assert not Person.objects.filter(display_name="Pat Paper").exists()


def test_an_email_that_already_has_an_account_is_refused(cast: Cast) -> None:
    taken = cast.users["volunteer"].email
    response = cast.client_for("organiser_a").post(_register_url(cast), _form(email=taken))
    assert response.status_code == 400
    assert "already has an account" in str(response.context["form"].errors["email"])


# --- Claiming -------------------------------------------------------------------------------


def _issued(cast: Cast, person: Person) -> str:
    return do_issue_claim_code(
        organiser=cast.users["organiser_a"], person=person, group=cast.groups["group_a"]
    )


def test_claiming_sets_email_and_password_and_logs_in(cast: Cast) -> None:
    person = _register_by_phone(cast)
    code = _issued(cast, person)
    client = Client()
    response = client.post(
        "/claim/",
        {"code": code.lower(), "email": "Phoebe@Example.org", "password": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/me/"
    user = User.objects.get(person=person)
    assert user.email == "phoebe@example.org"
    assert user.check_password(PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert EmailAddress.objects.get(user=user).email == "phoebe@example.org"
    assert ClaimCode.objects.get(person=person).used_at is not None
    assert AuditEntry.objects.filter(action="people.account_claimed", actor=user).exists()
    # Claimed: the organiser's offline pages no longer reach them.
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/people/{person.public_id}/"
    assert cast.client_for("organiser_a").get(url).status_code == 404


def test_the_emailed_address_counts_as_verified(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cast.client_for("organiser_a").post(_register_url(cast), _form())
    found = CODE.search(str(mail.outbox[-1].body))
    assert found
    assert _claim(found.group(0), email="pat@example.org").status_code == 302
    assert EmailAddress.objects.get(email="pat@example.org").verified


def _unchanged(person: Person) -> None:
    user = User.objects.get(person=person)
    assert not user.has_usable_password()
    assert user.email.endswith("@unclaimed.handsup.invalid")


def test_a_wrong_code_changes_nothing(cast: Cast) -> None:
    person = _register_by_phone(cast)
    _issued(cast, person)
    response = _claim("AAAAA-BBBBB")
    assert response.status_code == 400
    assert "not right" in str(response.context["form"].errors["code"])
    assert 'value="pat.new@example.org"' in response.content.decode()  # nothing lost
    _unchanged(person)


def test_an_expired_code_changes_nothing(cast: Cast) -> None:
    person = _register_by_phone(cast)
    code = _issued(cast, person)
    ClaimCode.objects.filter(person=person).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _claim(code)
    assert response.status_code == 400
    assert "expired" in str(response.context["form"].errors["code"])
    _unchanged(person)
    assert ClaimCode.objects.get(person=person).used_at is None


def test_a_code_works_only_once(cast: Cast) -> None:
    person = _register_by_phone(cast)
    code = _issued(cast, person)
    assert _claim(code).status_code == 302
    before = User.objects.get(person=person)
    response = _claim(code, email="someone.else@example.org", password="another-passphrase-9")
    assert response.status_code == 400
    assert "already been used" in str(response.context["form"].errors["code"])
    after = User.objects.get(person=person)
    assert (after.email, after.password) == (before.email, before.password)


def test_a_new_code_cancels_the_old_one(cast: Cast) -> None:
    person = _register_by_phone(cast)
    old = _issued(cast, person)
    new = _issued(cast, person)
    response = _claim(old)
    assert response.status_code == 400
    assert "newer one" in str(response.context["form"].errors["code"])
    _unchanged(person)
    assert _claim(new).status_code == 302


def test_a_weak_password_or_a_taken_email_is_refused_before_the_code_is_spent(
    cast: Cast,
) -> None:
    person = _register_by_phone(cast)
    code = _issued(cast, person)
    assert _claim(code, password="123").status_code == 400
    assert _claim(code, email=cast.users["volunteer"].email).status_code == 400
    _unchanged(person)
    assert ClaimCode.objects.get(person=person).used_at is None


def test_guessing_codes_is_slowed_down(cast: Cast) -> None:
    person = _register_by_phone(cast)
    code = _issued(cast, person)
    for _ in range(10):
        assert _claim("AAAAA-BBBBB").status_code == 400
    response = _claim(code)
    assert response.status_code == 429
    assert "Too many wrong codes" in response.content.decode()
    _unchanged(person)


def test_signed_in_people_are_sent_on_from_the_claim_page(cast: Cast) -> None:
    response = cast.client_for("volunteer").get("/claim/")
    assert response.status_code == 302


# --- Paper ------------------------------------------------------------------------------------


def test_the_printable_sign_up_form_lists_the_web_forms_fields(client: Client) -> None:
    from django.forms.utils import pretty_name

    from handsup.people.offline_forms import web_signup_forms

    response = client.get("/sign-up-form/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "@page" in text and "size: A4" in text
    labels = [
        str(field.label or pretty_name(name))
        for form_class in web_signup_forms()
        for name, field in form_class().fields.items()
        if not field.widget.is_hidden
    ]
    assert labels
    for label in labels:
        assert label in text or label.replace("'", "&#x27;") in text, label


def test_the_printable_profile_shows_ones_own_details(cast: Cast) -> None:
    person = _register_by_phone(cast)
    code = _issued(cast, person)
    client = Client()
    client.post("/claim/", {"code": code, "email": "phoebe@example.org", "password": PASSWORD})
    response = client.get("/me/profile/print/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Phoebe Phone" in text and "01632 960000" in text
    assert (
        not AccessLogEntry.objects.filter(subject=person.user)
        .exclude(actor=cast.users["organiser_a"])
        .exists()
    )
