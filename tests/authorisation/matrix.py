"""The authorisation matrix: for every URL, which personas get a 2xx.

Everyone not listed must be refused (403, 404, 405, or a redirect away). A URL the
resolver knows but this table does not fails the test, so every new view must come
here with its answer per persona. Admin pages are generated per registered model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PERSONAS = (
    "anonymous",
    "volunteer",
    "volunteer_no_consent",
    "volunteer_other",
    "organiser_a",
    "admin_a",
    "organiser_b",
    "admin_parent",
    "curator",
    "dpo",
    "platform_admin",
    "organiser_no_mfa",
)
# API tokens scoped to a group arrive with the open-platform issue; until then the
# API has no token-authenticated operation to test them against.

EVERYONE = frozenset(PERSONAS)
SIGNED_IN = EVERYONE - {"anonymous"}
# Privileged personas who have enrolled MFA, and everyone without a privileged role.
ENROLLED = SIGNED_IN - {"organiser_no_mfa"}
# Public pages: everyone but a privileged person who still has to enrol MFA.
PUBLIC = EVERYONE - {"organiser_no_mfa"}
PRIVILEGED = frozenset(
    {"organiser_a", "admin_a", "organiser_b", "admin_parent", "curator", "dpo", "platform_admin"}
)
WITH_MFA = PRIVILEGED  # the personas whose MFA is enrolled
NONE: frozenset[str] = frozenset()
# Group A's people, by what the group policy lets them do.
ORGANISE_A = frozenset({"organiser_a", "admin_a"})
ADMINISTER_A = frozenset({"admin_a", "platform_admin"})
FIGURES_A = frozenset({"organiser_a", "admin_a", "admin_parent", "platform_admin"})


@dataclass(frozen=True)
class Expect:
    allowed: frozenset[str]
    # Build the concrete path from the route's parameters; None for a route without any.
    path: Callable[[Any], str] | None = None
    method: str = "get"
    # Form data for the request, built afresh for each persona (files can't be reused).
    data: Callable[[Any], dict[str, Any]] | None = None
    why: str = ""


def _manage_a(suffix: str = "") -> Callable[[Any], str]:
    return lambda world: f"/groups/manage/{world.groups['group_a'].public_id}/{suffix}"


def _group_a_page(suffix: str = "") -> Callable[[Any], str]:
    return lambda world: f"/groups/{world.groups['group_a'].slug}/{suffix}"


def _offline_person_a(suffix: str = "") -> Callable[[Any], str]:
    """A person organiser A registered from a paper form, not yet claimed."""

    def build(world: Any) -> str:
        from handsup.people.offline import OfflineDetails, do_register_offline_person

        group = world.groups["group_a"]
        person, _code = do_register_offline_person(
            organiser=world.users["organiser_a"],
            group=group,
            details=OfflineDetails(
                name="Paper Person",
                agreed_by="paper",
                email="",
                phone="0161 000 0000",
                postal_address="1 Example Street\nManchester",
                channels=("phone", "post"),
                share_contact=True,
                place=None,
            ),
            claim_link="http://testserver/claim/",
        )
        return f"/groups/manage/{group.public_id}/people/{person.public_id}/{suffix}"

    return build


def _import_job_a(suffix: str = "", *, ran: bool = False) -> Callable[[Any], str]:
    """An import of a small list into group A by its organiser; `ran`: dry-run already,
    with one row left out (so there is a rejected-rows report)."""

    def build(world: Any) -> str:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from handsup.imports.actions import do_run_import, do_start_import, do_upload_import

        csv = b"email,name,postcode\nnew.person@example.org,New Person,\nnot-an-email,Bad Row,\n"
        job = do_upload_import(
            actor=world.users["organiser_a"],
            group=world.groups["group_a"],
            upload=SimpleUploadedFile("list.csv", csv, content_type="text/csv"),
            name="list.csv",
        )
        if ran:
            do_start_import(actor=world.users["organiser_a"], job=job, dry_run=True)
            do_run_import(job=job)
        return f"/imports/{job.public_id}/{suffix}"

    return build


def _need_a(
    suffix: str = "", *, manage: bool = True, publish: bool = False
) -> Callable[[Any], str]:
    """A remote, members-only need of group A, posted by its organiser (a draft unless
    `publish`); `manage`: its organiser URL, else its volunteer page."""

    def build(world: Any) -> str:
        from datetime import timedelta
        from decimal import Decimal

        from django.utils import timezone

        from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
        from handsup.people.models import Skill

        group = world.groups["group_a"]
        need = do_create_need(
            actor=world.users["organiser_a"],
            group=group,
            details=NeedDetails(
                title="Phone bank callers",
                description="Call members about the summer fair.",
                skills=(
                    SkillWanted(skill=Skill.objects.order_by("pk")[0], min_level=2, required=True),
                ),
                location_kind="remote",
                place=None,
                radius_km=None,
                schedule_kind="ongoing",
                weekly_slots=0b111,
                hours=Decimal("2.0"),
                people_needed=3,
                closes_on=timezone.localdate() + timedelta(days=30),
                visibility="members",
            ),
            publish=publish,
        )
        if not manage:
            return f"/needs/{need.public_id}/"
        return f"/groups/manage/{group.public_id}/needs/{need.public_id}/{suffix}"

    return build


def _need_a_object(world: Any) -> Any:
    """A fresh open members-only need of group A (see `_need_a`), as a model."""
    from handsup.needs.models import Need

    page = _need_a(manage=False, publish=True)(world)
    return Need.objects.get(public_id=page.strip("/").split("/")[1])


def _invited_volunteer(suffix: str = "", *, accepted: bool = False) -> Callable[[Any], str]:
    """Group A asked the volunteer about one of its needs (with `accepted`, they said
    yes): their answer page, or their introduction's `suffix` action."""

    def build(world: Any) -> str:
        from django.utils import timezone

        from handsup.needs.answers import do_accept, invitation_expiry
        from handsup.needs.models import Invitation

        need = _need_a_object(world)
        now = timezone.now()
        invitation = Invitation.objects.create(
            need=need,
            user=world.users["volunteer"],
            source=Invitation.Source.ASK,
            invited_by=world.users["organiser_a"],
            created_at=now,
            expires_at=invitation_expiry(need, now),
        )
        if accepted:
            do_accept(invitation=invitation, actor=world.users["volunteer"], share_phone=False)
            return f"/me/introductions/{invitation.public_id}/{suffix}"
        return f"/needs/{need.public_id}/answer/"

    return build


