"""Help to tell a story: a need opened from it through the normal needs flow, the
helpers counted and (only with their say-so) named, the link to the result, and every
refusal leaving nothing behind."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.models import Kind, Message
from handsup.needs.actions import do_publish_need
from handsup.needs.answers import do_accept, do_withdraw_acceptance
from handsup.needs.asks import do_invite
from handsup.needs.models import ALL_WEEKLY_SLOTS, Invitation, Need
from handsup.people.models import Person, PersonSkill, Skill
from handsup.privacy.models import AuditEntry
from handsup.stories.help import story_help_context
from handsup.stories.models import Story, StoryCredit, StoryHelpNeed

pytestmark = pytest.mark.django_db


def in_days(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


def noon() -> datetime:
    """Midday today: outside everyone's default quiet hours, so an ask goes now."""
    day = timezone.localdate()
    return timezone.make_aware(datetime(day.year, day.month, day.day, 12))


def make_story(cast: Any, author: str = "organiser_a", group: str | None = "group_a", **kw: Any):
    fields: dict[str, Any] = {
        "author": cast.users[author],
        "group": cast.groups[group] if group else None,
        "title": "Tenants won repairs on Ancoats Street",
        "body": "Forty households organised and the landlord fixed the damp.",
        "happened_on": in_days(-20),
        "status": Story.Status.PUBLISHED,
        "published_at": timezone.now(),
    }
    fields.update(kw)
    return Story.objects.create(**fields)


def help_url(story: Story, step: str = "") -> str:
    name = {"": "help_need", "credit": "help_credit", "result": "help_result"}[step]
    return reverse(f"stories:{name}", kwargs={"public_id": story.public_id})


def form(group: Group, **changes: Any) -> dict[str, str]:
    data = {
        "kind": "video",
        "people_needed": "2",
        "hours": "4",
        "closes_on": in_days(28).isoformat(),
        "words": "Cut our phone footage into a two-minute video.",
        "group": group.public_id,
    }
    data.update(changes)
    return data


def written() -> tuple[int, int, int]:
    return (
        Need.objects.count(),
        StoryHelpNeed.objects.count(),
        AuditEntry.objects.filter(action="stories.help_need_opened").count(),
    )


def give_skill(user: User, slug: str) -> None:
    """The volunteer can edit video, remotely, and is free at some time every week."""
    person = Person.objects.get(user=user)
    PersonSkill.objects.create(
        person=person, skill=Skill.objects.get(slug=slug), level=3, remote=True
    )


# --- Opening a need ------------------------------------------------------------------------


def test_the_form_offers_the_groups_the_author_organises(cast):
    story = make_story(cast)
    response = cast.client_for("organiser_a").get(help_url(story))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Help tell this story" in page
    assert cast.groups["group_a"].name in page
    assert cast.groups["national"].name not in page  # not a curator
    assert in_days(28).isoformat() in page  # closing in four weeks unless changed


