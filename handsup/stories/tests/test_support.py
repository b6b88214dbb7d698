"""Support from the centre: a story's group asks, curators decide once (a decline says
why), the requester is told and the group sees the answer; everyone else gets 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from handsup.messaging.models import Kind, Message
from handsup.privacy.models import AuditEntry
from handsup.stories.models import Story, SupportRequest
from handsup.stories.support import SupportRefused, do_decide_support

pytestmark = pytest.mark.django_db


def make_story(cast: Any, group: str | None = "group_a", **kw: Any) -> Story:
    fields: dict[str, Any] = {
        "author": cast.users["volunteer"],
        "group": cast.groups[group] if group else None,
        "title": "The Levenshulme food bank doubled its hours",
        "body": "Volunteers from three streets took turns.",
        "happened_on": timezone.localdate() - timedelta(days=10),
        "status": Story.Status.PUBLISHED,
        "published_at": timezone.now(),
    }
    fields.update(kw)
    return Story.objects.create(**fields)


def ask_url(story: Story) -> str:
    return reverse("stories:support_new", kwargs={"public_id": story.public_id})


def status_url(request: SupportRequest) -> str:
    return reverse("stories:support_status", kwargs={"public_id": request.public_id})


def decide_url(request: SupportRequest) -> str:
    return reverse("stories:support_decide", kwargs={"public_id": request.public_id})


ASK = {
    "kind": "equipment",
    "what": "A portable PA system",
    "how_much": "£250",
    "why": "So the whole street can hear the meetings outdoors.",
}


def notices_to(user: Any) -> list[Message]:
    return list(Message.objects.filter(kind=Kind.SERVICE, ledger__user=user).order_by("pk"))


def snapshot() -> tuple[object, ...]:
    return (
        list(SupportRequest.objects.order_by("pk").values()),
        Message.objects.count(),
        AuditEntry.objects.filter(action__startswith="stories.support").count(),
    )


# --- Asking ----------------------------------------------------------------------------------


def test_full_cycle_ask_approve_tell_and_see(cast):
    story = make_story(cast)
    organiser, curator = cast.client_for("organiser_a"), cast.client_for("curator")

    assert organiser.get(ask_url(story)).status_code == 200
    response = organiser.post(ask_url(story), ASK)

    request = SupportRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == status_url(request)
    assert (request.story, request.group, request.requested_by) == (
        story,
        cast.groups["group_a"],
        cast.users["organiser_a"],
    )
    assert (request.kind, request.what, request.how_much, request.status) == (
        "equipment",
        "A portable PA system",
        "£250",
        SupportRequest.Status.PENDING,
    )
    assert AuditEntry.objects.filter(action="stories.support_requested").count() == 1
    page = organiser.get(status_url(request)).content.decode()
    assert "Waiting for a decision" in page
    assert 'name="decision"' not in page  # organisers don't decide

    # The curator sees it in the queue and decides.
    queue = curator.get(reverse("stories:support_queue"))
    assert queue.status_code == 200
    assert "A portable PA system" in queue.content.decode()
    assert 'name="decision"' in curator.get(status_url(request)).content.decode()
    response = curator.post(decide_url(request), {"decision": "approve", "note": "Enjoy it."})
    assert response.status_code == 302

    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (
        SupportRequest.Status.APPROVED,
        cast.users["curator"],
        "Enjoy it.",
    )
    assert request.decided_at is not None
    audit = AuditEntry.objects.get(action="stories.support_decided")
    assert (audit.actor_id, audit.group_id) == (cast.users["curator"].pk, cast.groups["group_a"].pk)
    # The requester is told, by service message.
    told = notices_to(cast.users["organiser_a"])
    assert [m.subject for m in told] == ["Your support request was approved"]
    assert "Enjoy it." in told[0].body_markdown
    # The group's organisers see the status and the note.
    for who in ("organiser_a", "admin_a"):
        page = cast.client_for(who).get(status_url(request)).content.decode()
        assert "Approved" in page and "Enjoy it." in page


def test_a_decline_needs_a_note_and_then_tells_why(cast):
    story = make_story(cast)
    cast.client_for("admin_a").post(ask_url(story), ASK)
    request = SupportRequest.objects.get()
    curator = cast.client_for("curator")
    before = snapshot()

    response = curator.post(decide_url(request), {"decision": "decline", "note": "  "})

    assert response.status_code == 400
    assert "Say why the request is declined." in response.content.decode()
    assert snapshot() == before

    curator.post(decide_url(request), {"decision": "decline", "note": "The budget is spent."})
    request.refresh_from_db()
    assert (request.status, request.decision_note) == ("declined", "The budget is spent.")
    told = notices_to(cast.users["admin_a"])
    assert [m.subject for m in told] == ["Your support request was declined"]
    assert "The budget is spent." in told[0].body_markdown
    page = cast.client_for("organiser_a").get(status_url(request)).content.decode()
    assert "Declined" in page and "The budget is spent." in page


def test_deciding_twice_changes_nothing(cast):
    story = make_story(cast)
    cast.client_for("organiser_a").post(ask_url(story), ASK)
    request = SupportRequest.objects.get()
    curator = cast.client_for("curator")
    curator.post(decide_url(request), {"decision": "approve", "note": ""})
    before = snapshot()

    response = curator.post(
        decide_url(request), {"decision": "decline", "note": "Changed my mind"}, follow=True
    )

    assert "This request was already approved; nothing was changed." in response.content.decode()
    assert snapshot() == before


def test_the_action_refuses_a_second_decision_too(cast):
    story = make_story(cast)
    request = SupportRequest.objects.create(
        story=story, group=cast.groups["group_a"], requested_by=cast.users["organiser_a"], **ASK
    )
    do_decide_support(actor=cast.users["curator"], request=request, approve=True, note="")
    with pytest.raises(SupportRefused):
        do_decide_support(actor=cast.users["curator"], request=request, approve=False, note="no")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "yacht"}, "Choose one of the kinds of support listed."),
        ({"what": "  "}, "Say what you are asking for."),
        ({"how_much": ""}, "Say how much."),
        ({"why": ""}, "Say why it would help."),
        ({"what": "x" * 301}, "at most 300 characters"),
    ],
)
def test_bad_requests_get_a_message_and_write_nothing(cast, changes, message):
    story = make_story(cast)
    before = snapshot()
    response = cast.client_for("organiser_a").post(ask_url(story), {**ASK, **changes})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before


def test_an_unknown_decision_is_refused(cast):
    story = make_story(cast)
    cast.client_for("organiser_a").post(ask_url(story), ASK)
    request = SupportRequest.objects.get()
    before = snapshot()
    response = cast.client_for("curator").post(decide_url(request), {"decision": "maybe"})
    assert response.status_code == 400
    assert "Choose approve or decline." in response.content.decode()
    assert snapshot() == before


# --- Who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["volunteer", "organiser_b", "curator", "admin_parent", "dpo"])
def test_only_the_storys_groups_organisers_may_ask(cast, who):
    story = make_story(cast)
    client = cast.client_for(who)
    assert client.get(ask_url(story)).status_code == 404
    assert client.post(ask_url(story), ASK).status_code == 404
    assert not SupportRequest.objects.exists()


def test_a_story_without_a_group_cannot_ask(cast):
    story = make_story(cast, group=None)
    assert cast.client_for("organiser_a").get(ask_url(story)).status_code == 404


def test_a_rejected_story_cannot_ask(cast):
    story = make_story(cast, status=Story.Status.REJECTED, published_at=None)
    assert cast.client_for("organiser_a").get(ask_url(story)).status_code == 404


@pytest.mark.parametrize("who", ["volunteer", "organiser_b", "admin_parent", "dpo"])
def test_others_cannot_see_a_request(cast, who):
    story = make_story(cast)
    cast.client_for("organiser_a").post(ask_url(story), ASK)
    request = SupportRequest.objects.get()
    assert cast.client_for(who).get(status_url(request)).status_code == 404


@pytest.mark.parametrize("who", ["volunteer", "organiser_a", "organiser_b", "dpo"])
def test_only_curators_see_the_queue_and_decide(cast, who):
    story = make_story(cast)
    cast.client_for("organiser_a").post(ask_url(story), ASK)
    request = SupportRequest.objects.get()
    before = snapshot()
    client = cast.client_for(who)
    assert client.get(reverse("stories:support_queue")).status_code == 403
    assert client.post(decide_url(request), {"decision": "approve"}).status_code == 403
    assert snapshot() == before


def test_anonymous_is_sent_to_sign_in(cast):
    story = make_story(cast)
    client = cast.client_for("anonymous")
    for url in (ask_url(story), reverse("stories:support_queue")):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


def test_an_unknown_request_is_404_even_for_a_curator(cast):
    client = cast.client_for("curator")
    assert client.get("/stories/support/nosuchthing/").status_code == 404
    assert client.post("/curate/support/nosuchthing/decide/", {}).status_code == 404


def test_the_queue_lists_pending_first_in_a_fixed_number_of_queries(
    cast, django_assert_num_queries
):
    story = make_story(cast)
    group = cast.groups["group_a"]
    requester = cast.users["organiser_a"]
    decided = SupportRequest.objects.create(
        story=story,
        group=group,
        requested_by=requester,
        **{**ASK, "what": "Decided thing"},
    )
    do_decide_support(actor=cast.users["curator"], request=decided, approve=True, note="")
    for n in range(3):
        SupportRequest.objects.create(
            story=story, group=group, requested_by=requester, **{**ASK, "what": f"Pending {n}"}
        )
    client = cast.client_for("curator")
    client.get(reverse("stories:support_queue"))  # warm the session and roles
    with django_assert_num_queries(5):
        response = client.get(reverse("stories:support_queue"))
    whats = [r.what for r in response.context["requests"]]
    assert whats == ["Pending 0", "Pending 1", "Pending 2", "Decided thing"]
    assert response.context["pending"] == 3


def test_the_story_page_offers_support_to_the_groups_organisers_only(cast):
    story = make_story(cast)
    url = reverse("stories:story", args=[story.public_id])
    link = ask_url(story)
    assert link in cast.client_for("organiser_a").get(url).content.decode()
    for who in ("anonymous", "volunteer", "organiser_b", "curator"):
        assert link not in cast.client_for(who).get(url).content.decode()
