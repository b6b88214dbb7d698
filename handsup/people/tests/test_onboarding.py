"""Putting your hand up: four steps, each keeping what was typed when something is wrong."""

from __future__ import annotations

import html
import re
from datetime import time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django import forms
from django.core import mail
from django.test import Client

from handsup.accounts.models import User
from handsup.people.forms import ONBOARDING_FORMS
from handsup.people.models import Person, PersonSkill, Profile, Skill, SkillCategory
from handsup.places.models import Postcode, PostcodeDistrict
from handsup.privacy.models import AuditEntry, ConsentEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.fixture
def places() -> None:
    PostcodeDistrict.objects.update_or_create(
        code="M1", defaults={"area": "M", "eastings": 384000, "northings": 398000}
    )
    Postcode.objects.update_or_create(
        code="M1 1AE", defaults={"district_code": "M1", "eastings": 384200, "northings": 398100}
    )


@pytest.fixture
def skills() -> dict[str, Skill]:
    category, _ = SkillCategory.objects.get_or_create(slug="test-cat", defaults={"name": "Test"})
    made = {}
    for slug, name, synonyms in [
        ("zz-juggling", "Zany juggling", "throwing things"),
        ("zz-leafleting", "Zany leafleting", "flyers"),
    ]:
        made[slug], _ = Skill.objects.get_or_create(
            slug=slug, defaults={"name": name, "category": category, "synonyms": synonyms}
        )
    return made


def start(client: Client, **changes: str) -> Any:
    data = {
        "full_name": "Hana Helper",
        "email": "hana@example.org",
        "password": PASSWORD,
        "place": "M1 1AE",
        **changes,
    }
    return client.post("/hand-up/", data)


@pytest.fixture
def started(places: None) -> tuple[Client, Person]:
    client = Client()
    response = start(client)
    assert response.status_code == 302
    return client, Person.objects.get(user__email="hana@example.org")


CONTACT = {
    "discoverability": "movement",
    "contact_by_email": "on",
    "asks_per_week_normal": "1",
    "asks_per_week_campaign": "3",
    "digest_cadence": "weekly",
    "quiet_from": "21:00",
    "quiet_until": "08:00",
    "time_zone": "Europe/London",
}


# --- Step 1 -------------------------------------------------------------------------------


def test_step_one_creates_account_person_profile_logs_in_and_sends_verification(places):
    client = Client()
    response = start(client)
    assert response.status_code == 302
    assert response["Location"] == "/hand-up/skills/"
    user = User.objects.get(email="hana@example.org")
    assert user.full_name == "Hana Helper"
    person = Person.objects.get(user=user)
    assert (person.postcode, person.district, person.eastings) == ("M1 1AE", "M1", 384200)
    assert Profile.objects.filter(person=person).exists()
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1 and "hana@example.org" in mail.outbox[0].to
    assert AuditEntry.objects.filter(action="people.hand_up_started").count() == 1
    # Logged in: the next step answers.
    assert client.get("/hand-up/skills/").status_code == 200


def test_just_the_district_is_enough(places):
    start(Client(), place="m1")
    person = Person.objects.get()
    assert (person.postcode, person.district) == ("", "M1")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("BT1 1AA", "Northern Ireland"),
        ("ZE9 9ZZ", "We can't find"),
    ],
)
def test_unplaceable_postcode_offers_remote_only_and_keeps_what_was_typed(places, typed, message):
    client = Client()
    response = start(client, place=typed)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert message in page
    assert "I'll help remotely only" in page
    # Nothing lost: name, email, password and the postcode are still there.
    for kept in ("Hana Helper", "hana@example.org", typed, PASSWORD):
        assert kept in page
    assert not User.objects.exists()
    response = start(client, place=typed, remote_only="on")
    assert response.status_code == 302
    person = Person.objects.get()
    assert person.point is None and person.district == ""


def test_remote_only_is_not_offered_until_needed(places):
    page = Client().get("/hand-up/").content.decode()
    assert "remote_only" not in page


def test_existing_email_is_not_revealed(places):
    start(Client())
    mail.outbox.clear()
    response = start(Client(), full_name="Someone Else")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.count() == 1
    assert len(mail.outbox) == 1  # "you already have an account", to the owner


def test_weak_password_is_refused_with_the_rest_kept(places):
    response = start(Client(), password="password")
    assert response.status_code == 400
    assert "Hana Helper" in response.content.decode()
    assert not User.objects.exists()


def test_no_password_and_no_code_is_refused_with_the_rest_kept(places):
    response = start(Client(), password="")
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Choose a password, or tick “email me a sign-in code” below." in page
    assert "Hana Helper" in page and "M1 1AE" in page
    assert not User.objects.exists()


