"""The tools registry: submit, curate, find, edit, mark used, ask for help, and every
refusal leaving nothing behind. Maintainers' names never reach anonymous readers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.models import Kind, OutboxItem
from handsup.needs.actions import do_publish_need
from handsup.needs.models import Need
from handsup.people.models import Skill
from handsup.platform.models import Tool, ToolHelpNeed, ToolMaintainer
from handsup.platform.tests.conftest import make_tool
from handsup.privacy.models import AccessLogEntry, AuditEntry

pytestmark = pytest.mark.django_db

REGISTRY = "/tools/"
NEW = "/tools/new/"
QUEUE = "/curate/tools/"


def page_url(tool: Tool) -> str:
    return reverse("platform:tool", args=[tool.public_id])


def edit_url(tool: Tool) -> str:
    return reverse("platform:tool_edit", args=[tool.public_id])


def review_url(tool: Tool) -> str:
    return reverse("platform:tool_review", args=[tool.public_id])


def used_url(tool: Tool) -> str:
    return reverse("platform:tool_used_by", args=[tool.public_id])


def help_url(tool: Tool) -> str:
    return reverse("platform:tool_help", args=[tool.public_id])


def submission(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Street Mapper",
        "summary": "Draw canvassing patches on a shared map.",
        "description": "Street Mapper lets a group **split a ward** into patches.",
        "licence": "AGPL-3.0",
        "source_url": "https://example.org/street-mapper",
        "status": Tool.Status.BUILDING,
        "tags": "maps, canvassing",
        "website": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def told(user: User, words: str) -> bool:
    return OutboxItem.objects.filter(
        user=user, message__kind=Kind.SERVICE, message__body_markdown__contains=words
    ).exists()


def text(response: Any) -> str:
    return response.content.decode()


# --- Submit, curate, find -----------------------------------------------------------------


def test_a_submitted_tool_waits_for_a_curator_and_then_is_found(cast):
    volunteer = cast.users["volunteer"]
    group_a = cast.groups["group_a"]
    response = cast.client_for("volunteer").post(
        NEW, submission(maintainer_groups=[group_a.pk], maintains="on")
    )
    tool = Tool.objects.get()
    assert response.status_code == 302 and response["Location"] == page_url(tool)
    assert tool.review == Tool.Review.PENDING
    assert tool.submitted_by == volunteer
    assert tool.tags == ["maps", "canvassing"]
    assert list(tool.maintainer_groups.all()) == [group_a]
    assert list(tool.maintainers.values_list("user", flat=True)) == [volunteer.pk]
    assert AuditEntry.objects.filter(action="tool.submitted", actor=volunteer).exists()

    # Pending: not in the registry, its page only for its submitter, maintainers, curators.
    anonymous = cast.client_for("anonymous")
    assert "Street Mapper" not in text(anonymous.get(REGISTRY))
    assert anonymous.get(page_url(tool)).status_code == 404
    assert cast.client_for("volunteer_other").get(page_url(tool)).status_code == 404
    assert cast.client_for("organiser_b").get(page_url(tool)).status_code == 404
    assert cast.client_for("volunteer").get(page_url(tool)).status_code == 200
    # Group A maintains it, so its organisers do too.
    assert cast.client_for("organiser_a").get(page_url(tool)).status_code == 200
    curator = cast.client_for("curator")
    assert curator.get(page_url(tool)).status_code == 200
    assert "Street Mapper" in text(curator.get(QUEUE))

    response = curator.post(review_url(tool), {"decision": "publish", "note": ""})
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PUBLISHED
    assert told(volunteer, "Street Mapper")

    assert "Street Mapper" in text(anonymous.get(REGISTRY))
    assert anonymous.get(page_url(tool)).status_code == 200
    assert "Street Mapper" in text(anonymous.get(REGISTRY + "?q=split+ward"))
    assert "Street Mapper" in text(anonymous.get(REGISTRY + "?q=CANVASSING"))
    assert "Street Mapper" not in text(anonymous.get(REGISTRY + "?q=spreadsheet"))
    assert "Street Mapper" in text(anonymous.get(REGISTRY + "?tag=maps"))
    assert "Street Mapper" not in text(anonymous.get(REGISTRY + "?tag=rotas"))
    assert "Street Mapper" in text(anonymous.get(REGISTRY + "?status=building"))
    assert "Street Mapper" not in text(anonymous.get(REGISTRY + "?status=in_use"))


def test_search_covers_name_summary_description_and_tags_and_every_word(cast):
    make_tool(name="Rota Board", summary="Shared rotas", description="Pick slots.", tags=["x"])
    make_tool(name="Doorstep", summary="Walk sheets", description="Offline.", tags=["phones"])
    client = cast.client_for("anonymous")

    def found(query: str) -> set[str]:
        page = text(client.get(REGISTRY, {"q": query}))
        return {name for name in ("Rota Board", "Doorstep") if name in page}

    assert found("rota") == {"Rota Board"}
    assert found("walk") == {"Doorstep"}
    assert found("offline") == {"Doorstep"}
    assert found("phones") == {"Doorstep"}
    assert found("doorstep offline") == {"Doorstep"}
    assert found("doorstep slots") == set()


def test_a_tag_filter_matches_whole_tags_only(cast):
    make_tool(name="Mapper", tags=["maps"])
    make_tool(name="Roadmapper", tags=["roadmaps"])
    page = text(cast.client_for("anonymous").get(REGISTRY, {"tag": "maps"}))
    assert "Mapper" in page and "Roadmapper" not in page


def test_a_filter_that_names_nothing_says_so(cast):
    client = cast.client_for("anonymous")
    response = client.get(REGISTRY, {"status": "nonsense"})
    assert response.status_code == 400
    assert "Choose a stage from the list" in text(response)
    response = client.get(REGISTRY, {"tag": "<script>"})
    assert response.status_code == 400
    assert "<script>" not in text(response)


def test_the_registry_query_count_does_not_grow_with_tools(cast, django_assert_num_queries):
    client = cast.client_for("anonymous")
    for i in range(3):
        make_tool(name=f"Tool {i}", used_by=[cast.groups["group_a"]])
    client.get(REGISTRY)
    # The tags of every published tool, the count, the page (with how many groups use each).
    with django_assert_num_queries(3):
        assert client.get(REGISTRY).status_code == 200
    for i in range(10):
        make_tool(name=f"More {i}", used_by=[cast.groups["group_b"]])
    with django_assert_num_queries(3):
        assert client.get(REGISTRY + "?q=more&tag=maps&status=in_use").status_code == 200


def test_the_queue_lists_waiting_tools_first_in_fixed_queries(cast, django_assert_num_queries):
    make_tool(name="Already in", review=Tool.Review.PUBLISHED)
    make_tool(name="Waiting", review=Tool.Review.PENDING)
    client = cast.client_for("curator")
    client.get(QUEUE)
    # Session, user, roles (navigation and the check), the count waiting, the list.
    with django_assert_num_queries(5):
        page = text(client.get(QUEUE))
    assert page.index("Waiting") < page.index("Already in")
    for i in range(5):
        make_tool(name=f"Later {i}", review=Tool.Review.PENDING)
    with django_assert_num_queries(5):
        assert client.get(QUEUE).status_code == 200


def test_a_rejection_needs_a_note_and_the_submitter_is_told_it(cast):
    volunteer = cast.users["volunteer"]
    tool = make_tool(volunteer, Tool.Review.PENDING, name="Spam Cannon")
    curator = cast.client_for("curator")
    response = curator.post(review_url(tool), {"decision": "reject", "note": "  "})
    assert response.status_code == 400
    assert "Say why the tool is rejected" in text(response)
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PENDING
    assert not OutboxItem.objects.filter(user=volunteer).exists()

    response = curator.post(
        review_url(tool), {"decision": "reject", "note": "It sends unsolicited email."}
    )
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.review == Tool.Review.REJECTED
    assert tool.review_note == "It sends unsolicited email."
    assert told(volunteer, "It sends unsolicited email.")
    assert AuditEntry.objects.filter(action="tool.rejected", object_public_id=tool.public_id)
    # Rejected: still not for others to see.
    assert cast.client_for("anonymous").get(page_url(tool)).status_code == 404
    assert "Spam Cannon" not in text(cast.client_for("anonymous").get(REGISTRY))
    # Deciding the same again is refused, with the reason.
    response = curator.post(review_url(tool), {"decision": "reject", "note": "Again."})
    assert response.status_code == 400
    assert "already rejected" in text(response)


# --- Bad input --------------------------------------------------------------------------------


BAD_SUBMISSIONS = [
    ({"source_url": "javascript:alert(1)"}, "starting with https://"),
    ({"source_url": "ftp://example.org/x"}, "starting with https://"),
    ({"description": "Hello <script>alert(1)</script>"}, "Remove the &lt;script&gt; tag"),
    ({"description": "[click](javascript:alert(1))"}, "isn&#x27;t allowed"),
    ({"name": "N" * 101}, "at most 100 characters"),
    ({"summary": "S" * 201}, "at most 200 characters"),
    ({"licence": "L" * 101}, "at most 100 characters"),
    ({"name": "<b>Tool</b>"}, "without &lt; or &gt;"),
    ({"tags": ",".join(f"tag{i}" for i in range(11))}, "at most 10 tags"),
    ({"tags": "maps, two words"}, "“two words” isn&#x27;t a tag"),
    ({"tags": "x" * 31}, "isn&#x27;t a tag"),
    ({"status": "finished"}, "Choose one of the stages"),
    ({"name": ""}, "This field is required"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_SUBMISSIONS)
def test_bad_input_is_explained_and_nothing_is_stored(cast, changes, message):
    response = cast.client_for("volunteer").post(NEW, submission(**changes))
    assert response.status_code == 400
    assert message in text(response)
    assert not Tool.objects.exists()


def test_a_group_they_are_not_in_is_refused(cast):
    group_b = cast.groups["group_b"]
    response = cast.client_for("volunteer").post(NEW, submission(maintainer_groups=[group_b.pk]))
    assert response.status_code == 400
    assert "only name groups you are a member of" in text(response)
    assert not Tool.objects.exists()


def test_the_honeypot_looks_like_success_but_keeps_nothing(cast):
    response = cast.client_for("volunteer").post(NEW, submission(website="http://spam.example"))
    assert response.status_code == 302
    assert response["Location"] == reverse("platform:tool_submitted")
    assert not Tool.objects.exists()


def test_five_tools_a_day_then_a_clear_refusal(cast):
    volunteer = cast.users["volunteer"]
    for i in range(5):
        make_tool(volunteer, Tool.Review.PENDING, name=f"Mine {i}")
    # A day-old one doesn't count.
    Tool.objects.filter(name="Mine 0").update(created_at=timezone.now() - timedelta(days=2))
    client = cast.client_for("volunteer")
    assert client.post(NEW, submission(name="Sixth")).status_code == 302
    response = client.post(NEW, submission(name="Seventh"))
    assert response.status_code == 429
    assert "You have sent 5 tools in the last day" in text(response)
    # What they typed is still in the form.
    assert "Seventh" in text(response)
    assert not Tool.objects.filter(name="Seventh").exists()


def test_submitting_needs_a_sign_in(cast):
    response = cast.client_for("anonymous").post(NEW, submission())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Tool.objects.exists()


# --- Editing ------------------------------------------------------------------------------


def test_maintainers_and_curators_edit_and_nobody_else(cast):
    tool = make_tool(
        cast.users["volunteer"],
        maintainers=[cast.users["volunteer"]],
        maintainer_groups=[cast.groups["group_a"]],
    )
    for who in ("volunteer", "organiser_a", "curator"):
        assert cast.client_for(who).get(edit_url(tool)).status_code == 200, who
    for who in ("organiser_b", "volunteer_other", "admin_parent", "dpo"):
        assert cast.client_for(who).get(edit_url(tool)).status_code == 404, who
        response = cast.client_for(who).post(edit_url(tool), submission(name="Hijacked"))
        assert response.status_code == 404, who
    assert cast.client_for("anonymous").get(edit_url(tool)).status_code == 302
    tool.refresh_from_db()
    assert tool.name == "Doorstep"

    response = cast.client_for("organiser_a").post(
        edit_url(tool),
        submission(name="Doorstep 2", maintainer_groups=[cast.groups["group_a"].pk]),
    )
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.name == "Doorstep 2"
    assert tool.review == Tool.Review.PUBLISHED
    assert AuditEntry.objects.filter(action="tool.edited", actor=cast.users["organiser_a"])


def test_a_maintainers_change_to_a_published_tool_waits_for_a_curator_to_check_it(cast):
    """Published stays published (readers keep the tool), but what a curator vouched for
    has changed, so it goes back in their queue; a change of stage alone doesn't."""
    volunteer, curator = cast.users["volunteer"], cast.users["curator"]
    form = submission()
    tool = make_tool(
        volunteer,
        maintainers=[volunteer],
        **{key: form[key] for key in ("name", "summary", "description", "licence", "source_url")},
        status=Tool.Status.BUILDING,
        tags=["maps", "canvassing"],
    )
    cast.client_for("volunteer").post(
        edit_url(tool), submission(status=Tool.Status.IN_USE, maintains="on")
    )
    tool.refresh_from_db()
    assert tool.status == Tool.Status.IN_USE and not tool.changed_since_review

    response = cast.client_for("volunteer").post(
        edit_url(tool),
        submission(source_url="https://code.example.org/elsewhere", maintains="on"),
    )
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PUBLISHED and tool.changed_since_review
    assert cast.client_for("anonymous").get(page_url(tool)).status_code == 200
    queue = cast.client_for("curator").get(reverse("platform:tool_queue"))
    assert "Changed since: check it again" in text(queue)
    assert "1 tool is waiting for a decision." in text(queue)
    assert "A maintainer has changed it since" in text(
        cast.client_for("curator").get(review_url(tool))
    )

    notes = OutboxItem.objects.filter(user=volunteer, message__kind=Kind.SERVICE)
    notes_before = notes.count()
    response = cast.client_for("curator").post(review_url(tool), {"decision": "publish"})
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PUBLISHED and not tool.changed_since_review
    assert notes.count() == notes_before  # nothing new to tell them
    assert AuditEntry.objects.filter(
        action="tool.published", actor=curator, details__rechecked=True
    ).exists()
    # Checked once, a second "publish" is refused as before.
    again = cast.client_for("curator").post(review_url(tool), {"decision": "publish"})
    assert "already published" in text(again)

    # A curator's own edit needs nobody to check it.
    cast.client_for("curator").post(edit_url(tool), submission(name="Doorstep, renamed"))
    tool.refresh_from_db()
    assert tool.name == "Doorstep, renamed" and not tool.changed_since_review

    # A changed tool can be taken down with a note, like any other.
    cast.client_for("volunteer").post(
        edit_url(tool), submission(summary="Now with ads", maintains="on")
    )
    response = cast.client_for("curator").post(
        review_url(tool), {"decision": "reject", "note": "Adverts aren't a tool."}
    )
    tool.refresh_from_db()
    assert tool.review == Tool.Review.REJECTED and not tool.changed_since_review
    assert cast.client_for("anonymous").get(page_url(tool)).status_code == 404


