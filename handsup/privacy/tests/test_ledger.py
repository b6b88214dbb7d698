"""The "Your data" page: each section shows the person's own rows and nobody else's, in
a fixed number of queries; stopping sharing and withdrawing a consent work from it, and
bad input gets a 404 with nothing changed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Departure, Group
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message, Reason
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.answers import do_accept, do_decline, invitation_expiry
from handsup.needs.models import ContactGrant, Invitation, Need
from handsup.people.models import Skill
from handsup.privacy.access import log_access
from handsup.privacy.ledger import LATEST
from handsup.privacy.models import AccessLogEntry, AuditEntry, ConsentEvent
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

LEDGER = reverse("privacy:ledger")
WITHDRAW = reverse("privacy:withdraw_consent")


def make_need(cast: Cast, group: str, title: str) -> Need:
    """An open, remote, ongoing need of group A or B, posted by its organiser."""
    organiser = "organiser_a" if group == "group_a" else "organiser_b"
    return do_create_need(
        actor=cast.users[organiser],
        group=cast.groups[group],
        details=NeedDetails(
            title=title,
            description="Help with the summer fair.",
            skills=(
                SkillWanted(skill=Skill.objects.order_by("pk")[0], min_level=1, required=True),
            ),
            location_kind=Need.LocationKind.REMOTE,
            place=None,
            radius_km=None,
            schedule_kind=Need.ScheduleKind.ONGOING,
            weekly_slots=0b11,
            hours=Decimal(2),
            people_needed=3,
            closes_on=timezone.localdate() + timedelta(days=30),
            visibility=Need.Visibility.MOVEMENT,
        ),
        publish=True,
    )


def invite(need: Need, user: User, *, by: User | None = None) -> Invitation:
    now = timezone.now()
    return Invitation.objects.create(
        need=need,
        user=user,
        source=Invitation.Source.ASK,
        invited_by=by,
        created_at=now,
        expires_at=invitation_expiry(need, now),
    )


def said_yes(cast: Cast, key: str, group: str, title: str) -> ContactGrant:
    need = make_need(cast, group, title)
    user = cast.users[key]
    return do_accept(invitation=invite(need, user), actor=user, share_phone=False)


# Why pacing would have decided each way (any decision not here was within the limits).
REASONS: dict[str, str] = {
    Decision.HELD: Reason.QUIET_HOURS,
    Decision.SUPPRESSED: Reason.OVER_GROUP_POLICY,
    Decision.FOLDED: Reason.OVER_BUDGET_WEEK,
}


def message_decision(user: User, group: Group, decision: str, subject: str) -> None:
    message = Message.objects.create(kind=Kind.GROUP_UPDATE, group=group, subject=subject)
    now = timezone.now()
    LedgerEntry.objects.create(
        user=user,
        message=message,
        kind=Kind.GROUP_UPDATE,
        group=group,
        at=now,
        decision=decision,
        reason=REASONS.get(decision, Reason.WITHIN_BUDGET),
        release_at=now + timedelta(hours=8) if decision == Decision.HELD else None,
    )


def page_for(cast: Cast, key: str) -> str:
    response = cast.client_for(key).get(LEDGER)
    assert response.status_code == 200
    return response.content.decode()


def consent_state() -> tuple[object, ...]:
    return (
        list(ConsentEvent.objects.order_by("pk").values_list("pk", "given")),
        AuditEntry.objects.filter(action__startswith="privacy.").count(),
    )


@pytest.fixture
def history(cast: Cast) -> dict[str, ContactGrant]:
    """Something in every section for the volunteer, and for the volunteer of group B."""
    volunteer, other = cast.users["volunteer"], cast.users["volunteer_other"]
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    grants = {
        "kept": said_yes(cast, "volunteer", "group_a", "Leaflet the estate"),
        "stopped": said_yes(cast, "volunteer", "group_a", "Count the votes"),
        "other": said_yes(cast, "volunteer_other", "group_b", "Cardiff canvass"),
    }
    from handsup.needs.answers import do_revoke_grant

    do_revoke_grant(grant=grants["stopped"], actor=volunteer)
    declined = invite(make_need(cast, "group_a", "Staff the stall"), volunteer)
    do_decline(invitation=declined, actor=volunteer, reason="not_now")
    invite(make_need(cast, "group_b", "Welsh translation"), other)
    log_access(
        actor=cast.users["organiser_a"],
        subjects=[volunteer],
        purpose="shortlist",
        fields=["skills", "distance_band"],
        group=group_a,
    )
    log_access(
        actor=cast.users["organiser_b"],
        subjects=[other],
        purpose="member_profile",
        fields=["full_name", "talents"],
        group=group_b,
    )
    message_decision(volunteer, group_a, Decision.SENT, "Summer fair news")
    message_decision(volunteer, group_a, Decision.SUPPRESSED, "Second update this week")
    message_decision(other, group_b, Decision.SENT, "Cardiff news")
    Departure.objects.create(
        user=volunteer,
        group=cast.groups["north_west"],
        retain_until=timezone.localdate() + timedelta(days=40),
    )
    return grants


# --- Who may see the page ------------------------------------------------------------------


def test_anonymous_people_are_asked_to_sign_in(cast):
    response = cast.client_for("anonymous").get(LEDGER)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    response = cast.client_for("anonymous").post(WITHDRAW, {"purpose": "found_movement"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_someone_with_nothing_yet_sees_clear_empty_states(cast):
    page = page_for(cast, "volunteer_no_consent")
    assert "No group has seen your details yet." in page
    assert "No group has asked you about a need yet" in page
    assert "No group can see your contact details now." in page
    assert "We haven't sent you anything" in page
    assert "You haven't given or withdrawn any consent yet." in page
    assert cast.groups["group_a"].name in page  # their one group


# --- Each section --------------------------------------------------------------------------


def test_who_has_seen_you_names_the_group_and_why_never_the_reader(cast, history):
    page = page_for(cast, "volunteer")
    assert "Had you on a shortlist for a need" in page
    assert "Skills, roughly how far away you are" in page
    assert cast.groups["group_a"].name in page
    # The organiser who looked is never named; the other volunteer's log is not here.
    assert cast.marker("organiser_a") not in page
    assert "Looked at your member profile" not in page


def test_the_access_log_is_capped_with_the_total(cast):
    volunteer, now = cast.users["volunteer"], timezone.now()
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            actor=cast.users["organiser_a"],
            subject=volunteer,
            purpose="member_list",
            fields=["full_name"],
            group=cast.groups["group_a"],
            at=now - timedelta(hours=n),
        )
        for n in range(LATEST + 5)
    )
    page = page_for(cast, "volunteer")
    assert f"Showing the latest {LATEST} of {LATEST + 5} records." in page
    assert page.count("Looked at the group&#x27;s list of members") == LATEST


def test_one_read_by_each_organiser_is_one_row(cast):
    """Saying yes emails the volunteer's details to each of the group's organisers."""
    said_yes(cast, "volunteer", "group_a", "Leaflet the estate")
    organisers = AccessLogEntry.objects.filter(
        subject=cast.users["volunteer"], purpose="introduction"
    ).count()
    assert organisers == 3  # organiser A, admin A, and the organiser without MFA
    page = page_for(cast, "volunteer")
    assert page.count("Were sent your details by email") == 1
    assert "(3 times)" in page


def test_an_unknown_access_purpose_is_still_shown_readably(cast):
    log_access(
        actor=cast.users["organiser_a"],
        subjects=[cast.users["volunteer"]],
        purpose="phone_bank_call",
        fields=["phone", "call_outcome"],
        group=cast.groups["group_a"],
    )
    page = page_for(cast, "volunteer")
    assert "Phone bank call" in page and "Phone number, call outcome" in page


def test_asks_and_answers_are_your_own(cast, history):
    page = page_for(cast, "volunteer")
    assert "Leaflet the estate" in page and "Staff the stall" in page
    assert "You said yes" in page
    assert "You said no (Not now)" in page
    assert "Welsh translation" not in page and "Cardiff canvass" not in page


def test_who_holds_your_details_lists_current_grants_only(cast, history):
    page = page_for(cast, "volunteer")
    holders = page.split('id="holders"')[1].split('id="messages"')[0]
    kept = history["kept"]
    assert "Leaflet the estate" in holders
    assert "Count the votes" not in holders  # stopped: nobody holds them now
    assert "Cardiff canvass" not in holders
    assert holders.count("Stop sharing") == 1
    assert reverse("needs:revoke_grant", args=[kept.invitation.public_id]) in holders
    assert kept.expires_at.strftime("%-d %b %Y") in holders


def test_an_expired_grant_is_not_held_any_more(cast, history):
    now = timezone.now()
    ContactGrant.objects.filter(pk=history["kept"].pk).update(
        created_at=now - timedelta(days=60), expires_at=now - timedelta(minutes=1)
    )
    assert "No group can see your contact details now." in page_for(cast, "volunteer")


def test_what_we_sent_counts_your_messages_and_links_to_them(cast, history):
    page = page_for(cast, "volunteer")
    section = page.split('id="messages"')[1].split('id="consents"')[0]
    volunteer = cast.users["volunteer"]
    total = LedgerEntry.objects.filter(user=volunteer).count()
    suppressed = LedgerEntry.objects.filter(user=volunteer, decision=Decision.SUPPRESSED).count()
    assert f"the {total} messages meant for you" in section
    assert f'<td>Not sent</td><td class="numeric">{suppressed}</td>' in section
    assert "Second update this week" in section
    assert "Cardiff news" not in section
    assert reverse("messaging:mine") in section


def test_consents_show_the_current_state_and_every_change(cast):
    volunteer = cast.users["volunteer"]
    page = page_for(cast, "volunteer")
    events = ConsentEvent.objects.filter(user=volunteer)
    assert events.count() == 3  # found_movement, and group A's email and contact sharing
    assert page.count('action="' + WITHDRAW + '"') == 3
    assert "Version 1" in page and "On the website" in page
    # Another person's consents are not here.
    assert page_for(cast, "volunteer_no_consent").count('action="' + WITHDRAW + '"') == 0


def test_groups_show_role_joined_and_retention(cast, history):
    group_a = cast.groups["group_a"]
    Group.objects.filter(pk=group_a.pk).update(retention_months=3)
    page = page_for(cast, "volunteer")
    section = page.split('id="groups"')[1].split('id="your-rights"')[0]
    assert group_a.name in section and "Member" in section
    assert "It deletes your details within 3 months." in section
    assert "You left North West Region" in section
    assert cast.groups["group_b"].name not in section


def test_the_page_links_download_and_delete(cast):
    page = page_for(cast, "volunteer")
    assert f'href="{reverse("privacy:export")}"' in page
    assert f'href="{reverse("privacy:delete_account")}"' in page


def test_another_volunteers_data_never_appears(cast, history):
    page = page_for(cast, "volunteer_other")
    for volunteers_own in ("Leaflet the estate", "Staff the stall", "Summer fair news"):
        assert volunteers_own not in page
    assert "Had you on a shortlist" not in page
    assert cast.marker("volunteer") not in page
    assert "Cardiff canvass" in page and "Looked at your member profile" in page


def test_the_me_page_links_here(cast):
    page = cast.client_for("volunteer").get(reverse("me")).content.decode()
    assert f'href="{LEDGER}"' in page


# --- Query count ---------------------------------------------------------------------------


def test_the_page_reads_in_a_fixed_number_of_queries(cast, history, django_assert_num_queries):
    client = cast.client_for("volunteer")
    client.get(LEDGER)  # warm the session

    # Session, user (with the roles the MFA check reads); then the access log, asks,
    # current grants, message counts, latest messages, consents, memberships, groups left.
    def pinned() -> None:
        with django_assert_num_queries(10):
            assert client.get(LEDGER).status_code == 200

    pinned()
    # Ten times the history costs no more queries.
    volunteer = cast.users["volunteer"]
    for n in range(10):
        said_yes(cast, "volunteer", "group_a", f"More help {n}")
        message_decision(volunteer, cast.groups["group_a"], Decision.FOLDED, f"Folded {n}")
        log_access(
            actor=cast.users["organiser_a"],
            subjects=[volunteer],
            purpose="introduction_details",
            fields=["full_name", "email"],
            group=cast.groups["group_a"],
        )
    pinned()


# --- Stopping sharing ----------------------------------------------------------------------


def people_page(cast: Cast, need: Need) -> str:
    url = reverse("needs:people", args=[need.group.public_id, need.public_id])
    response = cast.client_for("organiser_a").get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_stop_sharing_from_the_ledger_hides_your_details_at_once(cast, history):
    kept, volunteer = history["kept"], cast.users["volunteer"]
    assert volunteer.email in people_page(cast, kept.need)
    client = cast.client_for("volunteer")
    response = client.post(
        reverse("needs:revoke_grant", args=[kept.invitation.public_id]),
        {"back": "ledger"},
        follow=True,
    )
    assert response.status_code == 200
    # Back on the ledger, told what happened.
    assert response.redirect_chain[-1][0] == reverse("privacy:ledger")
    assert "can no longer see your details" in response.content.decode()
    kept.refresh_from_db()
    assert kept.revoked_at is not None
    after = people_page(cast, kept.need)
    assert volunteer.email not in after and cast.marker("volunteer") not in after
    assert "No group can see your contact details now." in page_for(cast, "volunteer")


def test_stopping_someone_elses_or_a_made_up_grant_is_not_found(cast, history):
    before = list(ContactGrant.objects.order_by("pk").values_list("pk", "revoked_at"))
    client = cast.client_for("volunteer")
    for invitation_id in (history["other"].invitation.public_id, "made-up-id"):
        response = client.post(reverse("needs:revoke_grant", args=[invitation_id]))
        assert response.status_code == 404
    assert list(ContactGrant.objects.order_by("pk").values_list("pk", "revoked_at")) == before


# --- Withdrawing a consent -----------------------------------------------------------------


def test_withdrawing_a_consent_records_a_new_event_and_shows_its_history(cast):
    volunteer, group_a = cast.users["volunteer"], cast.groups["group_a"]
    client = cast.client_for("volunteer")
    response = client.post(
        WITHDRAW, {"purpose": "group_email", "group": group_a.public_id, "channel": ""}
    )
    assert response.status_code == 302 and response["Location"] == LEDGER
    latest = ConsentEvent.objects.filter(user=volunteer, purpose__code="group_email").latest("pk")
    assert (latest.given, latest.source, latest.recorded_by, latest.group) == (
        False,
        "web",
        volunteer,
        group_a,
    )
    page = client.get(LEDGER).content.decode()
    assert "You&#x27;ve withdrawn" in page or "You’ve withdrawn" in page
    assert page.count('action="' + WITHDRAW + '"') == 2
    history = page.split("Every change")[1]
    assert history.count("<td>Withdrawn</td>") == 1 and history.count("<td>Given</td>") == 3


def test_withdrawing_a_movement_wide_consent(cast):
    volunteer = cast.users["volunteer"]
    cast.client_for("volunteer").post(WITHDRAW, {"purpose": "found_movement"})
    latest = ConsentEvent.objects.filter(user=volunteer, purpose__code="found_movement").latest(
        "pk"
    )
    assert latest.given is False and latest.group is None


def test_withdrawing_again_changes_nothing(cast):
    client = cast.client_for("volunteer")
    client.post(WITHDRAW, {"purpose": "found_movement"})
    before = consent_state()
    response = client.post(WITHDRAW, {"purpose": "found_movement"}, follow=True)
    assert "You had already withdrawn" in response.content.decode()
    assert consent_state() == before


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("volunteer", {"purpose": "no_such_purpose"}),
        ("volunteer", {"purpose": "group_email"}),  # group email is given to a group
        ("volunteer", {"purpose": "group_email", "group": "made-up"}),
        ("volunteer", {"purpose": "found_movement", "channel": "pigeon"}),
        ("volunteer", {"purpose": "found_movement", "channel": "email"}),
        ("volunteer", {"purpose": "not a slug!"}),
        ("volunteer", {}),
        ("volunteer_no_consent", {"purpose": "found_movement"}),
    ],
    ids=str,
)
def test_a_consent_that_is_not_yours_is_not_found(cast, key, data):
    before = consent_state()
    response = cast.client_for(key).post(WITHDRAW, data)
    assert response.status_code == 404
    assert consent_state() == before


def test_another_groups_consent_is_not_found(cast):
    """Group B's email consent is volunteer_other's, not the volunteer's."""
    before = consent_state()
    response = cast.client_for("volunteer").post(
        WITHDRAW, {"purpose": "group_email", "group": cast.groups["group_b"].public_id}
    )
    assert response.status_code == 404
    assert consent_state() == before


def test_withdrawing_needs_a_post(cast):
    before = consent_state()
    assert cast.client_for("volunteer").get(WITHDRAW).status_code == 405
    assert consent_state() == before