def _relay_invitation_a(world: Any) -> str:
    """Group A's need asked someone A registered on paper (phone only): a relay ask."""
    from datetime import timedelta

    from django.utils import timezone

    from handsup.needs.models import Invitation
    from handsup.people.offline import OfflineDetails, do_register_offline_person

    group = world.groups["group_a"]
    need = _need_a_object(world)
    person, _code = do_register_offline_person(
        organiser=world.users["organiser_a"],
        group=group,
        details=OfflineDetails(
            name="Relay Person",
            agreed_by="paper",
            email="",
            phone="0161 000 0001",
            postal_address="",
            channels=("phone",),
            share_contact=True,
            place=None,
        ),
        claim_link="http://testserver/claim/",
    )
    now = timezone.now()
    assert person.user is not None
    invitation = Invitation.objects.create(
        need=need,
        user=person.user,
        source="ask",
        channel="relay",
        invited_by=world.users["organiser_a"],
        created_at=now,
        expires_at=now + timedelta(days=7),
    )
    return f"/groups/manage/{group.public_id}/relay/{invitation.public_id}/"


def _people_a(suffix: str = "", *, offer: bool = False) -> Callable[[Any], str]:
    """The people page of an open need of group A, where the volunteer said yes (with a
    current contact grant, so the page names them), or with `offer` has offered and waits;
    `suffix` after the invitation's id, or the page itself when empty."""

    def build(world: Any) -> str:
        from datetime import timedelta

        from django.utils import timezone

        from handsup.needs.models import ContactGrant, Invitation, Need

        page = _need_a("people/", publish=True)(world)
        need = Need.objects.get(public_id=page.split("/")[5])
        now = timezone.now()
        invitation = Invitation.objects.create(
            need=need,
            user=world.users["volunteer"],
            source="offer" if offer else "ask",
            status="pending" if offer else "accepted",
            invited_by=None if offer else world.users["organiser_a"],
            created_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=13),
            answered_at=None if offer else now - timedelta(hours=1),
        )
        if not offer:
            need.filled_count = 1
            need.save(update_fields=["filled_count"])
            ContactGrant.objects.create(
                invitation=invitation,
                user=invitation.user,
                group=need.group,
                need=need,
                created_at=now - timedelta(hours=1),
                expires_at=now + timedelta(days=30),
            )
        return f"{page}{invitation.public_id}/{suffix}" if suffix else page

    return build