def test_a_maintainers_edit_of_a_rejected_tool_goes_back_to_the_curators(cast):
    volunteer = cast.users["volunteer"]
    tool = make_tool(volunteer, Tool.Review.REJECTED, maintainers=[volunteer])
    response = cast.client_for("volunteer").post(
        edit_url(tool), submission(name="Better now", maintains="on")
    )
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PENDING and tool.name == "Better now"
    # Unticking "I maintain it" takes only their own name off.
    cast.client_for("volunteer").post(edit_url(tool), submission(name="Better now"))
    assert not ToolMaintainer.objects.filter(tool=tool).exists()


def test_an_edit_keeps_groups_the_editor_is_not_in(cast):
    tool = make_tool(maintainer_groups=[cast.groups["group_b"]])
    response = cast.client_for("curator").post(
        edit_url(tool), submission(maintainer_groups=[cast.groups["group_b"].pk])
    )
    assert response.status_code == 302
    assert list(tool.maintainer_groups.all()) == [cast.groups["group_b"]]
    response = cast.client_for("curator").post(
        edit_url(tool), submission(maintainer_groups=[cast.groups["group_a"].pk])
    )
    assert response.status_code == 400
    assert list(tool.maintainer_groups.all()) == [cast.groups["group_b"]]


# --- Curating is for curators ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["volunteer", "organiser_a", "admin_a", "dpo", "organiser_b"])
def test_only_curators_curate(cast, who):
    tool = make_tool(cast.users["volunteer"], Tool.Review.PENDING)
    client = cast.client_for(who)
    assert client.get(QUEUE).status_code == 403
    assert client.get(review_url(tool)).status_code == 404
    assert client.post(review_url(tool), {"decision": "publish"}).status_code == 404
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PENDING