def test_end_to_end_a_help_need_is_filled_and_the_story_counts_and_credits(cast):
    organiser, volunteer = cast.users["organiser_a"], cast.users["volunteer"]
    story = make_story(cast)
    client = cast.client_for("organiser_a")

    response = client.post(help_url(story), form(cast.groups["group_a"]))

    help_need = StoryHelpNeed.objects.get(story=story)
    need = help_need.need
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "needs:edit",
        kwargs={"public_id": cast.groups["group_a"].public_id, "need_id": need.public_id},
    )
    assert (help_need.kind, help_need.opened_by) == ("video", organiser)
    assert (need.group, need.status, need.location_kind, need.schedule_kind) == (
        cast.groups["group_a"],
        Need.Status.DRAFT,
        Need.LocationKind.REMOTE,
        Need.ScheduleKind.ONGOING,
    )
    assert (need.weekly_slots, need.people_needed, need.closes_on) == (
        ALL_WEEKLY_SLOTS,
        2,
        in_days(28),
    )
    assert [(s.skill.slug, s.min_level, s.required) for s in need.skills.all()] == [
        ("video-editing", 2, True)
    ]
    assert story.title in need.description
    assert f"/stories/{story.public_id}/" in need.description
    assert "video editing" in need.description
    assert "two-minute video" in need.description
    audit = AuditEntry.objects.get(action="stories.help_need_opened")
    assert (audit.actor_id, audit.group_id) == (organiser.pk, cast.groups["group_a"].pk)

    # Nobody has helped yet: the open need is listed for readers to offer themselves.
    do_publish_need(actor=organiser, need=need)
    context = story_help_context(story, AnonymousUser())
    assert context["help_count"] == 0
    assert context["help_open_needs"] == [
        {
            "title": need.title,
            "kind": "Video editing",
            "places_left": 2,
            "url": reverse("needs:page", kwargs={"public_id": need.public_id}),
        }
    ]

    # The normal flow: the organiser asks the volunteer from the shortlist, she says yes.
    give_skill(volunteer, "video-editing")
    result = do_invite(actor=organiser, need=need, user_ids=[volunteer.pk], now=noon())
    assert (result.asked, result.sent, sum(result.refused.values())) == (1, 1, 0)
    invitation = Invitation.objects.get(need=need, user=volunteer)
    do_accept(invitation=invitation, actor=volunteer, share_phone=False)

    # Counted, not named, for anyone reading: anonymous, another volunteer, the organiser.
    marker = cast.marker("volunteer")
    for reader in (AnonymousUser(), cast.users["volunteer_other"], organiser):
        context = story_help_context(story, reader)
        assert context["help_count"] == 1
        assert context["help_credited_names"] == []
        assert marker not in str(context)
    page = cast.client_for("anonymous").get(reverse("stories:story", args=[story.public_id]))
    assert page.status_code == 200
    assert "Told with help from 1 volunteer" in page.content.decode()
    assert marker not in page.content.decode()

    # The helper is offered the choice, and chooses to be named.
    assert story_help_context(story, volunteer)["help_is_helper"] is True
    helper = cast.client_for("volunteer")
    response = helper.post(help_url(story, "credit"), {"credit": "on"})
    assert response.status_code == 302
    assert StoryCredit.objects.filter(story=story, user=volunteer).exists()
    context = story_help_context(story, AnonymousUser())
    assert context["help_count"] == 1
    assert context["help_credited_names"] == [volunteer.full_name]
    page = cast.client_for("anonymous").get(reverse("stories:story", args=[story.public_id]))
    assert marker in page.content.decode()
    assert AuditEntry.objects.filter(action="stories.credit_given", actor=volunteer).count() == 1

    # And can stop being named; still counted.
    helper.post(help_url(story, "credit"), {"credit": "off"})
    context = story_help_context(story, AnonymousUser())
    assert (context["help_count"], context["help_credited_names"]) == (1, [])
    assert AuditEntry.objects.filter(action="stories.credit_withdrawn").count() == 1


def test_a_helper_who_withdrew_is_neither_counted_nor_named(cast):
    organiser, volunteer = cast.users["organiser_a"], cast.users["volunteer"]
    story = make_story(cast)
    cast.client_for("organiser_a").post(help_url(story), form(cast.groups["group_a"]))
    need = StoryHelpNeed.objects.get(story=story).need
    do_publish_need(actor=organiser, need=need)
    give_skill(volunteer, "video-editing")
    do_invite(actor=organiser, need=need, user_ids=[volunteer.pk], now=noon())
    invitation = Invitation.objects.get(need=need, user=volunteer)
    do_accept(invitation=invitation, actor=volunteer, share_phone=False)
    StoryCredit.objects.create(story=story, user=volunteer)

    do_withdraw_acceptance(invitation=invitation, actor=volunteer)

    context = story_help_context(story, AnonymousUser())
    assert (context["help_count"], context["help_credited_names"]) == (0, [])
    # And can no longer toggle anything.
    response = cast.client_for("volunteer").post(help_url(story, "credit"), {"credit": "on"})
    assert response.status_code == 404