def test_sign_in_code_instead_of_a_password(places):
    client = Client()
    response = start(client, password="", sign_in_by_code="on")
    assert response.status_code == 302
    user = User.objects.get(email="hana@example.org")
    assert not user.has_usable_password()
    assert client.get("/me/").status_code == 200  # signed in straight away

    # Later, on another device: ask for a code, read it from the email, type it in.
    later = Client()
    mail.outbox.clear()
    response = later.post("/accounts/login/code/", {"email": "hana@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/confirm/"
    (message,) = mail.outbox
    assert message.subject.endswith("Your sign-in code")
    found = re.search(r"^([A-Z0-9-]{6,})$", str(message.body), re.MULTILINE)
    assert found is not None, message.body
    code = found.group(1)
    response = later.post("/accounts/login/code/confirm/", {"code": "WRONG1"})
    assert response.status_code == 200 and later.session.get("_auth_user_id") is None
    assert not Person.objects.get(user=user).verified
    response = later.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302
    assert later.session["_auth_user_id"] == str(user.pk)
    # Typing the emailed code proves the address: the person can now be found.
    assert Person.objects.get(user=user).verified


def test_signed_in_person_is_sent_onwards_from_step_one(started):
    client, _person = started
    assert client.get("/hand-up/")["Location"] == "/hand-up/skills/"


def test_signed_in_account_without_a_person_gives_name_and_place(places):
    user = User.objects.create_user("acct@example.org", PASSWORD)
    client = Client()
    client.force_login(user)
    assert client.get("/hand-up/skills/")["Location"] == "/hand-up/"
    page = client.get("/hand-up/").content.decode()
    assert 'name="email"' not in page
    response = client.post("/hand-up/", {"full_name": "Acct Person", "place": "M1"})
    assert response["Location"] == "/hand-up/skills/"
    assert Person.objects.get(user=user).display_name == "Acct Person"


# --- Step 2 -------------------------------------------------------------------------------


def test_search_without_javascript_shows_matches(started, skills):
    client, _ = started
    page = client.get("/hand-up/skills/", {"q": "flyers"}).content.decode()
    assert "Zany leafleting" in page and "Zany juggling" not in page


def test_htmx_type_ahead_returns_only_the_results(started, skills):
    client, _ = started
    response = client.get("/hand-up/skills/", {"q": "zany"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "<html" not in page and "Zany juggling" in page


def test_searching_keeps_skills_already_ticked(started, skills):
    client, _ = started
    juggling, leafleting = skills["zz-juggling"], skills["zz-leafleting"]
    response = client.post(
        "/hand-up/skills/",
        {
            "skill": [juggling.pk],
            "shown": [juggling.pk],
            f"level_{juggling.pk}": "4",
            f"remote_{juggling.pk}": "1",
            "q": "flyers",
            "search": "1",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="skill-{juggling.pk}" checked' in page
    assert '<option value="4" selected>' in page
    assert f'id="remote-{juggling.pk}" checked' in page
    assert f'id="skill-{leafleting.pk}"' in page


def test_no_skills_is_refused(started, skills):
    client, _ = started
    shown = skills["zz-juggling"].pk
    response = client.post("/hand-up/skills/", {"shown": [shown], "q": "zany"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose at least one skill" in page
    assert 'value="zany"' in page and f'id="skill-{shown}"' in page


def test_skills_are_saved_with_level_and_remote(started, skills):
    client, person = started
    juggling, leafleting = skills["zz-juggling"], skills["zz-leafleting"]
    response = client.post(
        "/hand-up/skills/",
        {
            "skill": [juggling.pk, leafleting.pk],
            f"level_{juggling.pk}": "3",
            f"remote_{juggling.pk}": "1",
            f"level_{leafleting.pk}": "1",
        },
    )
    assert response["Location"] == "/hand-up/when/"
    held = {
        (row.skill_id, row.level, row.remote) for row in PersonSkill.objects.filter(person=person)
    }
    assert held == {(juggling.pk, 3, True), (leafleting.pk, 1, False)}
    assert AuditEntry.objects.filter(action="people.skills_set").exists()


# --- Step 3 -------------------------------------------------------------------------------


def test_weekly_grid_and_hours_are_saved(started):
    client, person = started
    response = client.post(
        "/hand-up/when/", {"slots": ["0", "5", "20"], "hours_normal": "3", "hours_campaign": "6"}
    )
    assert response["Location"] == "/hand-up/contact/"
    profile = Profile.objects.get(person=person)
    assert profile.availability == (1 << 0) | (1 << 5) | (1 << 20)
    assert (profile.hours_normal, profile.hours_campaign) == (3, 6)
    assert AuditEntry.objects.filter(action="people.availability_set").exists()


def test_campaign_hours_below_normal_are_refused_with_the_grid_kept(started):
    client, person = started
    response = client.post(
        "/hand-up/when/", {"slots": ["0", "7"], "hours_normal": "5", "hours_campaign": "2"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "can&#x27;t be fewer than your normal 5 hours" in page
    assert 'id="slot-7" checked' in page and 'id="slot-0" checked' in page
    assert 'value="2"' in page
    assert Profile.objects.get(person=person).availability == 0


# --- Step 4 -------------------------------------------------------------------------------


def test_contact_preferences_and_discoverability_as_consent(started):
    client, person = started
    response = client.post(
        "/hand-up/contact/", {**CONTACT, "contact_by_phone": "on", "phone": "07700 900123"}
    )
    assert response["Location"] == "/me/profile/"
    profile = Profile.objects.get(person=person)
    assert profile.contact_by_phone and profile.phone == "07700 900123"
    events = ConsentEvent.objects.filter(user=person.user).order_by("pk")
    assert [(e.purpose.code, e.given, e.source) for e in events] == [
        ("found_movement", True, "web"),
        ("found_my_groups", False, "web"),
    ]
    assert "Any group in the movement" in events[0].wording
    assert AuditEntry.objects.filter(action="people.contact_preferences_set").exists()


def test_changing_who_can_find_me_keeps_the_history(started):
    client, person = started
    client.post("/hand-up/contact/", CONTACT)
    client.post("/me/profile/contact/", {**CONTACT, "discoverability": "my_groups"})
    client.post("/me/profile/contact/", {**CONTACT, "discoverability": "nobody"})
    client.post("/me/profile/contact/", {**CONTACT, "discoverability": "nobody"})
    history = [
        (e.purpose.code, e.given)
        for e in ConsentEvent.objects.filter(user=person.user).order_by("pk")
    ]
    assert history == [
        ("found_movement", True),
        ("found_my_groups", False),
        ("found_movement", False),
        ("found_my_groups", True),
        ("found_my_groups", False),
    ]
    page = client.get("/me/profile/contact/").content.decode()
    assert 'value="nobody" required id="id_discoverability_2" checked' in page or (
        'value="nobody"' in page and "checked" in page
    )


def test_quiet_hours_covering_the_whole_day_are_refused(started):
    client, person = started
    response = client.post(
        "/hand-up/contact/", {**CONTACT, "quiet_from": "22:00", "quiet_until": "22:00"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Quiet hours can&#x27;t cover the whole day" in page
    assert 'value="movement" required id="id_discoverability_0" checked' in page or (
        "checked" in page
    )
    assert Profile.objects.get(person=person).quiet_from == time(21, 0)
    assert not ConsentEvent.objects.filter(user=person.user).exists()


def test_limits_above_the_movements_are_refused(started):
    client, person = started
    response = client.post(
        "/hand-up/contact/",
        {**CONTACT, "asks_per_week_normal": "5", "asks_per_week_campaign": "14"},
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "The movement sends at most 3 asks a week: choose 3 or fewer." in page
    assert "During campaigns the movement sends at most 7 asks a week" in page
    assert Profile.objects.get(person=person).asks_per_week_normal == 1


def test_unknown_time_zone_is_refused(started):
    client, _ = started
    response = client.post("/hand-up/contact/", {**CONTACT, "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "isn&#x27;t a time zone we know" in response.content.decode()


def test_choosing_who_can_find_me_is_required(started):
    client, _ = started
    data = {k: v for k, v in CONTACT.items() if k != "discoverability"}
    response = client.post("/hand-up/contact/", data)
    assert response.status_code == 400


# --- The limits ---------------------------------------------------------------------------


def required_inputs() -> int:
    """Inputs a newcomer must fill in across the four steps: required fields that start
    empty (the rest come filled in with sensible defaults), plus one for the skill picker
    and one for "a password, or tick email me a sign-in code" (neither field is required
    alone)."""
    counted = 0
    for form_class in ONBOARDING_FORMS:
        form = (
            form_class(instance=Profile())  # type: ignore[call-arg]
            if issubclass(form_class, forms.ModelForm)
            else form_class()
        )
        counted += sum(
            1
            for name, field in form.fields.items()
            if field.required and form[name].value() in (None, "", [])
        )
    return counted + 2


def test_required_inputs_are_the_ones_only_the_person_can_answer():
    # name, email, a password or the sign-in code box, place, a skill, who can find me
    assert required_inputs() == 6


def test_at_most_twelve_required_inputs():
    assert required_inputs() <= 12


def test_four_submissions_from_nothing_to_a_profile(places, skills):
    client = Client()
    submissions = [
        (
            "/hand-up/",
            {
                "full_name": "Four Steps",
                "email": "four@example.org",
                "password": PASSWORD,
                "place": "M1",
            },
        ),
        ("/hand-up/skills/", {"skill": [skills["zz-juggling"].pk]}),
        ("/hand-up/when/", {"slots": ["1"], "hours_normal": "2", "hours_campaign": "4"}),
        ("/hand-up/contact/", CONTACT),
    ]
    for path, data in submissions:
        response = client.post(path, data)
        assert response.status_code == 302, (path, response.content[:2000])
    assert response["Location"] == "/me/profile/"
    assert client.get("/me/profile/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/hand-up/", "/hand-up/skills/", "/hand-up/when/", "/hand-up/contact/"]
)
def test_each_page_is_light(started, skills, path):
    client, _ = started
    if path == "/hand-up/":
        client = Client()
    response = client.get(path, {"q": "zany"} if "skills" in path else {})
    assert response.status_code == 200
    assert len(response.content) < 150_000
    assert b"<img" not in response.content
