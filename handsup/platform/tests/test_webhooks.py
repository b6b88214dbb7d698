"""Webhooks for a group's admins: the address rules, the pages, and the events the real
actions emit (with nothing in them the group may not see)."""

from __future__ import annotations

import io
import json
import re
import socket
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from handsup.groups.actions import do_join_group, do_leave_group
from handsup.groups.models import Membership
from handsup.imports.actions import do_create_command_line_import, do_run_import
from handsup.imports.models import ImportJob
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.answers import do_accept, invitation_expiry
from handsup.needs.models import Invitation, Need
from handsup.people.models import Skill
from handsup.platform import addresses, webhooks
from handsup.platform.addresses import UnsafeAddress, check_webhook_address
from handsup.platform.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from handsup.platform.webhooks import emit
from handsup.privacy.models import AuditEntry
from handsup.stories.actions import do_change_story_status
from handsup.stories.models import Story

pytestmark = pytest.mark.django_db

ALL_EVENTS = [value for value, _label in WebhookEvent.choices]
PUBLIC_IP = "93.184.216.34"
PRIVATE_NETWORK = "That address points to a private network"


@pytest.fixture(autouse=True)
def no_loopback(settings: Any) -> None:
    """The production rule, whatever the test settings say; tests that want the loopback
    allowance turn it on themselves."""
    settings.HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP = False


@pytest.fixture
def dns(monkeypatch: Any) -> dict[str, list[str]]:
    """Names we make up resolve to what the test says; literal addresses to themselves.
    No lookup leaves the machine."""
    answers: dict[str, list[str]] = {"hooks.example.org": [PUBLIC_IP]}
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port),
                )
                for ip in answers[host]
            ]
        if host.endswith((".example.org", ".example", ".invalid")):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(addresses.socket, "getaddrinfo", fake_getaddrinfo)
    return answers


def refusal(url: str) -> UnsafeAddress:
    with pytest.raises(UnsafeAddress) as caught:
        check_webhook_address(url)
    return caught.value


# --- The address rules -----------------------------------------------------------------


def test_a_public_https_address_is_accepted(dns):
    target = check_webhook_address("https://hooks.example.org/in?source=handsup")
    assert (target.scheme, target.host, target.port, target.path, target.addresses) == (
        "https",
        "hooks.example.org",
        443,
        "/in?source=handsup",
        (PUBLIC_IP,),
    )
    assert check_webhook_address("https://hooks.example.org:8443/").port == 8443


def test_an_address_that_is_not_https_is_refused(dns):
    for url in ("http://hooks.example.org/in", "ftp://hooks.example.org/", "gopher://x"):
        assert refusal(url).message == "Webhook addresses must start with https://."


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://192.168.1.5/hook",
        "https://172.16.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://127.0.0.1:8443/",
        "https://0.0.0.0/",
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://224.0.0.1/",  # multicast
        "https://240.0.0.1/",  # reserved
        "https://[::ffff:10.0.0.1]/",  # IPv4-mapped private
        "https://[fe80::1]/",  # link-local
        "https://[fd00::1]/",  # unique local
        "https://[2002:a00:1::]/",  # 6to4 wrapping 10.0.0.1
        "https://2130706433/",  # 127.0.0.1 as one number
        "https://localhost/",
    ],
)
def test_private_loopback_and_reserved_addresses_are_refused(url, dns):
    refused = refusal(url)
    assert refused.code == "private"
    assert refused.message.startswith(PRIVATE_NETWORK)


def test_a_name_that_resolves_to_a_private_address_is_refused(dns):
    dns["sneaky.example.org"] = ["127.0.0.1"]
    dns["half.example.org"] = [PUBLIC_IP, "10.1.2.3"]  # one bad answer is enough
    for url in ("https://sneaky.example.org/", "https://half.example.org/"):
        assert refusal(url).message.startswith(PRIVATE_NETWORK)