def test_platform_admins_curate_too(cast):
    tool = make_tool(cast.users["volunteer"], Tool.Review.PENDING)
    client = cast.client_for("platform_admin")
    assert client.get(QUEUE).status_code == 200
    assert client.post(review_url(tool), {"decision": "publish"}).status_code == 302


# --- Who maintains it: names only for signed-in readers, logged --------------------------------


def test_maintainers_names_never_reach_anonymous_readers(cast):
    organiser = cast.users["organiser_a"]
    tool = make_tool(maintainers=[organiser], maintainer_groups=[cast.groups["group_a"]])
    marker = cast.marker("organiser_a")

    anonymous = text(cast.client_for("anonymous").get(page_url(tool)))
    assert marker not in anonymous
    assert "Olu Organiser" not in anonymous
    assert "1 person" in anonymous
    assert cast.groups["group_a"].name in anonymous
    assert not AccessLogEntry.objects.exists()

    signed_in = text(cast.client_for("volunteer_other").get(page_url(tool)))
    assert marker in signed_in
    row = AccessLogEntry.objects.get()
    assert row.actor == cast.users["volunteer_other"]
    assert row.subject == organiser
    assert row.purpose == "tool_maintainers"

    # Reading your own name isn't logged.
    cast.client_for("organiser_a").get(page_url(tool))
    assert AccessLogEntry.objects.count() == 1