def test_a_curator_opens_a_need_on_the_root_group_for_the_centre(cast):
    story = make_story(cast)
    national = cast.groups["national"]
    client = cast.client_for("curator")
    page = client.get(help_url(story)).content.decode()
    assert national.name in page and cast.groups["group_a"].name in page

    response = client.post(help_url(story), form(national, kind="writing", people_needed="1"))

    need = StoryHelpNeed.objects.get(story=story).need
    assert (need.group, need.status) == (national, Need.Status.DRAFT)
    assert [s.skill.slug for s in need.skills.all()] == ["writing"]
    # The curator doesn't organise the national group: back to the story, with a word.
    assert response.status_code == 302
    assert response["Location"] == reverse("stories:story", args=[story.public_id])
    followed = client.get(response["Location"]).content.decode()
    assert "Its organisers have it" in followed


def test_a_curator_may_use_the_storys_group_and_its_organisers_are_told(cast):
    story = make_story(cast)
    response = cast.client_for("curator").post(
        help_url(story), form(cast.groups["group_a"], kind="photography")
    )
    assert response.status_code == 302
    need = StoryHelpNeed.objects.get(story=story).need
    assert need.group == cast.groups["group_a"]
    told = Message.objects.filter(kind=Kind.SERVICE, ledger__user=cast.users["organiser_a"])
    assert told.filter(subject="A draft need to help tell a story").exists()


def test_an_author_who_organises_nothing_is_told_whom_to_ask(cast):
    story = make_story(cast, author="volunteer")
    client = cast.client_for("volunteer")

    response = client.get(help_url(story))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Ask an organiser of {cast.groups['group_a'].name}, or a story curator" in page
    assert 'name="kind"' not in page  # no form to fill in
    before = written()
    response = client.post(help_url(story), form(cast.groups["group_a"]))
    assert response.status_code == 400
    assert written() == before


def test_an_author_without_a_group_is_told_too(cast):
    story = make_story(cast, author="volunteer", group=None)
    page = cast.client_for("volunteer").get(help_url(story)).content.decode()
    assert "Ask an organiser of one of your groups, or a story curator" in page


@pytest.mark.parametrize("who", ["volunteer", "organiser_b", "admin_a", "dpo"])
def test_others_cannot_open_a_help_need(cast, who):
    story = make_story(cast)
    client = cast.client_for(who)
    before = written()
    assert client.get(help_url(story)).status_code == 404
    assert client.post(help_url(story), form(cast.groups["group_a"])).status_code == 404
    assert written() == before


