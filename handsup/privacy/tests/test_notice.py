"""A new privacy notice that needs fresh consent: who is asked, what agreeing and not
agreeing record, where the person goes next, and what the check costs other pages."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from handsup.groups.models import Membership
from handsup.privacy.consent import current_consents, has_consent
from handsup.privacy.models import AuditEntry, ConsentEvent, PrivacyNotice
from handsup.privacy.notice import SESSION_KEY, do_publish_notice
from handsup.privacy.register import PurposeCode
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

NOTICE = reverse("privacy:notice")
ME = reverse("me")
GOING_TO = "/needs/?distance=10"


def publish(cast: Cast, *, fresh: bool) -> PrivacyNotice:
    return do_publish_notice(
        actor=cast.users["platform_admin"],
        text="Hands Up privacy notice, rewritten.",
        needs_fresh_consent=fresh,
    )


def given_versions(user) -> set[int]:
    return {event.notice_version.version for event in current_consents(user) if event.given}


def test_nobody_is_asked_without_a_notice_needing_fresh_consent(cast):
    assert cast.client_for("volunteer").get(ME).status_code == 200
    publish(cast, fresh=False)
    assert cast.client_for("volunteer").get(ME).status_code == 200


def test_someone_holding_consents_is_sent_to_the_notice_with_where_they_were_going(cast):
    publish(cast, fresh=True)
    response = cast.client_for("volunteer").get(GOING_TO)
    assert response.status_code == 302
    assert response["Location"] == f"{NOTICE}?next={quote(GOING_TO, safe='')}"


def test_someone_with_no_consents_is_never_asked(cast):
    publish(cast, fresh=True)
    assert not [e for e in current_consents(cast.users["volunteer_no_consent"]) if e.given]
    assert cast.client_for("volunteer_no_consent").get(ME).status_code == 200


def test_the_notice_page_shows_the_new_notice_and_each_consent(cast):
    notice = publish(cast, fresh=True)
    page = cast.client_for("volunteer").get(f"{NOTICE}?next={quote(GOING_TO)}").content.decode()
    assert f"version {notice.version}" in page
    assert "rewritten" in page
    for event in current_consents(cast.users["volunteer"]):
        assert event.purpose.text.replace("'", "&#x27;") in page
    assert f'name="next" value="{GOING_TO}"' in page


def test_agreeing_records_each_consent_under_the_new_version(cast):
    volunteer = cast.users["volunteer"]
    before = [(e.purpose_id, e.group_id, e.channel) for e in current_consents(volunteer)]
    notice = publish(cast, fresh=True)
    client = cast.client_for("volunteer")
    response = client.post(NOTICE, {"answer": "agree", "next": GOING_TO})
    assert response.status_code == 302 and response["Location"] == GOING_TO
    after = current_consents(volunteer)
    assert [(e.purpose_id, e.group_id, e.channel) for e in after] == before
    assert all(e.given and e.notice_version == notice for e in after)
    assert {e.source for e in after} == {ConsentEvent.Source.WEB}
    assert all(e.recorded_by == volunteer and e.wording == e.purpose.text for e in after)
    # Not asked twice: not on the next page, nor once the session's answer is due again.
    assert client.get(ME).status_code == 200
    session = client.session
    del session[SESSION_KEY]
    session.save()
    assert client.get(ME).status_code == 200


def test_not_agreeing_withdraws_them_and_keeps_the_account_and_groups(cast):
    volunteer = cast.users["volunteer"]
    memberships = Membership.objects.filter(user=volunteer).count()
    publish(cast, fresh=True)
    client = cast.client_for("volunteer")
    response = client.post(NOTICE, {"answer": "disagree", "next": GOING_TO})
    assert response.status_code == 302 and response["Location"] == GOING_TO
    assert not [e for e in current_consents(volunteer) if e.given]
    assert not has_consent(volunteer, PurposeCode.FOUND_MOVEMENT)
    assert Membership.objects.filter(user=volunteer).count() == memberships
    withdrawn = AuditEntry.objects.filter(action="privacy.consent_withdrawn", actor=volunteer)
    assert withdrawn.count() == len(current_consents(volunteer))
    session = client.session
    del session[SESSION_KEY]
    session.save()
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_an_unsafe_next_is_ignored(cast, unsafe):
    publish(cast, fresh=True)
    client = cast.client_for("volunteer")
    page = client.get(f"{NOTICE}?next={quote(unsafe, safe='')}").content.decode()
    assert "evil" not in page and "javascript" not in page
    response = client.post(NOTICE, {"answer": "agree", "next": unsafe})
    assert response["Location"] == ME


def test_a_newer_minor_version_does_not_excuse_the_unanswered(cast):
    publish(cast, fresh=True)
    publish(cast, fresh=False)
    assert cast.client_for("volunteer").get(ME).status_code == 302
    # But consents recorded under the fresh-consent version are not asked about again.
    client = cast.client_for("organiser_a")
    client.post(NOTICE, {"answer": "agree"})
    publish(cast, fresh=False)
    assert cast.client_for("organiser_a").get(ME).status_code == 200


@pytest.mark.parametrize(
    "path", [NOTICE, "/accounts/email/", "/api/v1/health", "/unsubscribe/not-a-token/"]
)
def test_some_pages_never_ask(cast, path):
    publish(cast, fresh=True)
    response = cast.client_for("volunteer").get(path)
    assert not response.get("Location", "").startswith(NOTICE)


def test_forms_being_sent_and_htmx_fragments_are_not_redirected(cast):
    publish(cast, fresh=True)
    client = cast.client_for("volunteer")
    response = client.post(
        reverse("privacy:withdraw_consent"), {"purpose": PurposeCode.FOUND_MOVEMENT}
    )
    assert response["Location"] == reverse("privacy:ledger")
    assert client.get(ME, headers={"HX-Request": "true"}).status_code == 200


def test_a_signed_in_person_is_asked_once_their_sessions_answer_is_due(cast):
    client = cast.client_for("volunteer")
    assert client.get(ME).status_code == 200  # remembered: nothing to ask
    publish(cast, fresh=True)
    assert client.get(ME).status_code == 200  # within RECHECK_SECONDS
    session = client.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "at": 0}
    session.save()
    assert client.get(ME).status_code == 302


def test_publishing_is_audited(cast):
    notice = publish(cast, fresh=True)
    entry = AuditEntry.objects.get(action="privacy.notice_published")
    assert entry.actor == cast.users["platform_admin"]
    assert entry.details == {"version": notice.version, "needs_fresh_consent": True}
    assert PrivacyNotice.objects.current() == notice


def test_a_platform_admin_publishes_through_the_admin(cast):
    client = cast.client_for("platform_admin")
    newest = PrivacyNotice.objects.order_by("-version").first()
    assert newest is not None
    response = client.post(
        "/admin/privacy/privacynotice/add/",
        {
            "version": newest.version + 1,
            "text": "A new notice.",
            "published_at_0": "2020-01-01",
            "published_at_1": "00:00:00",
            "needs_fresh_consent": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert cast.client_for("volunteer").get(ME).status_code == 302
    published = AuditEntry.objects.filter(action="privacy.notice_published").latest("at")
    assert published.actor == cast.users["platform_admin"]
    assert published.details == {"version": newest.version + 1, "needs_fresh_consent": True}


# --- What it costs ------------------------------------------------------------------------


def test_an_ordinary_page_costs_no_extra_query(cast, django_assert_num_queries):
    # The same page and count as core's test_your_hands_up_page_lists_groups_in_a_fixed_
    # number_of_queries: the answer is in the session, so the check adds nothing.
    client = cast.client_for("organiser_a")
    client.get(ME)  # warm the session
    with django_assert_num_queries(6):
        assert client.get(ME).status_code == 200


def test_signing_in_works_out_the_answer_so_the_first_page_pays_nothing(cast):
    publish(cast, fresh=True)
    assert cast.client_for("volunteer").session[SESSION_KEY]["ask"] is True
    assert cast.client_for("volunteer_no_consent").session[SESSION_KEY]["ask"] is False


def test_when_the_answer_is_due_again_it_costs_one_query(cast, django_assert_num_queries):
    client = cast.client_for("organiser_a")
    client.get(ME)
    session = client.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "at": 0}
    session.save()
    # The six of the page, the newest notice needing fresh consent (none), and saving
    # the session's new answer (an update inside a savepoint: three statements).
    with django_assert_num_queries(10):
        assert client.get(ME).status_code == 200