def test_the_tool_page_shows_what_a_reader_needs(cast):
    tool = make_tool(
        description="Doorstep splits streets.\n\n<img src=x onerror=alert(1)>",
        used_by=[cast.groups["group_b"]],
    )
    page = text(cast.client_for("anonymous").get(page_url(tool)))
    assert 'href="https://example.org/doorstep" rel="nofollow noopener"' in page
    assert "AGPL-3.0" in page
    assert "In use" in page
    assert cast.groups["group_b"].name in page
    assert "<img" not in page  # raw HTML is shown as text, never as markup
    assert "?tag=canvassing" in page


# --- Groups that use it ------------------------------------------------------------------------


def test_an_organiser_marks_their_group_as_using_a_tool_and_stops(cast):
    tool = make_tool()
    group_a = cast.groups["group_a"]
    client = cast.client_for("organiser_a")
    assert f'name="group" value="{group_a.pk}"' in text(client.get(page_url(tool)))

    assert client.post(used_url(tool), {"uses": "on", "group": group_a.pk}).status_code == 302
    assert list(tool.used_by.all()) == [group_a]
    assert group_a.name in text(cast.client_for("anonymous").get(page_url(tool)))
    assert AuditEntry.objects.filter(action="tool.used_by_added", group=group_a).exists()

    assert client.post(used_url(tool), {"uses": "off", "group": group_a.pk}).status_code == 302
    assert not tool.used_by.exists()