def _hours_today(world: Any) -> dict[str, Any]:
    from django.utils import timezone

    return {"hours": "2", "on_date": timezone.localdate().isoformat()}


def _commitment_of_volunteer(world: Any) -> str:
    """The volunteer offered for an open members-only need of A; its organiser accepted."""
    from handsup.needs.answers import do_accept
    from handsup.needs.offers import do_offer

    need = _need_a_object(world)
    offer = do_offer(actor=world.users["volunteer"], need=need, share_phone=False)
    do_accept(invitation=offer, actor=world.users["organiser_a"], share_phone=False)
    return f"/me/needs/{offer.public_id}/hours/"


def _hours_for_commitment(world: Any) -> dict[str, str]:
    from django.utils import timezone

    from handsup.needs.models import Invitation

    prefix = Invitation.objects.get(user=world.users["volunteer"], status="accepted").public_id
    return {
        f"{prefix}-hours": "1.5",
        f"{prefix}-on_date": timezone.localdate().isoformat(),
        f"{prefix}-note": "",
    }


IMPORTERS_A = ORGANISE_A | {"platform_admin"}


def _invitation_for_volunteer_other(world: Any) -> str:
    """Group A's import named the volunteer of group B, who already has an account."""
    from handsup.groups.models import GroupInvitation

    invitation = GroupInvitation.objects.create(
        group=world.groups["group_a"],
        user=world.users["volunteer_other"],
        invited_by=world.users["organiser_a"],
    )
    return f"/groups/invitations/{invitation.public_id}/"


def _unsubscribe_volunteer(world: Any) -> str:
    from handsup.messaging.unsubscribe import unsubscribe_token

    token = unsubscribe_token(
        world.users["volunteer"], scope="group", group=world.groups["group_a"]
    )
    return f"/unsubscribe/{token}/"


def _logo(world: Any) -> dict[str, Any]:
    return {"logo": world.small_png()}


def _data_export_of_volunteer(suffix: str = "") -> Callable[[Any], str]:
    """A ready "download my data" zip of the volunteer's."""

    def build(world: Any) -> str:
        from handsup.privacy.export import do_build_export, do_request_export

        export = do_build_export(export=do_request_export(user=world.users["volunteer"]))
        return f"/my-data/download/{export.public_id}/{suffix}"

    return build


def _private_file(world: Any) -> str:
    return f"/files/{world.private_file.public_id}/"


# The data protection officer's desk: officers and platform admins only.
DPO_DESK = frozenset({"dpo", "platform_admin"})


def _data_request(
    suffix: str = "", *, kind: str = "erasure", matched: bool = True, checked: bool = False
) -> Callable[[Any], str]:
    """A postal request logged today by the DPO, about the volunteer when `matched`,
    with their identity checked when `checked`."""

    def build(world: Any) -> str:
        from django.utils import timezone

        from handsup.privacy.desk import do_check_identity, do_log_request

        officer = world.users["dpo"]
        data_request = do_log_request(
            officer=officer,
            kind=kind,
            channel="post",
            received_on=timezone.localdate(),
            requester_details="Vera V, 1 Letter Lane",
            subject=world.users["volunteer"] if matched else None,
        )
        if checked:
            do_check_identity(officer=officer, data_request=data_request, note="Called them")
        return f"/dpo/requests/{data_request.public_id}/{suffix}"

    return build


def _desk_export(world: Any) -> str:
    """An access request whose export the desk has built."""
    from handsup.privacy.desk import do_run_export
    from handsup.privacy.models import DataRequest

    page = _data_request(kind="access", checked=True)(world)
    data_request = DataRequest.objects.get(public_id=page.split("/")[3])
    do_run_export(officer=world.users["dpo"], data_request=data_request)
    return f"{page}export/download/"


def _extension(world: Any) -> dict[str, str]:
    from django.utils import timezone

    from handsup.privacy.desk import latest_extension

    latest = latest_extension(timezone.localdate())
    return {"extend-extended_to": latest.isoformat(), "extend-reason": "Many records"}


