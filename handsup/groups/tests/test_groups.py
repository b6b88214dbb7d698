"""Groups: joining, leaving, blocking, running a group, and every bad input of issue 4."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from handsup.groups.actions import GroupRuleBroken, check_parent_allowed
from handsup.groups.models import (
    Departure,
    Group,
    GroupBlock,
    JoinRequest,
    Membership,
    MovementLimits,
    PersonSuspension,
)
from handsup.privacy.models import AccessLogEntry, AuditEntry

pytestmark = pytest.mark.django_db


def png_bytes(size=(40, 40), exif: bytes | None = None, fmt="PNG") -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 10, 40))
    kwargs = {"exif": exif} if exif else {}
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def test_joining_an_open_group_makes_a_membership_and_an_audit_row(cast):
    group = cast.groups["group_b"]
    client = cast.client_for("volunteer")
    assert client.get(f"/groups/{group.slug}/join/").status_code == 200
    response = client.post(f"/groups/{group.slug}/join/")
    assert response.status_code == 302
    assert Membership.objects.filter(user=cast.users["volunteer"], group=group).exists()
    assert AuditEntry.objects.filter(action="group.joined", group=group).count() == 1


def test_joining_a_group_that_needs_approval_makes_a_request_an_admin_decides(cast):
    group = cast.groups["group_a"]
    group.join_policy = Group.JoinPolicy.APPROVAL
    group.save()
    cast.client_for("volunteer_other").post(f"/groups/{group.slug}/join/")
    request = JoinRequest.objects.get(user=cast.users["volunteer_other"], group=group)
    admin = cast.client_for("admin_a")
    page = admin.get(f"/groups/manage/{group.public_id}/requests/")
    assert cast.marker("volunteer_other").encode() in page.content
    # Showing the requester's name to the admin is an access-logged read.
    assert AccessLogEntry.objects.filter(
        actor=cast.users["admin_a"], subject=cast.users["volunteer_other"]
    ).exists()
    admin.post(
        f"/groups/manage/{group.public_id}/requests/{request.public_id}/",
        {"decision": "approve"},
    )
    request.refresh_from_db()
    assert request.status == JoinRequest.Status.APPROVED
    assert Membership.objects.filter(user=cast.users["volunteer_other"], group=group).exists()
    # Asking twice is refused with a message, not a second row.
    group2 = cast.groups["group_b"]
    group2.join_policy = Group.JoinPolicy.APPROVAL
    group2.save()
    client = cast.client_for("volunteer")
    client.post(f"/groups/{group2.slug}/join/")
    again = client.post(f"/groups/{group2.slug}/join/")
    assert again.status_code == 400
    assert b"already asked" in again.content
    assert JoinRequest.objects.filter(user=cast.users["volunteer"], group=group2).count() == 1


@pytest.mark.parametrize("status", ["archived", "suspended"])
def test_a_join_request_to_an_archived_or_suspended_group_is_refused(cast, status):
    group = cast.groups["group_b"]
    group.status = status
    group.save()
    response = cast.client_for("volunteer").post(f"/groups/{group.slug}/join/")
    if status == "suspended":
        # Suspended groups are hidden from everyone but their people and platform admins.
        assert response.status_code == 404
    else:
        assert response.status_code == 400
        assert b"not taking new members" in response.content
    assert not Membership.objects.filter(user=cast.users["volunteer"], group=group).exists()


def test_leaving_explains_retention_and_records_a_departure(cast):
    group = cast.groups["group_a"]
    client = cast.client_for("volunteer")
    page = client.get(f"/groups/{group.slug}/leave/")
    assert b"not the same as deleting your account" in page.content
    client.post(f"/groups/{group.slug}/leave/")
    assert not Membership.objects.filter(user=cast.users["volunteer"], group=group).exists()
    departure = Departure.objects.get(user=cast.users["volunteer"], group=group)
    assert departure.retain_until > departure.left_at.date()


def test_the_last_admin_cannot_leave_or_be_demoted(cast):
    group = cast.groups["group_a"]
    admin = cast.client_for("admin_a")
    response = admin.post(f"/groups/{group.slug}/leave/")
    assert response.status_code == 400
    assert b"no admin" in response.content
    membership = Membership.objects.get(user=cast.users["admin_a"], group=group)
    response = admin.post(
        f"/groups/manage/{group.public_id}/members/{membership.public_id}/role/",
        {"role": "member"},
    )
    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.role == "admin"


def test_an_admin_makes_someone_an_organiser(cast):
    group = cast.groups["group_a"]
    membership = Membership.objects.get(user=cast.users["volunteer"], group=group)
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/members/{membership.public_id}/role/",
        {"role": "organiser"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "organiser"
    # The new organiser is sent to enrol MFA before any page.
    new_organiser = cast.client_for("volunteer")
    assert "/accounts/2fa/totp/activate/" in new_organiser.get("/me/")["Location"]


def test_blocking_a_group_removes_membership_and_records_the_block(cast):
    group = cast.groups["group_a"]
    client = cast.client_for("volunteer")
    client.post(f"/groups/{group.slug}/block/")
    assert GroupBlock.objects.filter(user=cast.users["volunteer"], group=group).exists()
    assert not Membership.objects.filter(user=cast.users["volunteer"], group=group).exists()
    client.post(f"/groups/{group.slug}/unblock/")
    assert not GroupBlock.objects.filter(user=cast.users["volunteer"], group=group).exists()


def test_the_member_list_shows_email_only_with_consent_and_logs_each_member(cast):
    group = cast.groups["group_a"]
    response = cast.client_for("organiser_a").get(f"/groups/manage/{group.public_id}/members/")
    body = response.content.decode()
    assert cast.users["volunteer"].email in body
    assert cast.users["volunteer_no_consent"].email not in body
    assert cast.marker("volunteer_no_consent") in body  # the name, without contact details
    entries = {
        entry.subject_id: entry.fields
        for entry in AccessLogEntry.objects.filter(actor=cast.users["organiser_a"])
    }
    assert "email" in entries[cast.users["volunteer"].pk]
    assert "email" not in entries[cast.users["volunteer_no_consent"].pk]
    assert cast.users["organiser_a"].pk not in entries  # reading yourself is not logged


def test_organiser_of_b_gets_404_on_a_member_list(cast):
    group = cast.groups["group_a"]
    response = cast.client_for("organiser_b").get(f"/groups/manage/{group.public_id}/members/")
    assert response.status_code == 404


def test_duplicate_and_reserved_slugs_are_refused(cast):
    client = cast.client_for("volunteer")
    taken = cast.groups["group_a"].slug
    for slug in (taken, "manage"):
        response = client.post(
            "/groups/new/",
            {"name": "Anything", "slug": slug, "kind": "campaign", "description": "x"},
        )
        assert response.status_code == 400
        assert b"error-summary" in response.content
        assert b"Anything" in response.content  # what was typed is kept
    assert not Group.objects.filter(name="Anything").exists()


def test_a_group_cannot_be_made_its_own_ancestor(cast):
    region = cast.groups["north_west"]
    with pytest.raises(GroupRuleBroken):
        check_parent_allowed(region, cast.groups["group_a"])
    with pytest.raises(GroupRuleBroken):
        check_parent_allowed(region, region)


def test_a_requested_sub_group_is_approved_by_the_parents_admin(cast):
    parent = cast.groups["group_a"]
    cast.client_for("admin_a").post(
        f"/groups/manage/{parent.public_id}/sub-groups/new/",
        {"name": "Ancoats Branch", "slug": "", "kind": "branch", "description": "Ancoats"},
    )
    branch = Group.objects.get(slug="ancoats-branch")
    assert branch.status == Group.Status.PENDING
    # Not approvable by the organiser of another group; approvable by the parent's admin.
    refused = cast.client_for("organiser_b").post(
        f"/groups/approvals/{branch.public_id}/", {"decision": "approve"}
    )
    assert refused.status_code == 404
    cast.client_for("admin_a").post(
        f"/groups/approvals/{branch.public_id}/", {"decision": "approve"}
    )
    branch.refresh_from_db()
    assert branch.status == Group.Status.ACTIVE
    assert Membership.objects.get(group=branch, user=cast.users["admin_a"]).role == "admin"


def test_a_policy_looser_than_the_movement_allows_is_refused_and_nothing_changes(cast):
    group = cast.groups["group_a"]
    limits = MovementLimits.current()
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/settings/",
        {
            "description": "New words",
            "join_policy": "open",
            "updates_per_week_normal": limits.updates_per_week_normal + 1,
            "updates_per_week_campaign": limits.updates_per_week_campaign,
            "retention_months": limits.max_retention_months + 1,
        },
    )
    assert response.status_code == 400
    assert b"at most" in response.content
    assert b"New words" in response.content
    group.refresh_from_db()
    assert group.description != "New words"


def test_settings_with_an_area_set_the_groups_centre(cast, places):
    group = cast.groups["group_a"]
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/settings/",
        {
            "description": "Manchester",
            "join_policy": "open",
            "area_districts": "m1, M2",
            "updates_per_week_normal": 1,
            "updates_per_week_campaign": 2,
            "retention_months": 6,
        },
    )
    assert response.status_code == 302, response.content
    group.refresh_from_db()
    assert group.area_districts == "M1, M2"
    assert 380_000 < group.centre_eastings < 390_000
    assert 395_000 < group.centre_northings < 400_000


def test_an_unknown_district_in_the_area_is_explained(cast, places):
    group = cast.groups["group_a"]
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/settings/",
        {
            "join_policy": "open",
            "area_districts": "BT1",
            "updates_per_week_normal": 1,
            "updates_per_week_campaign": 2,
            "retention_months": 6,
        },
    )
    assert response.status_code == 400
    assert b"Northern Ireland" in response.content


def test_directory_finds_groups_near_a_postcode(cast, places):
    group = cast.groups["group_a"]
    group.area_districts = "M1"
    group.centre_eastings, group.centre_northings = 384_500, 397_800
    group.save()
    response = cast.client_for("anonymous").get("/groups/", {"near": "M1 1AE"})
    assert response.status_code == 200
    assert group.name.encode() in response.content
    assert cast.groups["group_b"].name.encode() not in response.content  # Cardiff is far
    bad = cast.client_for("anonymous").get("/groups/", {"near": "BT1 1AA"})
    assert bad.status_code == 200
    assert b"Northern Ireland" in bad.content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not an image at all", b"an image we can read"),
        (png_bytes(fmt="GIF"), b"PNG, JPEG or WebP"),
        (b"\x89PNG" + b"0" * 1_100_000, b"1 MB or smaller"),
    ],
)
def test_bad_logos_are_refused(cast, content, message):
    group = cast.groups["group_a"]
    upload = SimpleUploadedFile("logo.png", content, content_type="image/png")
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/logo/", {"logo": upload}
    )
    assert response.status_code == 400
    assert message in response.content
    group.refresh_from_db()
    assert not group.logo


def test_a_logo_is_reencoded_without_metadata(cast, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": "/media/"},
        },
    }
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    jpeg = io.BytesIO()
    Image.new("RGB", (2000, 1000), (1, 2, 3)).save(jpeg, format="JPEG", exif=exif.tobytes())
    group = cast.groups["group_a"]
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/logo/",
        {"logo": SimpleUploadedFile("photo.jpg", jpeg.getvalue(), content_type="image/jpeg")},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    with group.logo.open("rb") as stored:
        data = stored.read()
    assert b"secret description" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert max(image.size) <= 1024


def test_platform_admin_suspends_a_person_with_a_reason(cast):
    person = cast.users["volunteer_other"]
    client = cast.client_for("platform_admin")
    found = client.get("/platform/", {"email": person.email})
    assert person.public_id.encode() in found.content
    missing_reason = client.post(f"/platform/people/{person.public_id}/suspend/", {"reason": ""})
    assert missing_reason.status_code == 400
    client.post(f"/platform/people/{person.public_id}/suspend/", {"reason": "Abuse reported"})
    person.refresh_from_db()
    assert not person.is_active
    assert PersonSuspension.objects.get(user=person).reason == "Abuse reported"


def test_platform_admin_suspends_a_group_and_it_vanishes_from_the_directory(cast):
    group = cast.groups["group_b"]
    cast.client_for("platform_admin").post(
        f"/platform/groups/{group.public_id}/suspend/", {"reason": "Under review"}
    )
    group.refresh_from_db()
    assert group.status == Group.Status.SUSPENDED
    assert group.status_reason == "Under review"
    assert group.name.encode() not in cast.client_for("anonymous").get("/groups/").content


def test_movement_limits_refuse_campaign_below_normal(cast):
    client = cast.client_for("platform_admin")
    response = client.post(
        "/platform/limits/",
        {"updates_per_week_normal": 3, "updates_per_week_campaign": 2, "max_retention_months": 12},
    )
    assert response.status_code == 400
    assert MovementLimits.current().updates_per_week_normal == 1


def test_parent_admin_sees_figures_for_sub_groups_never_people(cast):
    region = cast.groups["north_west"]
    response = cast.client_for("admin_parent").get(f"/groups/manage/{region.public_id}/figures/")
    assert response.status_code == 200
    assert cast.groups["group_a"].name.encode() in response.content
    for key in ("volunteer", "organiser_a", "admin_a"):
        assert cast.marker(key).encode() not in response.content


@pytest.mark.parametrize(
    ("persona", "path", "queries"),
    [
        ("volunteer", "/groups/", 4),
        ("organiser_a", "/groups/manage/{a}/members/", 10),
        ("platform_admin", "/groups/approvals/", 4),
        ("admin_parent", "/groups/manage/{r}/figures/", 10),
        ("admin_a", "/groups/manage/{a}/requests/", 6),
    ],
)
def test_list_pages_use_a_fixed_number_of_queries(
    cast, django_assert_num_queries, persona, path, queries
):
    """Pinned, and adding rows to the list adds no query."""
    path = path.format(a=cast.groups["group_a"].public_id, r=cast.groups["north_west"].public_id)
    # One of everything listed from the start, so the first count includes the
    # access-log insert a non-empty page makes.
    JoinRequest.objects.create(user=cast.users["volunteer_other"], group=cast.groups["group_a"])
    client = cast.client_for(persona)
    client.get(path)
    with django_assert_num_queries(queries):
        client.get(path)
    User = type(cast.users["volunteer"])
    for index in range(6):
        extra = Group.objects.create(
            name=f"Extra {index}",
            slug=f"extra-{index}",
            kind="constituency",
            # Beside group A, so the tree grows wider (more rows), not deeper.
            parent=cast.groups["north_west"],
            status="pending" if index % 2 else "active",
        )
        user = User.objects.create_user(f"extra{index}@example.org", "x", full_name=f"E {index}")
        Membership.objects.create(user=user, group=cast.groups["group_a"])
        Membership.objects.create(user=user, group=extra)
        JoinRequest.objects.create(user=user, group=cast.groups["group_a"])
    with django_assert_num_queries(queries):
        response = client.get(path)
    assert response.status_code == 200


def test_the_admin_refuses_to_make_a_group_its_own_ancestor(cast):
    region = cast.groups["north_west"]
    client = cast.client_for("platform_admin")
    response = client.post(
        f"/admin/groups/group/{region.pk}/change/",
        {
            "name": region.name,
            "slug": region.slug,
            "kind": region.kind,
            "parent": cast.groups["group_a"].pk,
            "status": "active",
            "join_policy": "open",
            "updates_per_week_normal": 1,
            "updates_per_week_campaign": 2,
            "retention_months": 6,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"inside itself" in response.content
    region.refresh_from_db()
    assert region.parent_id == cast.groups["national"].pk


def test_the_group_colour_is_applied_under_the_csp(cast):
    group = cast.groups["group_a"]
    group.colour = "#123abc"
    group.save()
    response = cast.client_for("anonymous").get(f"/groups/{group.slug}/")
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in response.content.decode()
    assert b"#123abc" in response.content


def test_the_member_list_never_shows_an_offline_persons_placeholder_address(cast):
    from handsup.privacy.consent import grant_standard_consents

    group = cast.groups["group_a"]
    User = type(cast.users["volunteer"])
    offline = User.objects.create_user(
        "unclaimed-0123456789abcdef@unclaimed.handsup.invalid", None, full_name="Paper Person"
    )
    Membership.objects.create(user=offline, group=group)
    grant_standard_consents(offline, [group], source="paper", recorded_by=cast.users["admin_a"])
    response = cast.client_for("organiser_a").get(f"/groups/manage/{group.public_id}/members/")
    assert b"Paper Person" in response.content
    assert b"unclaimed.handsup.invalid" not in response.content