@pytest.mark.parametrize("who", ["organiser_a", "volunteer", "admin_parent"])
def test_a_group_they_do_not_organise_is_refused(cast, who):
    tool = make_tool()
    group_b = cast.groups["group_b"]
    response = cast.client_for(who).post(used_url(tool), {"uses": "on", "group": group_b.pk})
    assert response.status_code == 404
    assert not tool.used_by.exists()


def test_used_by_needs_a_published_tool_and_sensible_input(cast):
    group_a = cast.groups["group_a"]
    pending = make_tool(cast.users["organiser_a"], Tool.Review.PENDING)
    client = cast.client_for("organiser_a")
    assert client.post(used_url(pending), {"uses": "on", "group": group_a.pk}).status_code == 404
    tool = make_tool()
    response = client.post(used_url(tool), {"uses": "maybe", "group": "abc"}, follow=True)
    assert "Say whether your group uses it" in text(response)
    assert not tool.used_by.exists() and not pending.used_by.exists()
    assert client.get(used_url(tool)).status_code == 405


# --- Help wanted -------------------------------------------------------------------------------


def help_form(group: Group, *skills: Skill, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "skills": [skill.pk for skill in skills],
        "words": "Add an offline mode to the map.",
        "people_needed": 2,
        "hours": "3",
        "closes_on": (timezone.localdate() + timedelta(days=21)).isoformat(),
        "group": group.public_id,
    }
    data.update(changes)
    return data