MATRIX: dict[str, Expect] = {
    "": Expect(EVERYONE, why="home page"),
    "about/": Expect(EVERYONE),
    "me/": Expect(ENROLLED),
    "my-data/keep-my-account/": Expect(ENROLLED, why="one's own question; a GET changes nothing"),
    # "Your data": each person's own ledger, no id in the address. Withdrawing a consent
    # finds it among one's own events: the volunteer without consents has none (404).
    "my-data/": Expect(ENROLLED, why="one's own ledger"),
    "my-data/consents/withdraw/": Expect(
        ENROLLED - {"volunteer_no_consent"},
        method="post",
        data=lambda world: {"purpose": "found_movement"},
        why="withdraws one's own consent to be found; nobody else's can be named",
    ),
    # Delete my account: each person's own page, no id in the address. Only the GET is
    # here (the POST erases; tests in privacy/tests/test_erasure.py cover it).
    "my-data/delete/": Expect(ENROLLED, why="one's own account; the plan of its erasure"),
    "my-data/deleted/": Expect(PUBLIC, why="where an erased person lands, signed out"),
    "my-data/notice/": Expect(
        ENROLLED, why="the privacy notice, and agreeing again to one's own consents"
    ),
    # The record of processing: the data protection officer and platform admins.
    "dpo/record/": Expect(frozenset({"dpo", "platform_admin"})),
    "dpo/record.csv": Expect(frozenset({"dpo", "platform_admin"})),
    # Download my data: one's own page; an export's zip and progress are its owner's only.
    "my-data/download/": Expect(ENROLLED, why="one's own downloads"),
    "my-data/download/<str:public_id>/": Expect(
        frozenset({"volunteer"}),
        path=_data_export_of_volunteer(),
        why="the volunteer's zip: anyone else gets the 'no such download' 404",
    ),
    "my-data/download/<str:public_id>/progress/": Expect(
        frozenset({"volunteer"}), path=_data_export_of_volunteer("progress/")
    ),
    # Retention's reports: counts only, for the data protection officer and platform admins.
    "dpo/retention/": Expect(frozenset({"dpo", "platform_admin"}), why="retention reports"),
    # Putting your hand up: step 1 makes the account, so it is for anonymous people
    # (someone signed in is sent on to the next step or their profile); the other steps
    # and the profile pages are each person's own, with no id in the address.
    "hand-up/": Expect(frozenset({"anonymous"}), why="signed-in people are sent onwards"),
    "hand-up/skills/": Expect(ENROLLED, why="one's own skills"),
    "hand-up/when/": Expect(ENROLLED, why="one's own availability"),
    "hand-up/contact/": Expect(ENROLLED, why="one's own preferences"),
    "me/profile/": Expect(ENROLLED, why="one's own profile"),
    "me/profile/skills/": Expect(ENROLLED),
    "me/profile/availability/": Expect(ENROLLED),
    "me/profile/contact/": Expect(ENROLLED),
    "me/profile/about/": Expect(ENROLLED),
    "me/profile/travel/": Expect(ENROLLED),
    "me/profile/dates-away/": Expect(ENROLLED),
    "platform/": Expect(frozenset({"platform_admin"})),
    "files/<str:public_id>/": Expect(
        frozenset({"organiser_a", "admin_a", "platform_admin"}),
        path=_private_file,
        why="group A's export, owned by organiser A: its owner and A's admins",
    ),
    "demo/sent-mail/": Expect(NONE, why="404 outside demo mode"),
    # Groups: finding and joining (public), running (the group's own people).
    "groups/": Expect(PUBLIC),
    "groups/new/": Expect(ENROLLED),
    "groups/approvals/": Expect(ENROLLED, why="each sees the groups they may approve"),
    "groups/approvals/<str:public_id>/": Expect(
        frozenset({"admin_a", "platform_admin"}),
        path=lambda world: f"/groups/approvals/{world.pending_group.public_id}/",
        method="post",
        data=lambda world: {"decision": "approve"},
        why="a sub-group of A waiting: A's admins and platform admins decide",
    ),
    "groups/manage/<str:public_id>/": Expect(FIGURES_A, path=_manage_a()),
    "groups/manage/<str:public_id>/members/": Expect(ORGANISE_A, path=_manage_a("members/")),
    "groups/manage/<str:public_id>/members/export.csv": Expect(
        ORGANISE_A, path=_manage_a("members/export.csv")
    ),
    "groups/manage/<str:public_id>/members/<str:member_id>/": Expect(
        ORGANISE_A,
        path=lambda world: (
            f"/groups/manage/{world.groups['group_a'].public_id}/members/"
            f"{world.volunteer_membership.public_id}/"
        ),
        why="a member's profile: group A's organisers only, never another group's",
    ),
    "groups/manage/<str:public_id>/members/<str:member_id>/role/": Expect(
        ADMINISTER_A,
        path=lambda world: (
            f"/groups/manage/{world.groups['group_a'].public_id}/members/"
            f"{world.volunteer_membership.public_id}/role/"
        ),
    ),
    "groups/manage/<str:public_id>/requests/": Expect(ADMINISTER_A, path=_manage_a("requests/")),
    "groups/manage/<str:public_id>/requests/<str:request_id>/": Expect(
        ADMINISTER_A,
        path=lambda world: (
            f"/groups/manage/{world.groups['group_a'].public_id}/requests/"
            f"{world.join_request.public_id}/"
        ),
        method="post",
        data=lambda world: {"decision": "approve"},
    ),
    "groups/manage/<str:public_id>/settings/": Expect(ADMINISTER_A, path=_manage_a("settings/")),
    "groups/manage/<str:public_id>/logo/": Expect(
        ADMINISTER_A, path=_manage_a("logo/"), method="post", data=_logo
    ),
    "groups/manage/<str:public_id>/sub-groups/new/": Expect(
        ADMINISTER_A, path=_manage_a("sub-groups/new/")
    ),
    "groups/manage/<str:public_id>/archive/": Expect(ADMINISTER_A, path=_manage_a("archive/")),
    "groups/manage/<str:public_id>/figures/": Expect(FIGURES_A, path=_manage_a("figures/")),
    "groups/<slug:slug>/": Expect(PUBLIC, path=_group_a_page()),
    "groups/<slug:slug>/join/": Expect(ENROLLED, path=_group_a_page("join/")),
    "groups/<slug:slug>/leave/": Expect(
        frozenset({"volunteer", "volunteer_no_consent", "organiser_a", "admin_a"}),
        path=_group_a_page("leave/"),
        why="members of A; anyone else is sent back to the group's page",
    ),
    "groups/invitations/<str:public_id>/": Expect(
        frozenset({"volunteer_other"}),
        path=_invitation_for_volunteer_other,
        method="post",
        data=lambda world: {"decision": "join"},
        why="only the invited person answers their own invitation",
    ),
    "groups/<slug:slug>/block/": Expect(ENROLLED, path=_group_a_page("block/")),
    "groups/<slug:slug>/unblock/": Expect(ENROLLED, path=_group_a_page("unblock/"), method="post"),
    # People who are not online: group A's organisers register them; they claim later.
    "groups/manage/<str:public_id>/people/new/": Expect(ORGANISE_A, path=_manage_a("people/new/")),
    "groups/manage/<str:public_id>/people/<str:person_id>/": Expect(
        ORGANISE_A, path=_offline_person_a()
    ),
    "groups/manage/<str:public_id>/people/<str:person_id>/letter/": Expect(
        ORGANISE_A,
        path=_offline_person_a("letter/"),
        method="post",
        why="makes a new claim code and shows the letter to print",
    ),
    # Importing lists: group A's organisers into A, platform admins anywhere.
    "groups/manage/<str:public_id>/import/": Expect(IMPORTERS_A, path=_manage_a("import/")),
    "imports/new/": Expect(frozenset({"platform_admin"}), why="movement-wide imports"),
    "imports/<str:public_id>/": Expect(IMPORTERS_A, path=_import_job_a()),
    "imports/<str:public_id>/columns/": Expect(
        IMPORTERS_A,
        path=_import_job_a("columns/"),
        method="post",
        data=lambda world: {"column_0": "email", "column_1": "name", "column_2": "postcode"},
    ),
    "imports/<str:public_id>/start/": Expect(
        IMPORTERS_A, path=_import_job_a("start/"), method="post", data=lambda w: {"dry_run": "1"}
    ),
    "imports/<str:public_id>/cancel/": Expect(
        IMPORTERS_A, path=_import_job_a("cancel/"), method="post"
    ),
    "imports/<str:public_id>/progress/": Expect(IMPORTERS_A, path=_import_job_a("progress/")),
    "imports/<str:public_id>/rejected-rows.csv": Expect(
        IMPORTERS_A, path=_import_job_a("rejected-rows.csv", ran=True)
    ),
    # Messaging: each volunteer's own ledger; group A's organisers write its updates,
    # its admins (and platform admins) declare its campaign periods.
    "me/messages/": Expect(ENROLLED, why="one's own contact ledger"),
    "groups/manage/<str:public_id>/updates/": Expect(ORGANISE_A, path=_manage_a("updates/")),
    "groups/manage/<str:public_id>/updates/new/": Expect(
        ORGANISE_A, path=_manage_a("updates/new/")
    ),
    "groups/manage/<str:public_id>/campaigns/": Expect(ADMINISTER_A, path=_manage_a("campaigns/")),
    "platform/campaigns/": Expect(frozenset({"platform_admin"})),
    "platform/contact-limits/": Expect(frozenset({"platform_admin"})),
    "platform/dead-letters/": Expect(frozenset({"platform_admin"})),
    # One-click unsubscribe: the signed token is the authority, so no login is needed.
    "unsubscribe/<str:token>/": Expect(
        PUBLIC,
        path=_unsubscribe_volunteer,
        why="a GET only shows the page; the signed token names whose mail it stops",
    ),
    # Needs: group A's organisers post and run A's needs; a need's page is for those who
    # run it and, once open, for whoever its visibility lets in (here: A's members).
    "groups/manage/<str:public_id>/needs/": Expect(ORGANISE_A, path=_manage_a("needs/")),
    "groups/manage/<str:public_id>/needs/new/": Expect(ORGANISE_A, path=_manage_a("needs/new/")),
    "groups/manage/<str:public_id>/needs/<str:need_id>/edit/": Expect(
        ORGANISE_A, path=_need_a("edit/")
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/publish/": Expect(
        ORGANISE_A, path=_need_a("publish/"), method="post", why="publishes a draft"
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/close/": Expect(
        ORGANISE_A, path=_need_a("close/", publish=True), method="post"
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/shortlist/": Expect(
        ORGANISE_A,
        path=_need_a("shortlist/", publish=True),
        why="pseudonymous cards, access-logged; B's organiser gets 404",
    ),
    "needs/<str:public_id>/": Expect(
        frozenset({"volunteer", "volunteer_no_consent", "organiser_a", "admin_a"}),
        path=_need_a(manage=False, publish=True),
        why="an open members-only need of A: A's members (and its organisers) only",
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/invite/": Expect(
        ORGANISE_A,
        path=_need_a("invite/", publish=True),
        method="post",
        data=lambda world: {"person": ["0" * 64]},
        why="counts only, writes nothing; a card that maps to nobody is reported",
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/invite/send/": Expect(
        ORGANISE_A,
        path=_need_a("invite/send/", publish=True),
        method="post",
        data=lambda world: {"person": ["0" * 64]},
        why="nobody to ask: back to the shortlist with a message; B's organiser gets 404",
    ),
    "groups/manage/<str:public_id>/relay/": Expect(
        ORGANISE_A,
        path=_manage_a("relay/"),
        why="names and numbers of people A registered on paper, access-logged",
    ),
    "groups/manage/<str:public_id>/relay/<str:invitation_id>/": Expect(
        ORGANISE_A,
        path=_relay_invitation_a,
        method="post",
        data=lambda world: {"answer": "no", "reason": "not_now"},
        why="records the answer through answers.do_decline; any other group gets 404",
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/people/": Expect(
        ORGANISE_A,
        path=_people_a(),
        why="names only people with a current grant, access-logged; B's organiser gets 404",
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/people/<str:invitation_id>/offer/": Expect(
        ORGANISE_A,
        path=_people_a("offer/", offer=True),
        method="post",
        data=lambda world: {"answer": "yes"},
        why="accepts the volunteer's offer (introductions both ways)",
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/people/<str:invitation_id>/outcome/": Expect(
        ORGANISE_A,
        path=_people_a("outcome/"),
        method="post",
        data=lambda world: {"helped": "yes"},
        why="records that the volunteer helped (and thanks them)",
    ),
    "groups/manage/<str:public_id>/needs/<str:need_id>/people/<str:invitation_id>/hours/": Expect(
        ORGANISE_A,
        path=_people_a("hours/"),
        method="post",
        data=_hours_today,
        why="logs hours for the volunteer who said yes",
    ),
    "needs/<str:public_id>/answer/": Expect(
        frozenset({"volunteer"}),
        path=_invited_volunteer(),
        why="only the person invited; anyone else gets the 'no invitation for you' 404",
    ),
    "me/introductions/": Expect(ENROLLED, why="one's own introductions"),
    "me/introductions/<str:invitation_id>/revoke/": Expect(
        frozenset({"volunteer"}), path=_invited_volunteer("revoke/", accepted=True), method="post"
    ),
    "me/introductions/<str:invitation_id>/renew/": Expect(
        frozenset({"volunteer"}),
        path=_invited_volunteer("renew/", accepted=True),
        method="post",
        why="a fresh grant can't be renewed yet: a message and a redirect back",
    ),
    # Needs, the volunteer's side: each person's own list, commitments and calendar.
    "needs/": Expect(ENROLLED, why="one's own 'needs for me'"),
    "needs/<str:public_id>/offer/": Expect(
        frozenset({"volunteer", "organiser_a", "admin_a"}),
        path=lambda world: _need_a(manage=False, publish=True)(world) + "offer/",
        method="post",
        why="an open members-only need of A: members who let groups find them; "
        "the member without consents gets 403, everyone else 404",
    ),
    "me/needs/": Expect(ENROLLED, why="one's own commitments"),
    "me/needs/calendar.ics": Expect(ENROLLED, why="one's own commitments as iCalendar"),
    "me/needs/<str:invitation_id>/hours/": Expect(
        frozenset({"volunteer"}),
        path=_commitment_of_volunteer,
        method="post",
        data=_hours_for_commitment,
        why="only the volunteer whose yes it is; anyone else gets 404",
    ),
    "claim/": Expect(frozenset({"anonymous"}), why="signed-in people are redirected"),
    "sign-up-form/": Expect(PUBLIC, why="the printable paper form"),
    "me/profile/print/": Expect(ENROLLED, why="one's own profile summary"),
    "platform/limits/": Expect(frozenset({"platform_admin"})),
    "platform/groups/<str:public_id>/suspend/": Expect(
        frozenset({"platform_admin"}),
        path=lambda world: f"/platform/groups/{world.groups['group_b'].public_id}/suspend/",
    ),
    "platform/people/<str:public_id>/suspend/": Expect(
        frozenset({"platform_admin"}),
        path=lambda world: f"/platform/people/{world.users['volunteer_other'].public_id}/suspend/",
    ),
    # The DPO's desk (privacy/views_desk.py): every step posts to its own address.
    "dpo/": Expect(DPO_DESK, why="the open requests; names nobody"),
    "dpo/requests/new/": Expect(DPO_DESK),
    "dpo/requests/<str:public_id>/": Expect(
        DPO_DESK, path=_data_request(), why="names the matched account, access-logged"
    ),
    "dpo/requests/<str:public_id>/match/": Expect(
        DPO_DESK,
        path=_data_request("match/", kind="access", matched=False),
        method="post",
        data=lambda world: {"match-email": world.users["volunteer"].email},
    ),
    "dpo/requests/<str:public_id>/identity/": Expect(
        DPO_DESK,
        path=_data_request("identity/"),
        method="post",
        data=lambda world: {"identity-note": "Called the number on their account"},
    ),
    "dpo/requests/<str:public_id>/extend/": Expect(
        DPO_DESK, path=_data_request("extend/"), method="post", data=_extension
    ),
    "dpo/requests/<str:public_id>/export/": Expect(
        DPO_DESK,
        path=_data_request("export/", kind="access", checked=True),
        method="post",
        why="builds the volunteer's export, owned by them",
    ),
    "dpo/requests/<str:public_id>/export/download/": Expect(
        DPO_DESK, path=_desk_export, why="the volunteer's zip, access-logged"
    ),
    "dpo/requests/<str:public_id>/erase/": Expect(
        DPO_DESK,
        path=_data_request("erase/", checked=True),
        method="post",
        data=lambda world: {"erase-confirm": "on"},
        why="erases the volunteer (undone after each persona)",
    ),
    "dpo/requests/<str:public_id>/close/": Expect(
        DPO_DESK,
        path=_data_request("close/"),
        method="post",
        data=lambda world: {"close-status": "refused", "close-outcome": "Withdrawn"},
    ),
    # Account pages: a signed-in person manages their own account only.
    "accounts/login/": Expect(frozenset({"anonymous"}), why="signed-in people are redirected"),
    "accounts/logout/": Expect(SIGNED_IN),
    "accounts/inactive/": Expect(EVERYONE),
    "accounts/signup/": Expect(frozenset({"anonymous"})),
    "accounts/reauthenticate/": Expect(SIGNED_IN),
    "accounts/reauthenticate/code/": Expect(SIGNED_IN, why="one's own reauthentication"),
    "accounts/reauthenticate/code/confirm/": Expect(NONE, why="only after asking for a code"),
    "accounts/email/": Expect(SIGNED_IN),
    "accounts/confirm-email/": Expect(EVERYONE),
    "accounts/password/change/": Expect(SIGNED_IN),
    "accounts/password/set/": Expect(NONE, why="everyone has a password: redirects"),
    "accounts/password/reset/": Expect(EVERYONE),
    "accounts/login/code/": Expect(frozenset({"anonymous"}), why="signed-in people are redirected"),
    "accounts/login/code/confirm/": Expect(NONE, why="only after asking for a code"),
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": Expect(
        EVERYONE, path=lambda world: "/accounts/confirm-email/not-a-real-key/"
    ),
    "accounts/password/reset/key/done/": Expect(EVERYONE),
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": Expect(
        EVERYONE, path=lambda world: "/accounts/password/reset/key/1-not-a-key/"
    ),
    "accounts/password/reset/done/": Expect(EVERYONE),
    "accounts/2fa/": Expect(SIGNED_IN),
    "accounts/2fa/authenticate/": Expect(NONE, why="only during a login with MFA"),
    "accounts/2fa/reauthenticate/": Expect(WITH_MFA),
    "accounts/2fa/totp/activate/": Expect(
        SIGNED_IN - WITH_MFA, why="only for people without TOTP yet"
    ),
    "accounts/2fa/totp/deactivate/": Expect(WITH_MFA),
    "accounts/2fa/recovery-codes/": Expect(WITH_MFA),
    "accounts/2fa/recovery-codes/generate/": Expect(SIGNED_IN, why="one's own codes"),
    "accounts/2fa/recovery-codes/download/": Expect(WITH_MFA),
    # The API: only the health check exists so far; docs are public.
    "api/v1/openapi.json": Expect(EVERYONE),
    "api/v1/docs": Expect(EVERYONE),
    "api/v1/health": Expect(EVERYONE),
    "api/v1/": Expect(NONE, why="no operation at the API root"),
}