def test_anonymous_is_sent_to_sign_in(cast):
    story = make_story(cast)
    before = written()
    response = cast.client_for("anonymous").post(help_url(story), form(cast.groups["group_a"]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert written() == before


def test_a_rejected_story_cannot_ask_for_help(cast):
    story = make_story(cast, status=Story.Status.REJECTED, published_at=None)
    assert cast.client_for("organiser_a").get(help_url(story)).status_code == 404
    assert cast.client_for("curator").get(help_url(story)).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"people_needed": "0"}, "people_needed", "Ask for at least 1 and at most 5 people."),
        ({"people_needed": "99"}, "people_needed", "Ask for at least 1 and at most 5 people."),
        ({"people_needed": "many"}, "people_needed", "Enter a number."),
        (
            {"closes_on": in_days(-1).isoformat()},
            "closes_on",
            "Choose a closing date in the future.",
        ),
        (
            {"closes_on": in_days(0).isoformat()},
            "closes_on",
            "Choose a closing date in the future.",
        ),
        (
            {"closes_on": in_days(400).isoformat()},
            "closes_on",
            "Choose a closing date within a year.",
        ),
        ({"kind": "juggling"}, "kind", "Choose one of the kinds of help listed."),
        ({"hours": "0"}, "hours", "Hours of effort must be more than 0 and at most 500."),
        ({"words": "   "}, "words", "Say in a few words what&#x27;s wanted."),
    ],
)
def test_bad_input_gets_a_message_and_writes_nothing(cast, changes, field, message):
    story = make_story(cast)
    before = written()
    response = cast.client_for("organiser_a").post(
        help_url(story), form(cast.groups["group_a"], **changes)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert written() == before


def test_a_group_they_cannot_use_is_refused(cast):
    story = make_story(cast)
    before = written()
    for group in ("group_b", "national"):
        response = cast.client_for("organiser_a").post(help_url(story), form(cast.groups[group]))
        assert response.status_code == 400
        assert "Choose one of the groups listed." in response.content.decode()
    assert written() == before


# --- Credits -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["volunteer", "organiser_a", "curator", "volunteer_other"])
def test_only_helpers_may_choose_to_be_credited(cast, who):
    story = make_story(cast)
    response = cast.client_for(who).post(help_url(story, "credit"), {"credit": "on"})
    assert response.status_code == 404
    assert not StoryCredit.objects.exists()


def test_credit_needs_a_post_and_a_known_value(cast):
    organiser, volunteer = cast.users["organiser_a"], cast.users["volunteer"]
    story = make_story(cast)
    cast.client_for("organiser_a").post(help_url(story), form(cast.groups["group_a"]))
    need = StoryHelpNeed.objects.get(story=story).need
    do_publish_need(actor=organiser, need=need)
    give_skill(volunteer, "video-editing")
    do_invite(actor=organiser, need=need, user_ids=[volunteer.pk], now=noon())
    do_accept(invitation=Invitation.objects.get(need=need), actor=volunteer, share_phone=False)
    client = cast.client_for("volunteer")
    assert client.get(help_url(story, "credit")).status_code == 405
    response = client.post(help_url(story, "credit"), {"credit": "maybe"}, follow=True)
    assert "Say whether to name you." in response.content.decode()
    assert not StoryCredit.objects.exists()


# --- The result link -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["organiser_a", "curator"])
def test_the_author_or_a_curator_records_the_result(cast, who):
    story = make_story(cast)
    url = "https://video.example.org/ancoats"
    response = cast.client_for(who).post(help_url(story, "result"), {"url": url})
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.told_result_url == url
    assert story_help_context(story, AnonymousUser())["help_result_url"] == url
    page = cast.client_for("anonymous").get(reverse("stories:story", args=[story.public_id]))
    assert "See the finished video or article" in page.content.decode()
    assert AuditEntry.objects.filter(action="stories.told_result_recorded").count() == 1


@pytest.mark.parametrize(
    "bad",
    ["javascript:alert(1)", "ftp://files.example.org/x", "not a link", "https://" + "a" * 600],
)
def test_a_result_that_is_not_a_web_address_is_refused(cast, bad):
    story = make_story(cast)
    response = cast.client_for("organiser_a").post(help_url(story, "result"), {"url": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        "Enter a web address starting with https:// or http://." in page
        or "Use a link of at most 500 characters." in page
    )
    story.refresh_from_db()
    assert story.told_result_url == ""


@pytest.mark.parametrize("who", ["volunteer", "organiser_b", "admin_a"])
def test_others_cannot_record_the_result(cast, who):
    story = make_story(cast)
    response = cast.client_for(who).post(help_url(story, "result"), {"url": "https://x.example"})
    assert response.status_code == 404
    story.refresh_from_db()
    assert story.told_result_url == ""


# --- The story page's part ------------------------------------------------------------------


def test_context_for_an_anonymous_reader_of_a_story_without_help(cast, django_assert_num_queries):
    story = make_story(cast)
    with django_assert_num_queries(1):
        context = story_help_context(story, AnonymousUser())
    assert context["help_count"] == 0
    assert context["help_open_needs"] == []
    assert context["help_may_ask"] is False
    assert context["help_is_helper"] is False


def test_drafts_are_shown_to_the_author_only(cast):
    story = make_story(cast)
    cast.client_for("organiser_a").post(help_url(story), form(cast.groups["group_a"]))
    title = StoryHelpNeed.objects.get().need.title
    assert story_help_context(story, cast.users["organiser_a"])["help_waiting_drafts"] == [title]
    assert story_help_context(story, AnonymousUser())["help_waiting_drafts"] == []
    assert story_help_context(story, AnonymousUser())["help_open_needs"] == []


def test_the_need_page_says_which_story_it_helps_tell(cast):
    story = make_story(cast)
    cast.client_for("organiser_a").post(help_url(story), form(cast.groups["group_a"]))
    need = StoryHelpNeed.objects.get().need
    page = cast.client_for("organiser_a").get(reverse("needs:page", args=[need.public_id]))
    assert "This need helps tell the story" in page.content.decode()
    assert reverse("stories:story", args=[story.public_id]) in page.content.decode()