def test_help_wanted_opens_a_draft_need_shown_on_the_tool_once_published(cast):
    organiser = cast.users["organiser_a"]
    group_a = cast.groups["group_a"]
    tool = make_tool(maintainers=[organiser])
    web = Skill.objects.get(slug="web-development")
    client = cast.client_for("organiser_a")
    form_page = text(client.get(help_url(tool)))
    assert "Web development" in form_page and "Software development" in form_page

    response = client.post(help_url(tool), help_form(group_a, web))
    row = ToolHelpNeed.objects.get()
    need = row.need
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "needs:edit", kwargs={"public_id": group_a.public_id, "need_id": need.public_id}
    )
    assert row.tool == tool and row.opened_by == organiser
    assert need.group == group_a and need.status == Need.Status.DRAFT
    assert need.location_kind == Need.LocationKind.REMOTE
    assert need.visibility == Need.Visibility.MOVEMENT
    assert [(s.skill_id, s.required) for s in need.skills.all()] == [(web.pk, True)]
    assert tool.public_id in need.description

    # A draft isn't on the page for readers; the maintainer sees it waiting.
    assert need.title not in text(cast.client_for("volunteer").get(page_url(tool)))
    assert need.title in text(client.get(page_url(tool)))
    do_publish_need(actor=organiser, need=need)
    page = text(cast.client_for("volunteer").get(page_url(tool)))
    assert need.title in page
    assert reverse("needs:page", kwargs={"public_id": need.public_id}) in page


def test_several_skills_each_optional_and_at_most_three(cast):
    tool = make_tool(maintainers=[cast.users["organiser_a"]])
    skills = list(Skill.objects.filter(category__slug="digital").order_by("pk")[:4])
    client = cast.client_for("organiser_a")
    response = client.post(help_url(tool), help_form(cast.groups["group_a"], *skills))
    assert response.status_code == 400 and "at most 3 skills" in text(response)
    assert not Need.objects.exists()
    client.post(help_url(tool), help_form(cast.groups["group_a"], *skills[:2]))
    need = Need.objects.get()
    assert sorted(s.required for s in need.skills.all()) == [False, False]


def test_help_refusals_leave_nothing_behind(cast):
    web = Skill.objects.get(slug="web-development")
    singing = Skill.objects.get(slug="music-and-performance")
    volunteer = cast.users["volunteer"]
    tool = make_tool(maintainers=[cast.users["organiser_a"], volunteer])

    # A maintainer who organises no group is told why, and nothing is written.
    response = cast.client_for("volunteer").get(help_url(tool))
    assert response.status_code == 200
    assert "You don't organise a group" in text(response)
    response = cast.client_for("volunteer").post(
        help_url(tool), help_form(cast.groups["group_a"], web)
    )
    assert response.status_code == 400

    client = cast.client_for("organiser_a")
    # Not a technical skill; a group they don't organise; a past closing date.
    assert (
        client.post(help_url(tool), help_form(cast.groups["group_a"], singing)).status_code == 400
    )
    response = client.post(help_url(tool), help_form(cast.groups["group_b"], web))
    assert response.status_code == 400 and "one of the groups you organise" in text(response)
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(help_url(tool), help_form(cast.groups["group_a"], web, closes_on=past))
    assert response.status_code == 400

    # Someone who doesn't maintain it may not ask.
    assert cast.client_for("organiser_b").get(help_url(tool)).status_code == 403
    # An unpublished tool: its maintainer is sent back to its page.
    pending = make_tool(review=Tool.Review.PENDING, maintainers=[cast.users["organiser_a"]])
    assert client.get(help_url(pending)).status_code == 302
    assert cast.client_for("organiser_b").get(help_url(pending)).status_code == 404
    assert not Need.objects.exists() and not ToolHelpNeed.objects.exists()


# --- Navigation and the demo ----------------------------------------------------------------


def test_everyone_has_a_tools_link(cast):
    assert 'href="/tools/"' in text(cast.client_for("anonymous").get(REGISTRY))
    assert 'href="/tools/"' in text(cast.client_for("volunteer").get("/stories/"))


def test_the_demo_tools_load_once(cast):
    from handsup.platform.tools_demo import build_demo_tools

    made = build_demo_tools(cast.groups, cast.users)
    assert len(made) == 3
    assert build_demo_tools(cast.groups, cast.users) == []
    page = text(cast.client_for("anonymous").get(REGISTRY))
    assert "Doorstep" in page and "Rota Board" in page and "Leaflet Counter" not in page