# The Django admin: staff only, and only the platform admin is staff.
ADMIN_STAFF = frozenset({"platform_admin"})
ADMIN_FIXED: dict[str, Expect] = {
    "admin/": Expect(ADMIN_STAFF),
    "admin/login/": Expect(NONE, why="redirects everyone to allauth's login, MFA included"),
    "admin/logout/": Expect(PUBLIC, method="post", why="logging out is harmless for anyone"),
    "admin/password_change/": Expect(ADMIN_STAFF),
    "admin/password_change/done/": Expect(ADMIN_STAFF),
    "admin/autocomplete/": Expect(NONE, why="needs a model and field; 403 for staff"),
    "admin/jsi18n/": Expect(ADMIN_STAFF),
    "admin/r/<path:content_type_id>/<path:object_id>/": Expect(
        NONE, path=lambda world: "/admin/r/1/1/", why="no model has a public page"
    ),
    "admin/(?P<url>.*)$": Expect(NONE, path=lambda world: "/admin/no-such-page/"),
}
# Per registered model: the list, add, and object pages.
ADMIN_MODEL_ROUTES = {
    "": ADMIN_STAFF,
    "add/": ADMIN_STAFF,
    "<path:object_id>/history/": ADMIN_STAFF,
    "<path:object_id>/delete/": ADMIN_STAFF,
    "<path:object_id>/change/": ADMIN_STAFF,
    "<path:object_id>/": NONE,  # redirects to the change page
}
# Pages an admin class switches off: task results are never added or deleted by hand.
ADMIN_SWITCHED_OFF = {
    "django_tasks_database/dbtaskresult/": {"add/", "<path:object_id>/delete/"},
    # Purposes and notices are referenced by consent records, which outlive them.
    "privacy/purpose/": {"<path:object_id>/delete/"},
    "privacy/privacynotice/": {"<path:object_id>/delete/"},
}