def test_credentials_bad_ports_and_unknown_names_are_refused(dns):
    assert refusal("https://me:secret@hooks.example.org/").code == "credentials"
    assert refusal("https://hooks.example.org:99999/").code == "invalid"
    assert refusal("https://nowhere.example.org/").message == (
        "We couldn't find that address: its host name doesn't resolve."
    )
    assert refusal("hooks.example.org/in").code == "invalid"
    assert refusal("https://hooks.example.org/in\r\nX-Evil: 1").code == "invalid"
    assert refusal("https://hooks.example.org/a b").code == "invalid"
    assert refusal("").code == "invalid"


def test_the_loopback_setting_allows_only_this_machine_by_name(dns, settings):
    settings.HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP = True
    assert check_webhook_address("http://127.0.0.1:8123/hook").addresses == ("127.0.0.1",)
    assert check_webhook_address("http://localhost:8123/hook").port == 8123
    # Any other name is held to the rules, even when it points here.
    dns["sneaky.example.org"] = ["127.0.0.1"]
    assert refusal("http://sneaky.example.org/").code == "not_https"
    assert refusal("https://sneaky.example.org/").code == "private"
    assert refusal("http://10.0.0.1/").code == "not_https"
    settings.HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP = False
    assert refusal("http://127.0.0.1:8123/hook").code == "not_https"


# --- The pages -----------------------------------------------------------------------------


def list_url(cast: Any, group: str = "group_a") -> str:
    return reverse("platform:webhooks", args=[cast.groups[group].public_id])


def endpoint_urls(endpoint: WebhookEndpoint) -> dict[str, str]:
    args = [endpoint.group.public_id, endpoint.public_id]
    return {
        name: reverse(f"platform:{name}", args=args)
        for name in ("webhook", "webhook_delete", "webhook_enable")
    }


def make_endpoint(cast: Any, group: str = "group_a", **changes: Any) -> WebhookEndpoint:
    fields: dict[str, Any] = {
        "url": "https://hooks.example.org/handsup",
        "description": "Our CRM",
        "events": ALL_EVENTS,
    }
    fields.update(changes)
    admin = "admin_a" if group == "group_a" else "organiser_b"
    return webhooks.do_register_endpoint(
        actor=cast.users[admin], group=cast.groups[group], **fields
    )


@pytest.fixture
def admin_b(cast: Any) -> str:
    """Group B has no admin persona: its organiser becomes one."""
    Membership.objects.filter(user=cast.users["organiser_b"], group=cast.groups["group_b"]).update(
        role=Membership.Role.ADMIN
    )
    return "organiser_b"


