"""Delete my account: the plan, what stands in the way, every category of erasure, the
tombstone, re-authentication, a double submit, and matching forgetting the person."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.test import Client

from handsup.accounts.models import User
from handsup.groups.models import GroupBlock, Membership
from handsup.needs.actions import do_create_need
from handsup.needs.index import MatchingIndex
from handsup.needs.matching import shortlist
from handsup.needs.models import ContactGrant, HoursLog, Invitation, MatchingChange, MatchingRow
from handsup.needs.tests.conftest import make_volunteer, on_site_details
from handsup.needs.tests.test_afterwards import invite
from handsup.people.models import Person, Profile, Skill
from handsup.privacy.access import log_access
from handsup.privacy.audit import record_audit
from handsup.privacy.erased import identity_digest, is_erased_address
from handsup.privacy.erasure import ErasureRefused, do_erase_person, erasure_plan
from handsup.privacy.models import AccessLogEntry, AuditEntry, ConsentEvent, ErasedIdentity

pytestmark = pytest.mark.django_db

DELETE_URL = "/my-data/delete/"
DELETED_URL = "/my-data/deleted/"


@pytest.fixture
def skills(db: None) -> list[Skill]:
    return list(Skill.objects.order_by("pk")[:3])


@pytest.fixture
def need(cast: Any, skills: list[Skill]) -> Any:
    return do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills),
        publish=True,
    )


@pytest.fixture
def volunteer(cast: Any, need: Any) -> User:
    """The volunteer persona, with a yes (hours logged, with a note), a pending ask, a
    block, and reads of their details in the access log."""
    user: User = cast.users["volunteer"]
    yes = invite(need, user, invited_by=cast.users["organiser_a"])
    HoursLog.objects.create(
        invitation=yes,
        hours=2,
        logged_by=user,
        on_date=yes.created_at.date(),
        note="Vera brought her own ladder",
        created_at=yes.created_at,
    )
    other_need = do_create_need(
        actor=cast.users["organiser_b"],
        group=cast.groups["group_b"],
        details=on_site_details(list(Skill.objects.order_by("pk")[:1]), title="Leafleting"),
        publish=True,
    )
    invite(other_need, user, status=Invitation.Status.PENDING)
    GroupBlock.objects.create(user=user, group=cast.groups["wales"])
    log_access(
        actor=cast.users["organiser_a"],
        subjects=[user],
        purpose="member_list",
        fields=["full_name"],
        group=cast.groups["group_a"],
    )
    return user


# --- The plan ---------------------------------------------------------------------------


def test_the_plan_says_what_is_deleted_anonymised_and_kept(cast, volunteer):
    plan = erasure_plan(volunteer)
    assert plan.can_erase
    categories = {erasure: items for erasure, _meaning, items in plan.sections()}
    assert set(categories) == {"delete", "keep_hashed", "keep", "anonymise"}
    deleted = {item.label: item.count for item in categories["delete"]}
    assert deleted["accounts.user"] == 1
    assert deleted["groups.membership.user"] == 1
    assert deleted["needs.invitation.user"] == 1  # the pending ask
    assert deleted["needs.contactgrant.user"] == 1
    assert deleted["privacy.accesslogentry.subject"] == 1
    assert deleted["groups.groupblock.user"] == 1
    assert deleted["privacy.consentevent.user"] >= 1
    assert [item.count for item in categories["keep"]] == [1]  # the yes, for the group
    assert [item.count for item in categories["keep_hashed"]] == [1]  # one address
    # They recorded their own consents and logged their hours: links that are cleared.
    assert {item.label for item in categories["anonymise"]} >= {
        "privacy.consentevent.recorded_by",
        "needs.hourslog.logged_by",
    }


def test_the_page_shows_the_plan_in_words(cast, volunteer):
    response = cast.client_for("volunteer").get(DELETE_URL)
    assert response.status_code == 200
    page = response.content.decode()
    for words in (
        "Deleted",
        "Kept only as a one-way hash",
        "Kept, and why",
        "Kept, with your name taken off",
        "a former volunteer helped",
        "I understand this can&#x27;t be undone",
        "Delete my account",
    ):
        assert words in page, words


def test_the_me_page_links_to_it(cast):
    page = cast.client_for("volunteer").get("/me/").content.decode()
    assert DELETE_URL in page


# --- What stands in the way --------------------------------------------------------------


def test_the_only_admin_of_a_group_is_asked_to_hand_over_first(cast):
    admin = cast.users["admin_a"]
    group = cast.groups["group_a"]
    plan = erasure_plan(admin)
    assert not plan.can_erase
    (blocker,) = plan.blockers
    assert group.name in blocker.message and "archive" in blocker.message
    assert group.public_id in blocker.url
    with pytest.raises(ErasureRefused, match="only admin"):
        do_erase_person(user=admin, actor=admin)
    admin.refresh_from_db()
    assert not admin.erased and Membership.objects.filter(user=admin).exists()

    response = cast.client_for("admin_a").post(DELETE_URL, {"confirm": "on"})
    assert response.status_code == 409
    assert "only admin" in response.content.decode()
    admin.refresh_from_db()
    assert not admin.erased


def test_with_another_admin_the_former_admin_can_go(cast):
    Membership.objects.filter(user=cast.users["organiser_a"]).update(role=Membership.Role.ADMIN)
    assert erasure_plan(cast.users["admin_a"]).can_erase


def test_an_erased_account_cant_be_erased_again(cast, volunteer):
    do_erase_person(user=volunteer, actor=volunteer)
    volunteer.refresh_from_db()
    assert [b.message for b in erasure_plan(volunteer).blockers] == [
        "This account has already been deleted."
    ]
    before = AuditEntry.objects.count()
    with pytest.raises(ErasureRefused, match="already"):
        do_erase_person(user=volunteer, actor=None)
    assert AuditEntry.objects.count() == before


# --- Every category ----------------------------------------------------------------------


def test_erasure_leaves_an_empty_tombstone_and_hashed_addresses(cast, volunteer):
    old_email, old_public_id = volunteer.email, volunteer.public_id
    EmailAddress.objects.create(user=volunteer, email="Vera.Second@Example.org", verified=True)
    report = do_erase_person(user=volunteer, actor=volunteer)
    tombstone = User.objects.get(pk=volunteer.pk)
    assert tombstone.erased and tombstone.erased_at is not None
    assert tombstone.email.startswith("erased-") and tombstone.email.endswith("@erased.invalid")
    assert tombstone.full_name == ""
    assert not tombstone.has_usable_password()
    assert not (tombstone.is_active or tombstone.is_staff or tombstone.is_superuser)
    assert tombstone.last_login is None
    assert tombstone.public_id != old_public_id
    assert str(tombstone) == f"Person {tombstone.public_id}"
    # One hash per address, in any case; the addresses themselves are nowhere.
    assert report.identities == 2
    assert (
        ErasedIdentity.objects.filter(
            digest__in=[identity_digest(old_email), identity_digest("vera.second@example.org")]
        ).count()
        == 2
    )
    assert is_erased_address(old_email.upper())
    assert not EmailAddress.objects.filter(email__iexact=old_email).exists()
    assert report.counts["groups.membership"] == 1
    assert report.seconds > 0


def test_their_rows_go_and_the_groups_record_of_help_stays(cast, need, volunteer):
    yes = Invitation.objects.get(user=volunteer, status=Invitation.Status.ACCEPTED)
    do_erase_person(user=volunteer, actor=volunteer)
    assert not Person.objects.filter(pk__in=[]).exists()
    assert not Person.objects.filter(user=volunteer).exists()
    assert not Profile.objects.filter(person__user=volunteer).exists()
    assert not Membership.objects.filter(user=volunteer).exists()
    assert not ConsentEvent.objects.filter(user=volunteer).exists()
    assert not ContactGrant.objects.filter(user=volunteer).exists()
    assert not GroupBlock.objects.filter(user=volunteer).exists()
    assert not AccessLogEntry.objects.filter(subject=volunteer).exists()
    # The yes stays with its hours, with nothing of theirs in it; the pending ask goes.
    assert list(Invitation.objects.filter(user=volunteer)) == [yes]
    (hours,) = HoursLog.objects.filter(invitation=yes)
    assert hours.note == "" and hours.logged_by is None and hours.hours == 2
    need.refresh_from_db()
    assert need.filled_count == 1


def test_mentions_are_cleared_and_what_they_wrote_stays(cast, need):
    organiser = cast.users["organiser_no_mfa"]  # group A has an admin besides them
    written = do_create_need(
        actor=organiser,
        group=cast.groups["group_a"],
        details=on_site_details(list(Skill.objects.order_by("pk")[:1]), title="Banner painting"),
        publish=False,
    )
    subject = cast.users["volunteer_other"]
    log_access(actor=organiser, subjects=[subject], purpose="member_list", fields=["full_name"])
    do_erase_person(user=organiser, actor=organiser)
    written.refresh_from_db()
    assert written.created_by is None
    read = AccessLogEntry.objects.get(subject=subject, purpose="member_list")
    assert read.actor is None
    assert not AuditEntry.objects.filter(actor=organiser).exists()


def test_audit_rows_lose_their_ids_and_the_erasure_is_audited_without_them(cast, volunteer):
    membership = Membership.objects.get(user=volunteer)
    person_id = Person.objects.get(user=volunteer).public_id
    record_audit(
        actor=cast.users["organiser_a"],
        action="group.member_role_changed",
        obj=membership,
        group=membership.group,
        details={"person": person_id, "to": "member"},
    )
    old_ids = {volunteer.public_id, person_id, membership.public_id}
    do_erase_person(user=volunteer, actor=volunteer)
    for entry in AuditEntry.objects.all():
        text = f"{entry.object_public_id} {entry.details}"
        assert not any(i in text for i in old_ids), entry.action
    changed = AuditEntry.objects.get(action="group.member_role_changed")
    assert changed.details == {"to": "member"} and changed.object_public_id == ""
    erased = AuditEntry.objects.get(action="privacy.person_erased")
    assert erased.actor is None and erased.object_public_id == ""
    assert erased.details["requested_by"] == "self"


def test_their_sessions_end_everywhere(cast, volunteer):
    elsewhere = cast.client_for("volunteer")
    someone_else = cast.client_for("volunteer_other")
    do_erase_person(user=volunteer, actor=volunteer)
    assert not Session.objects.filter(session_key=elsewhere.session.session_key).exists()
    assert Session.objects.filter(session_key=someone_else.session.session_key).exists()
    assert elsewhere.get("/me/").status_code == 302


# --- Matching forgets them ---------------------------------------------------------------


def test_they_vanish_from_the_matching_table_the_index_and_shortlists(
    cast, skills, django_capture_on_commit_callbacks
):
    fits = make_volunteer(skills={skills[0]: (3, False)}, marker="FITSWELL")
    need = do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills),
        publish=True,
    )
    index = MatchingIndex.build()
    assert fits.pk in {card.user_id for card in shortlist(need)}
    assert fits.pk in {card.user_id for card in index.shortlist(need)}
    assert MatchingRow.objects.filter(user_id=fits.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        do_erase_person(user=fits, actor=fits)
    assert not MatchingRow.objects.filter(user_id=fits.pk).exists()
    assert list(MatchingChange.objects.filter(user_id=fits.pk).values_list("user_id", flat=True))
    index.refresh()
    assert fits.pk not in {card.user_id for card in shortlist(need)}
    assert fits.pk not in {card.user_id for card in index.shortlist(need)}
    assert fits.pk not in {card.user_id for card in MatchingIndex.build().shortlist(need)}


# --- The pages ---------------------------------------------------------------------------


def test_an_unticked_box_changes_nothing(cast, volunteer):
    response = cast.client_for("volunteer").post(DELETE_URL, {})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page and "Tick the box" in page
    volunteer.refresh_from_db()
    assert not volunteer.erased


def test_erasing_needs_a_recent_sign_in_and_then_goes_ahead(cast, volunteer):
    client = Client()
    client.force_login(volunteer)  # signed in, but not just now
    response = client.post(DELETE_URL, {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    volunteer.refresh_from_db()
    assert not volunteer.erased
    # A wrong password erases nothing; the right one resumes the request that waited.
    wrong = client.post(response["Location"], {"password": "not-the-password"})
    assert wrong.status_code == 200
    volunteer.refresh_from_db()
    assert not volunteer.erased
    resumed = client.post(response["Location"], {"password": "correct-horse-battery"})
    assert resumed.status_code == 302 and resumed["Location"] == DELETED_URL
    volunteer.refresh_from_db()
    assert volunteer.erased


def test_delete_my_account_signs_out_and_a_second_submit_is_harmless(cast, volunteer):
    client = cast.client_for("volunteer")
    response = client.post(DELETE_URL, {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == DELETED_URL
    volunteer.refresh_from_db()
    assert volunteer.erased
    page = client.get(DELETED_URL)
    assert page.status_code == 200
    assert "Your account has been deleted" in page.content.decode()
    again = client.post(DELETE_URL, {"confirm": "on"})
    assert again.status_code == 302 and again["Location"].startswith("/accounts/login/")
    assert AuditEntry.objects.filter(action="privacy.person_erased").count() == 1


def test_anonymous_people_are_sent_to_sign_in(client):
    for method in (client.get, client.post):
        response = method(DELETE_URL)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_their_former_organiser_sees_a_former_volunteer(cast, need, volunteer):
    people_url = f"/groups/manage/{need.group.public_id}/needs/{need.public_id}/people/"
    organiser = cast.client_for("organiser_a")
    before = organiser.get(people_url).content.decode()
    assert cast.marker("volunteer") in before
    email = volunteer.email
    do_erase_person(user=volunteer, actor=volunteer)
    page = organiser.get(people_url).content.decode()
    assert "A former volunteer" in page
    assert cast.marker("volunteer") not in page
    assert email not in page and "mailto:" not in page
    assert "Hours logged" in page


# --- Copies found by value ---------------------------------------------------------------


def test_messages_that_quote_them_are_scrubbed_and_others_are_not(cast, volunteer):
    from handsup.messaging.models import Kind, Message

    Profile.objects.filter(person__user=volunteer).update(
        postal_address="1 Test Street\nManchester", phone="07700 900123"
    )
    name, email = volunteer.full_name, volunteer.email
    group = cast.groups["group_a"]
    introduction = Message.objects.create(
        kind=Kind.SERVICE,
        group=group,
        subject=f"{name} will help",
        body_markdown=f"- Name: {name}\n- Email: {email}\n- Phone: 07700 900123",
    )
    namesake = Message.objects.create(
        kind=Kind.SERVICE, group=group, subject=f"{name} will help", body_markdown="Another one"
    )
    update = Message.objects.create(
        kind=Kind.GROUP_UPDATE, group=group, subject="Fair", body_text="Meet in Manchester"
    )
    do_erase_person(user=volunteer, actor=volunteer)
    introduction.refresh_from_db()
    assert introduction.subject == "a former volunteer will help"
    assert email not in introduction.body_markdown and "07700" not in introduction.body_markdown
    assert "[removed]" in introduction.body_markdown
    # A name alone is not enough to change someone else's words; a town is anybody's.
    namesake.refresh_from_db()
    update.refresh_from_db()
    assert namesake.subject == f"{name} will help"
    assert update.body_text == "Meet in Manchester"


def test_an_officer_can_erase_someone_and_is_named_in_the_audit(cast, volunteer):
    dpo = cast.users["dpo"]
    do_erase_person(user=volunteer, actor=dpo)
    erased = AuditEntry.objects.get(action="privacy.person_erased")
    assert erased.actor == dpo and erased.details["requested_by"] == "officer"


def test_the_plan_costs_one_query_per_link(cast, volunteer, django_assert_max_num_queries):
    from handsup.privacy.ownership import links

    with django_assert_max_num_queries(len(links()) + 8):
        erasure_plan(volunteer)


def test_a_kept_request_to_the_desk_loses_how_the_requester_described_themselves(cast):
    """A data-protection request about the person stays on the desk's record (the
    inventory keeps it), emptied of the words that describe them."""
    from datetime import date

    from handsup.privacy.models import DataRequest

    user: User = cast.users["volunteer"]
    request = DataRequest.objects.create(
        subject=user,
        kind=DataRequest.Kind.ACCESS,
        channel=DataRequest.Channel.POST,
        received_on=date(2026, 11, 2),
        due_on=date(2026, 12, 2),
        requester_details="Vera Volunteer, 1 Canary Street, Manchester",
        outcome="Sent a copy by post.",
    )
    report = do_erase_person(user=user, actor=user)

    request.refresh_from_db()
    assert request.subject_id == user.pk  # the emptied account
    assert request.requester_details == ""
    assert request.outcome == "Sent a copy by post."
    assert report.counts["privacy.datarequest (emptied)"] == 1


def test_matching_is_told_once_not_row_by_row(cast, volunteer):
    """Erasure deletes dozens of the person's rows; matching hears of it once, after
    them, and nobody else's changes are held back meanwhile."""
    from handsup.needs.index_changes import changes_held, note_change
    from handsup.needs.models import MatchingChange

    other = cast.users["volunteer_other"]
    theirs = MatchingChange.objects.filter(user_id=volunteer.pk)
    others = MatchingChange.objects.filter(user_id=other.pk)
    before = (theirs.count(), others.count())
    with changes_held(volunteer.pk):
        note_change(volunteer.pk)
        note_change(other.pk)
    assert (theirs.count(), others.count()) == (before[0], before[1] + 1)

    do_erase_person(user=volunteer, actor=volunteer)
    assert MatchingChange.objects.filter(user_id=volunteer.pk).count() == 1
