"""The seed's "groups" step: the movement's tree, members, roles, approvals and consents."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q

from handsup.accounts.models import User
from handsup.core.seeding import SeedContext
from handsup.groups.models import Departure, Group, GroupBlock, JoinRequest, Membership
from handsup.groups.seeding import (
    AREA_DISTRICTS_MAX,
    MAX_CONSTITUENCIES,
    REGIONS,
    SLUG_PREFIX,
    _located_districts,
    _plan_tree,
    district_sort_key,
    split_into_blocks,
)
from handsup.people.models import Person
from handsup.people.seeding import SeededPeople
from handsup.places.areas import AREA_NAMES
from handsup.places.models import PostcodeDistrict
from handsup.places.postcodes import CROWN_DEPENDENCY_AREAS, NORTHERN_IRELAND_AREAS
from handsup.privacy.consent import has_consent, users_with_consent
from handsup.privacy.models import AccessLogEntry, ConsentEvent, PrivacyNotice
from handsup.privacy.register import PurposeCode

pytestmark = pytest.mark.usefixtures("places")

VOLUNTEERS = "3000"
PRIVILEGED = (Membership.Role.ORGANISER, Membership.Role.ADMIN)


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed", *args, "--no-progress", stdout=out)
    return out.getvalue()


def seeded_groups() -> dict[str, Group]:
    return {group.slug: group for group in Group.objects.filter(seeded=True)}


def group_rows() -> list[tuple[Any, ...]]:
    return sorted(
        Group.objects.filter(seeded=True).values_list(
            "slug",
            "public_id",
            "name",
            "kind",
            "parent__slug",
            "status",
            "join_policy",
            "area_districts",
            "centre_eastings",
            "centre_northings",
            "requested_by__email",
            "retention_months",
        )
    )


def membership_rows() -> list[tuple[Any, ...]]:
    return sorted(
        Membership.objects.filter(group__seeded=True).values_list(
            "user__email", "group__slug", "role", "joined_at", "public_id"
        )
    )


def test_regions_cover_every_great_britain_postcode_area_once() -> None:
    areas = [area for region in REGIONS for area in region.areas]
    assert len(areas) == len(set(areas))
    assert set(areas) == set(AREA_NAMES) - NORTHERN_IRELAND_AREAS - CROWN_DEPENDENCY_AREAS
    assert len(REGIONS) == 11
    assert {"Scotland", "Wales", "London"} <= {region.name for region in REGIONS}


def test_district_blocks_are_whole_compact_and_balanced() -> None:
    rng = np.random.default_rng(3)
    eastings = rng.integers(0, 100_000, size=200)
    northings = rng.integers(0, 50_000, size=200)
    weights = rng.integers(1, 50, size=200).astype(float)
    blocks = split_into_blocks(np.arange(200), 7, eastings, northings, weights)
    assert len(blocks) == 7
    assert sorted(np.concatenate(blocks).tolist()) == list(range(200))
    shares = [weights[block].sum() / weights.sum() for block in blocks]
    assert max(shares) < 2.5 / 7
    # As many parts as districts: one each; never an empty block.
    assert [len(b) for b in split_into_blocks(np.arange(5), 5, eastings, northings, weights)] == [
        1
    ] * 5
    assert sorted(["M10", "M2", "SW1A", "M1", "SW10", "SW2"], key=district_sort_key) == [
        "M1",
        "M2",
        "M10",
        "SW1A",
        "SW2",
        "SW10",
    ]


def test_the_number_of_constituencies_scales_with_volunteers() -> None:
    districts = _located_districts("default")
    nobody = SeededPeople(
        person_ids=np.empty(0, np.int64),
        user_ids=np.empty(0, np.int64),
        districts=np.empty(0, "U4"),
        eastings=np.empty(0, np.int64),
        northings=np.empty(0, np.int64),
    )

    def constituencies(volunteers: int) -> int:
        context = SeedContext(seed=1, volunteers=volunteers)
        plan = _plan_tree(context, context.rng("groups"), nobody, districts)
        assert all(plan.groups[i].districts for i in plan.indexes(Group.Kind.CONSTITUENCY))
        return len(plan.indexes(Group.Kind.CONSTITUENCY))

    regions_with_places = {
        region.key for region in REGIONS if set(region.areas) & set(districts.areas)
    }
    assert constituencies(0) == constituencies(3000) == len(regions_with_places) == 4
    assert 18 <= constituencies(30_000) <= 24  # about one per 1,500 volunteers
    assert 90 <= constituencies(150_000) <= 110
    # At most one per district, and never more than the cap.
    assert constituencies(10_000_000) <= min(MAX_CONSTITUENCIES, len(districts))


def test_the_tree() -> None:
    output = seed("--volunteers", VOLUNTEERS, "--seed", "1")
    assert "groups: " in output and "constituency parties" in output
    groups = seeded_groups()
    assert all(slug.startswith(SLUG_PREFIX) for slug in groups)
    by_kind: dict[str, list[Group]] = defaultdict(list)
    for group in groups.values():
        by_kind[group.kind].append(group)

    [national] = by_kind[Group.Kind.NATIONAL]
    assert national.name == "Hands Up Movement" and national.parent_id is None
    regions = {group.slug.removeprefix(SLUG_PREFIX): group for group in by_kind["region"]}
    assert set(regions) == {region.key for region in REGIONS}
    assert regions["scotland"].name == "Hands Up Scotland"
    assert all(group.parent_id == national.pk for group in regions.values())

    # Constituencies share out every located district of the loaded areas, each within
    # its own region, compact enough to be a place, within the field's length.
    located = set(
        PostcodeDistrict.objects.filter(eastings__isnull=False).values_list("code", flat=True)
    )
    region_of_area = {area: region.key for region in REGIONS for area in region.areas}
    owner: dict[str, Group] = {}
    constituencies = by_kind[Group.Kind.CONSTITUENCY]
    assert len(constituencies) == 4  # one per region with postcodes loaded
    for group in constituencies:
        assert group.name.endswith("Constituency Party")
        assert 0 < len(group.area_districts) <= AREA_DISTRICTS_MAX
        assert group.centre_eastings is not None and group.centre_northings is not None
        districts = group.district_list
        for code in districts:
            assert code not in owner, code
            owner[code] = group
            region = region_of_area[PostcodeDistrict.objects.get(code=code).area]
            assert group.parent_id == regions[region].pk
    assert set(owner) == located

    # Branches: one to four per constituency, splitting its districts between them.
    branches = by_kind[Group.Kind.BRANCH]
    per_constituency = Counter(branch.parent_id for branch in branches)
    assert set(per_constituency) == {group.pk for group in constituencies}
    assert all(1 <= n <= 4 for n in per_constituency.values())
    assert max(per_constituency.values()) > 1  # scaled: London has most volunteers
    for constituency in constituencies:
        mine = [b for b in branches if b.parent_id == constituency.pk]
        codes = [code for branch in mine for code in branch.district_list]
        assert sorted(codes) == sorted(constituency.district_list)

    for kind in (Group.Kind.AFFILIATE, Group.Kind.SOCIETY):
        [group] = by_kind[kind]
        assert group.area_districts == "" and group.centre_eastings is None
    assert len(by_kind[Group.Kind.CAMPAIGN]) == 2
    assert {group.parent_id for group in by_kind[Group.Kind.CAMPAIGN]} == {None}
    assert len({group.name for group in groups.values()}) == len(groups)


def test_members_roles_approvals_and_consents() -> None:
    seed("--volunteers", VOLUNTEERS, "--seed", "4")
    groups = seeded_groups()
    people = 3000
    memberships = Membership.objects.filter(group__seeded=True)

    # People join the constituency and the branch that cover where they live.
    local = memberships.filter(group__kind__in=(Group.Kind.CONSTITUENCY, Group.Kind.BRANCH))
    for group_districts, district in local.values_list(
        "group__area_districts", "user__person__district"
    ):
        assert district in [code.strip() for code in group_districts.split(",")]
    in_constituency = memberships.filter(group__kind=Group.Kind.CONSTITUENCY).count()
    assert 0.55 * people < in_constituency < 0.65 * people
    in_branch = memberships.filter(group__kind=Group.Kind.BRANCH)
    assert 0.2 * people < in_branch.count() < 0.32 * people
    branch_members = set(in_branch.values_list("user_id", "group__parent_id"))
    assert branch_members <= set(
        memberships.filter(group__kind=Group.Kind.CONSTITUENCY).values_list("user_id", "group_id")
    )
    for slug in ("seed-campaign-warm-homes", "seed-affiliate", "seed-society", "seed-national"):
        assert memberships.filter(group__slug=slug).count() > 20, slug

    # Every active group with members has one or two admins and one to three organisers,
    # and the role is on their membership of that very group.
    counted = Group.objects.filter(seeded=True).annotate(
        members=Count("memberships"),
        admins=Count("memberships", filter=Q(memberships__role="admin")),
        organisers=Count("memberships", filter=Q(memberships__role="organiser")),
    )
    with_members = 0
    for group in counted:
        if group.status != Group.Status.ACTIVE or group.members == 0:
            assert group.members == 0, group.slug
            continue
        with_members += 1
        assert 1 <= group.admins <= 2, group.slug
        assert group.organisers <= 3 and group.admins + group.organisers <= group.members
        if group.members >= 5:
            assert group.organisers >= 1, group.slug
    assert with_members >= 15
    privileged = memberships.filter(role__in=PRIVILEGED)
    assert privileged.exists()
    for user_id, group_id in privileged.values_list("user_id", "group_id"):
        assert Membership.objects.filter(user_id=user_id, group_id=group_id).count() == 1

    # Waiting for approval at two levels: branches (their constituency's admins decide)
    # and a campaign (a top-level group: platform admins decide).
    pending = [g for g in groups.values() if g.status == Group.Status.PENDING]
    assert {g.kind for g in pending} == {Group.Kind.BRANCH, Group.Kind.CAMPAIGN}
    assert len({g.parent_id for g in pending}) >= 2
    for waiting in pending:
        assert waiting.requested_by_id is not None
        parent_slug = waiting.parent.slug if waiting.parent else "seed-national"
        assert Membership.objects.filter(
            user_id=waiting.requested_by_id, group__slug=parent_slug
        ).exists()
        assert memberships.filter(group=waiting).count() == 0
    approvers = Membership.objects.filter(
        group_id__in=[g.parent_id for g in pending if g.parent_id], role="admin"
    )
    assert approvers.exists()

    # Pending join requests, to groups that admit by approval, from people not yet in.
    requests = JoinRequest.objects.filter(group__seeded=True)
    assert requests.count() > 10
    assert set(requests.values_list("status", flat=True)) == {JoinRequest.Status.PENDING}
    assert set(requests.values_list("group__join_policy", flat=True)) == {"approval"}
    assert len(set(requests.values_list("group__kind", flat=True))) >= 2
    asked = set(requests.values_list("user_id", "group_id"))
    assert not asked & set(memberships.values_list("user_id", "group_id"))
    assert Departure.objects.filter(group__seeded=True).exists()
    blocks = GroupBlock.objects.filter(group__seeded=True).values_list("user_id", "group_id")
    assert not set(blocks) & set(memberships.values_list("user_id", "group_id"))

    # Consents: append-only import rows citing the current notice and the purpose's words.
    notice = PrivacyNotice.objects.current()
    events = ConsentEvent.objects.filter(user__person__seeded=True)
    assert set(events.values_list("source", "recorded_by", "notice_version", "channel")) == {
        ("import", None, notice.pk if notice else None, "")
    }
    for wording, text in events.values_list("wording", "purpose__text").distinct():
        assert wording == text
    found = users_with_consent(PurposeCode.FOUND_MOVEMENT).filter(person__seeded=True).count()
    assert 0.92 * people < found < 0.98 * people
    assert events.filter(purpose__code=PurposeCode.FOUND_MY_GROUPS).exists()
    assert events.filter(group__isnull=False).exclude(group__seeded=True).count() == 0
    with_any = events.values("user_id").distinct().count()
    assert 0 < people - with_any < 0.05 * people  # some people have given nothing

    biggest = max(
        (g for g in counted if g.kind == Group.Kind.CONSTITUENCY), key=lambda g: g.members
    )
    emailable = users_with_consent(PurposeCode.GROUP_EMAIL, group=biggest)
    members = set(memberships.filter(group=biggest).values_list("user_id", flat=True))
    assert set(emailable.values_list("pk", flat=True)) <= members
    assert 0.65 * len(members) < emailable.count() < 0.9 * len(members)
    sharing = users_with_consent(PurposeCode.SHARE_CONTACT_WITH_GROUP, group=biggest).count()
    assert 0.7 * len(members) < sharing < 0.9 * len(members)
    # Some gave and later withdrew: the latest row wins.
    withdrawn = events.filter(purpose__code=PurposeCode.GROUP_EMAIL, given=False).first()
    assert withdrawn is not None
    assert not has_consent(withdrawn.user, PurposeCode.GROUP_EMAIL, group=withdrawn.group)
    assert events.filter(
        user=withdrawn.user, group=withdrawn.group, purpose=withdrawn.purpose, given=True
    ).exists()


def test_same_seed_same_groups_different_seed_different_groups() -> None:
    seed("--volunteers", VOLUNTEERS, "--seed", "7")
    groups, memberships = group_rows(), membership_rows()
    consents = ConsentEvent.objects.filter(group__seeded=True).count()
    assert len(memberships) > 2000
    seed("--reset", "--volunteers", VOLUNTEERS, "--seed", "7")
    assert group_rows() == groups
    assert membership_rows() == memberships
    assert ConsentEvent.objects.filter(group__seeded=True).count() == consents
    seed("--reset", "--volunteers", VOLUNTEERS, "--seed", "8")
    assert group_rows() != groups
    assert membership_rows() != memberships


def test_reset_removes_the_seeded_groups_and_leaves_the_demo_groups_alone(cast: Any) -> None:
    def demo_state() -> tuple[Any, ...]:
        return (
            sorted(Group.objects.filter(seeded=False).values_list()),
            sorted(Membership.objects.values_list("user_id", "group_id", "role")),
            sorted(ConsentEvent.objects.values_list("pk", "user_id", "group_id", "given")),
        )

    before = demo_state()
    assert {g.slug for g in cast.groups.values()} == {
        "national",
        "north-west",
        "wales",
        "group-a",
        "group-b",
    }
    seed("--volunteers", "2000", "--seed", "5")
    assert Group.objects.filter(seeded=True).count() > 20
    assert sorted(Group.objects.filter(seeded=False).values_list()) == before[0]
    # Someone reads a seeded group's member list: the log row outlives the group.
    constituency = Group.objects.filter(seeded=True, kind="constituency").first()
    assert constituency is not None
    AccessLogEntry.objects.create(
        actor=cast.users["platform_admin"],
        subject=cast.users["volunteer"],
        purpose="member_list",
        fields=["full_name"],
        group=constituency,
    )

    output = seed("--reset")
    assert "reset groups: " in output
    assert not Group.objects.filter(seeded=True).exists()
    assert not Membership.objects.filter(user__person__seeded=True).exists()
    assert not ConsentEvent.objects.filter(user__person__seeded=True).exists()
    assert not JoinRequest.objects.filter(user__person__seeded=True).exists()
    assert not Departure.objects.exists() and not GroupBlock.objects.exists()
    assert not Person.objects.filter(seeded=True).exists()
    assert User.objects.count() == len(cast.users)
    assert demo_state() == before
    assert AccessLogEntry.objects.get(purpose="member_list").group is None


def test_a_group_made_under_a_seeded_group_stops_the_reset() -> None:
    seed("--volunteers", "500", "--seed", "2")
    constituency = Group.objects.filter(seeded=True, kind="constituency").first()
    Group.objects.create(name="Our Own Branch", slug="our-own", kind="branch", parent=constituency)
    with pytest.raises(CommandError, match="our-own"):
        seed("--reset")
    assert Group.objects.filter(seeded=True).count() > 10  # nothing was removed
    assert Person.objects.filter(seeded=True).count() == 500


@pytest.mark.parametrize("volunteers", ["0", "7"])
def test_a_tiny_seed_still_builds_the_whole_tree(volunteers: str) -> None:
    output = seed("--volunteers", volunteers, "--seed", "3")
    # National, 11 nations and regions, 4 constituencies with a branch each, and 4 more.
    assert "groups: 24 groups" in output
    kinds = Counter(Group.objects.filter(seeded=True).values_list("kind", flat=True))
    assert kinds[Group.Kind.CONSTITUENCY] == kinds[Group.Kind.BRANCH] == 4
    assert Membership.objects.filter(group__seeded=True).count() <= 3 * int(volunteers)
    seed("--reset")
    assert not Group.objects.filter(seeded=True).exists()