def test_an_admin_registers_an_endpoint_and_sees_its_secret(cast, dns):
    client = cast.client_for("admin_a")
    page = client.get(list_url(cast))
    assert page.status_code == 200
    assert b"need.created" in page.content and b"Add endpoint" in page.content
    response = client.post(
        list_url(cast),
        {
            "url": "https://hooks.example.org/handsup",
            "description": "Our CRM",
            "events": ["need.created", "member.joined"],
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == endpoint_urls(endpoint)["webhook"]
    assert endpoint.group == cast.groups["group_a"]
    assert endpoint.events == ["member.joined", "need.created"]
    assert endpoint.created_by == cast.users["admin_a"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", endpoint.secret)
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert endpoint.secret.encode() in detail.content
    assert AuditEntry.objects.filter(
        action="platform.webhook_registered", group=cast.groups["group_a"]
    ).exists()
    listing = client.get(list_url(cast))
    assert b"hooks.example.org/handsup" in listing.content


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.org/handsup", "Webhook addresses must start with https://."),
        ("https://10.0.0.1/", PRIVATE_NETWORK),
        ("https://192.168.1.5/", PRIVATE_NETWORK),
        ("https://169.254.169.254/latest/meta-data/", PRIVATE_NETWORK),
        ("https://[::1]/", PRIVATE_NETWORK),
        ("https://sneaky.example.org/", PRIVATE_NETWORK),
    ],
)
def test_a_refused_address_gets_a_clear_message_and_keeps_what_was_typed(cast, dns, url, message):
    dns["sneaky.example.org"] = ["127.0.0.1"]
    response = cast.client_for("admin_a").post(
        list_url(cast), {"url": url, "description": "Keep me", "events": ["need.created"]}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text.replace("&#x27;", "'")
    assert "Keep me" in text
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_needs_at_least_one_event(cast, dns):
    response = cast.client_for("admin_a").post(
        list_url(cast), {"url": "https://hooks.example.org/", "events": []}
    )
    assert response.status_code == 400
    assert b"Choose at least one event to send." in response.content
    response = cast.client_for("admin_a").post(
        list_url(cast), {"url": "https://hooks.example.org/", "events": ["need.exploded"]}
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_a_group_has_at_most_ten_endpoints(cast, dns):
    for _n in range(webhooks.MAX_ENDPOINTS_PER_GROUP):
        make_endpoint(cast)
    response = cast.client_for("admin_a").post(
        list_url(cast), {"url": "https://hooks.example.org/", "events": ["need.created"]}
    )
    assert response.status_code == 400
    assert b"up to 10 webhook endpoints" in response.content


@pytest.mark.parametrize(
    "persona", ["volunteer", "organiser_a", "organiser_b", "admin_parent", "curator", "dpo"]
)
def test_only_the_groups_admins_reach_its_webhooks(cast, dns, persona):
    endpoint = make_endpoint(cast)
    client = cast.client_for(persona)
    assert client.get(list_url(cast)).status_code == 404
    assert client.post(list_url(cast), {"url": "https://hooks.example.org/"}).status_code == 404
    urls = endpoint_urls(endpoint)
    assert client.get(urls["webhook"]).status_code == 404
    assert client.post(urls["webhook_delete"]).status_code == 404
    assert client.post(urls["webhook_enable"]).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_anonymous_visitors_are_sent_to_sign_in(cast, dns):
    endpoint = make_endpoint(cast)
    client = cast.client_for("anonymous")
    for url in [list_url(cast), *endpoint_urls(endpoint).values()]:
        response = client.get(url) if url.endswith("/webhooks/") else client.post(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_group_bs_admin_gets_404_on_group_as_endpoints(cast, dns, admin_b):
    endpoint_a = make_endpoint(cast, "group_a")
    endpoint_b = make_endpoint(cast, "group_b")
    client = cast.client_for(admin_b)
    assert client.get(list_url(cast, "group_b")).status_code == 200
    assert client.get(endpoint_urls(endpoint_b)["webhook"]).status_code == 200
    # Group A's endpoints, by their own URLs and through group B's.
    for name, url in endpoint_urls(endpoint_a).items():
        response = client.get(url) if name == "webhook" else client.post(url)
        assert response.status_code == 404
    sneaky = reverse("platform:webhook", args=[endpoint_b.group.public_id, endpoint_a.public_id])
    assert client.get(sneaky).status_code == 404
    sneaky_delete = reverse(
        "platform:webhook_delete", args=[endpoint_b.group.public_id, endpoint_a.public_id]
    )
    assert client.post(sneaky_delete).status_code == 404
    assert client.get(list_url(cast, "group_a")).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint_a.pk).exists()


def test_the_platform_admin_may_manage_any_groups_webhooks(cast, dns):
    endpoint = make_endpoint(cast)
    client = cast.client_for("platform_admin")
    assert client.get(endpoint_urls(endpoint)["webhook"]).status_code == 200


def test_an_admin_removes_an_endpoint(cast, dns):
    endpoint = make_endpoint(cast)
    client = cast.client_for("admin_a")
    urls = endpoint_urls(endpoint)
    assert client.get(urls["webhook_delete"]).status_code == 405
    response = client.post(urls["webhook_delete"])
    assert response.status_code == 302 and response["Location"] == list_url(cast)
    assert not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(action="platform.webhook_deleted").exists()
    assert client.get(urls["webhook"]).status_code == 404


def test_an_admin_turns_a_disabled_endpoint_back_on(cast, dns):
    endpoint = make_endpoint(cast)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=now, disabled_reason="Every try failed.", failing_since=now
    )
    client = cast.client_for("admin_a")
    urls = endpoint_urls(endpoint)
    page = client.get(urls["webhook"])
    assert b"Every try failed." in page.content and b"Turn it back on" in page.content
    assert client.post(urls["webhook_enable"]).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since) == (
        None,
        "",
        None,
    )
    assert AuditEntry.objects.filter(action="platform.webhook_enabled").exists()


def test_the_delivery_log_shows_the_latest_fifty_with_their_tries_in_few_queries(
    cast, dns, django_assert_num_queries
):
    endpoint = make_endpoint(cast)
    group = cast.groups["group_a"]
    for n in range(55):
        emit(group=group, event="need.created", data={"n": n})
    for delivery in WebhookDelivery.objects.all()[:20]:
        delivery.tries.create(status_code=500, error="HTTP 500 Internal Server Error")
        delivery.tries.create(status_code=200)
    client = cast.client_for("admin_a")
    client.get(endpoint_urls(endpoint)["webhook"])  # warm the session and caches
    # Session, user, MFA, group, endpoint, deliveries, their tries (and the rest of the
    # page's frame): the same however many deliveries and tries there are.
    with django_assert_num_queries(9, exact=False) as captured:
        page = client.get(endpoint_urls(endpoint)["webhook"])
    assert page.status_code == 200
    first_count = len(captured.captured_queries)
    text = page.content.decode()
    assert text.count("<code>msg_") == 50
    assert "HTTP 500 Internal Server Error" in text
    for n in range(5):
        emit(group=group, event="need.created", data={"n": n})
    with django_assert_num_queries(first_count):
        client.get(endpoint_urls(endpoint)["webhook"])


def test_the_organise_page_links_to_webhooks_for_admins_only(cast):
    organise = reverse("groups:organise", args=[cast.groups["group_a"].public_id])
    link = list_url(cast).encode()
    assert link in cast.client_for("admin_a").get(organise).content
    assert link not in cast.client_for("organiser_a").get(organise).content


# --- Events from the real actions ----------------------------------------------------------


@pytest.fixture
def hooked(cast: Any, dns: Any) -> dict[str, WebhookEndpoint]:
    """Group A with an endpoint for every event, group B with one too."""
    return {"a": make_endpoint(cast, "group_a"), "b": make_endpoint(cast, "group_b")}


def need_details(**changes: Any) -> NeedDetails:
    skill = Skill.objects.order_by("pk").first()
    assert skill is not None
    details: dict[str, Any] = {
        "title": "Phone bank callers",
        "description": "Call members about the summer fair.",
        "skills": (SkillWanted(skill=skill, min_level=1, required=True),),
        "location_kind": Need.LocationKind.REMOTE,
        "place": None,
        "radius_km": None,
        "schedule_kind": Need.ScheduleKind.ONGOING,
        "weekly_slots": 0b101,
        "hours": Decimal("2.5"),
        "people_needed": 1,
        "closes_on": timezone.localdate() + timedelta(days=30),
        "visibility": Need.Visibility.MOVEMENT,
    }
    details.update(changes)
    return NeedDetails(**details)


def payloads(endpoint: WebhookEndpoint, event: str) -> list[dict[str, Any]]:
    return [
        d.payload
        for d in WebhookDelivery.objects.filter(endpoint=endpoint, event=event).order_by("pk")
    ]


def run_every_action(cast: Any) -> dict[str, Any]:
    """Each event the real way, in group A: a need created and filled by a yes, someone
    joining and leaving, a story published, a list imported."""
    group = cast.groups["group_a"]
    need = do_create_need(
        actor=cast.users["organiser_a"], group=group, details=need_details(), publish=True
    )
    volunteer = cast.users["volunteer"]
    now = timezone.now()
    invitation = Invitation.objects.create(
        need=need,
        user=volunteer,
        source=Invitation.Source.ASK,
        channel=Invitation.Channel.EMAIL,
        invited_by=cast.users["organiser_a"],
        created_at=now,
        expires_at=invitation_expiry(need, now),
    )
    do_accept(invitation=invitation, actor=volunteer, share_phone=True)
    joiner = cast.users["volunteer_other"]
    do_join_group(user=joiner, group=group)
    do_leave_group(user=joiner, group=group)
    story = Story.objects.create(
        author=volunteer,
        group=group,
        title="Tenants win repairs",
        body="After a year of letters, the landlord agreed to fix the damp.",
        region="north_west",
        happened_on=timezone.localdate(),
        status=Story.Status.IN_REVIEW,
    )
    do_change_story_status(actor=cast.users["curator"], story=story, to=Story.Status.PUBLISHED)
    job = import_list(cast, group, IMPORTED)
    return {"need": need, "invitation": invitation, "joiner": joiner, "story": story, "job": job}


# Two new people (one of them twice) and one already a member of the group.
IMPORTED = (
    "Name,Email,Postcode\n"
    "Ima Newcomer,ima.newcomer@example.org,M1 1AE\n"
    "Ima Newcomer,ima.newcomer@example.org,M1 1AE\n"
    "Otto Second,otto.second@example.org,M1 1AE\n"
)


def import_list(cast: Any, group: Any, content: str, *, dry_run: bool = False) -> ImportJob:
    data = content.encode()
    job = do_create_command_line_import(
        actor=cast.users["organiser_a"],
        group=group,
        source=io.BytesIO(data),
        lawful_basis=ImportJob.LawfulBasis.CONSENT_PAPER,
        dry_run=dry_run,
    )
    do_run_import(job=job, source=io.BytesIO(data))
    job.refresh_from_db()
    return job


def test_each_event_is_emitted_by_the_real_action(cast, hooked):
    made = run_every_action(cast)
    endpoint, group = hooked["a"], cast.groups["group_a"]
    need, invitation, joiner = made["need"], made["invitation"], made["joiner"]

    [created] = payloads(endpoint, "need.created")
    assert created["type"] == "need.created"
    assert created["data"]["group"] == group.public_id
    assert created["data"]["need"]["id"] == need.public_id
    assert created["data"]["need"]["title"] == "Phone bank callers"
    assert created["data"]["need"]["status"] == "open"

    [accepted] = payloads(endpoint, "invitation.accepted")
    assert accepted["data"] == {
        "group": group.public_id,
        "need": need.public_id,
        "invitation": invitation.public_id,
        "person": cast.users["volunteer"].public_id,
    }
    [filled] = payloads(endpoint, "need.filled")
    assert filled["data"]["need"]["status"] == "filled"
    assert filled["data"]["need"]["filled_count"] == 1

    [joined] = payloads(endpoint, "member.joined")
    [left] = payloads(endpoint, "member.left")
    for payload in (joined, left):
        assert payload["data"] == {"group": group.public_id, "person": joiner.public_id}

    [imported] = payloads(endpoint, "import.finished")
    assert imported["data"] == {
        "group": group.public_id,
        "import": {
            "id": made["job"].public_id,
            "created": 2,
            "updated": 0,
            "invited": made["job"].invited_count,
            "rejected": 0,
            "duplicates": 1,
        },
    }

    [published] = payloads(endpoint, "story.published")
    assert published["data"]["story"]["id"] == made["story"].public_id
    assert published["data"]["story"]["url"].endswith(f"/stories/{made['story'].public_id}/")

    # Who each event is about, so their erasure takes it with them.
    subjects = dict(
        WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event", "subject")
    )
    assert subjects == {
        "need.created": None,
        "invitation.accepted": cast.users["volunteer"].pk,
        "need.filled": None,
        "member.joined": joiner.pk,
        "member.left": joiner.pk,
        "story.published": None,
        "import.finished": None,
    }
    for delivery in WebhookDelivery.objects.all():
        assert re.fullmatch(r"msg_[A-Za-z0-9_-]{24}", delivery.message_id)
        assert delivery.status == WebhookDelivery.Status.PENDING
    # Group B's endpoint heard nothing of group A.
    assert not WebhookDelivery.objects.filter(endpoint=hooked["b"]).exists()


def test_payloads_carry_no_names_emails_or_phones(cast, hooked):
    run_every_action(cast)
    everything = json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    for key, marker in cast.markers().items():
        assert marker not in everything, key
    for user in cast.users.values():
        assert user.email not in everything
    assert "@" not in everything
    assert "07700" not in everything and "phone" not in everything


def test_only_subscribed_enabled_endpoints_get_an_event(cast, hooked):
    group = cast.groups["group_a"]
    only_members = make_endpoint(cast, events=["member.joined"])
    off = make_endpoint(cast)
    WebhookEndpoint.objects.filter(pk=off.pk).update(disabled_at=timezone.now())
    do_join_group(user=cast.users["volunteer_other"], group=group)
    do_create_need(actor=cast.users["organiser_a"], group=group, details=need_details())
    assert set(
        WebhookDelivery.objects.filter(endpoint=only_members).values_list("event", flat=True)
    ) == {"member.joined"}
    assert not WebhookDelivery.objects.filter(endpoint=off).exists()
    assert WebhookDelivery.objects.filter(endpoint=hooked["a"]).count() == 2


def test_emitting_for_a_group_without_endpoints_costs_one_query(cast, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert emit(group=cast.groups["group_a"], event="need.created", data={}) == 0
    with django_assert_num_queries(0):
        assert emit(group=None, event="story.published", data={}) == 0


def test_a_committed_event_starts_one_drain_at_once(
    cast, hooked, django_capture_on_commit_callbacks
):
    """Endpoints hear of a change within seconds, not on the next minute's run: the
    commit enqueues one drain task, however many endpoints want the event."""
    from django_tasks_db.models import DBTaskResult

    from handsup.platform.webhook_jobs import drain_webhooks

    queued = DBTaskResult.objects.filter(task_path=drain_webhooks.module_path)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        emit(group=cast.groups["group_a"], event="need.created", data={"id": "n1"})
    assert len(callbacks) == 1
    assert queued.count() == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        emit(group=cast.groups["group_a"], event="no.such.event", data={})
        emit(group=None, event="story.published", data={})
    assert callbacks == []  # no endpoint wanted these: nothing to drain
    assert queued.count() == 1


def test_a_change_that_rolls_back_leaves_no_event(cast, hooked):
    from django.db import transaction

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        do_join_group(user=cast.users["volunteer_other"], group=cast.groups["group_a"])
        raise Abandon
    assert not WebhookDelivery.objects.exists()


def test_a_dry_run_a_failed_import_and_a_group_without_endpoints_send_nothing(cast, hooked):
    group = cast.groups["group_a"]
    dry = import_list(cast, group, IMPORTED, dry_run=True)
    assert dry.status == ImportJob.Status.VALIDATED
    broken = import_list(cast, group, "no,columns,we,know\n1,2,3,4\n")
    assert broken.status == ImportJob.Status.FAILED
    assert not WebhookDelivery.objects.filter(event="import.finished").exists()
    # Group B has an endpoint too; only its own imports reach it.
    done = import_list(cast, cast.groups["group_b"], IMPORTED)
    assert done.status == ImportJob.Status.DONE
    assert [d.endpoint_id for d in WebhookDelivery.objects.filter(event="import.finished")] == [
        hooked["b"].pk
    ]
