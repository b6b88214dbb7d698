"""The "groups" seed step: the movement's tree of groups, its members, roles and consents.

Runs after "people" and scales with the volunteer count:

* one national group; the two nations and nine English regions, each covering the
  postcode areas in `REGIONS`; constituency parties (about one per 1,500 volunteers, at
  least one per region, at most `MAX_CONSTITUENCIES`), each owning a contiguous block
  of its region's postcode districts; one to four branches in each, splitting it again;
  an affiliated union, a socialist society and two campaigns (movement-wide, no area).
* memberships drawn per person from where they live (their constituency, its branch
  for their district, their region), plus the national group, the campaign and the
  affiliates; every active group with members gets one or two admins and one to three
  organisers from among them (the role is on the membership).
* some groups admit members by approval and have pending join requests; some branches
  and a campaign are waiting for approval (constituency admins and platform admins have
  decisions to make); a few people have left a group (departures) or blocked a campaign.
* consent events, source "import": `found_movement` for most people (`found_my_groups`
  for a few), and `group_email` and `share_contact_with_group` for most memberships,
  a few of them later withdrawn.

Districts are split by recursive bisection on their centroids, weighted by postcode
count (a proxy for households, as the people step uses), so each constituency is a
compact block with roughly the same number of volunteers. Every random draw comes from
`context.rng("groups")`; all groups are `seeded` and their slugs start with "seed-",
so neither they nor the reset ever meet the demo groups of `core/personas.py`.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from string import ascii_uppercase, digits
from typing import Any

import numpy as np
from django.db import connections, models
from django.db.models.deletion import CASCADE, DO_NOTHING, SET_NULL
from django.utils.text import slugify

from handsup.core.seeding import SeedContext, SeedError, column_rows
from handsup.groups.models import (
    Departure,
    Group,
    GroupBlock,
    JoinRequest,
    Membership,
    MovementLimits,
)
from handsup.people.models import Person
from handsup.people.seeding import SeededPeople
from handsup.places.areas import AREA_NAMES
from handsup.places.models import PostcodeDistrict
from handsup.privacy.models import ConsentEvent, PrivacyNotice, Purpose
from handsup.privacy.register import PurposeCode

SLUG_PREFIX = "seed-"
VOLUNTEERS_PER_CONSTITUENCY = 1_500
MAX_CONSTITUENCIES = 650
VOLUNTEERS_PER_BRANCH = 400  # 1,500 volunteers → four branches; a small seed → one
MAX_BRANCHES = 4
AREA_DISTRICTS_MAX = 1000  # Group.area_districts.max_length
PUBLIC_ID_BYTES = 12  # as handsup.core.ids.new_public_id
DAY = 24 * 3600

# How likely a person is to belong to each group that fits them.
P_CONSTITUENCY = 0.6
P_BRANCH_OF_MEMBER = 0.5  # of constituency members: about 0.3 of everyone
P_NATIONAL = 0.05
P_REGION = 0.03
P_CAMPAIGN = 0.05
P_AFFILIATE = 0.04
P_SOCIETY = 0.02
# Among people who could ask to join a group that admits by approval and have not.
P_ASK_LOCAL = 0.03
P_ASK_MOVEMENT_WIDE = 0.004
P_LEFT_CONSTITUENCY = 0.02
P_BLOCK_CAMPAIGN = 0.002
P_APPROVAL_POLICY = 0.15  # of constituencies and branches
P_PENDING_BRANCH = 0.05
# Consents.
P_FOUND_MOVEMENT = 0.95
P_FOUND_MY_GROUPS = 0.025  # of everyone; the rest (about 2.5%) chose neither
P_GROUP_CONSENT = 0.8  # each of group_email and share_contact_with_group, per membership
P_EMAIL_WITHDRAWN = 0.03  # of group_email consents given

YEAR = 365 * DAY
MONTH = 30 * DAY
ASK_WITHIN = 60 * DAY
PENDING_GROUP_WITHIN = 30 * DAY
PALETTE = ("#a3122a", "#1d4e89", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#4e342e", "#ad1457")


@dataclass(frozen=True)
class Region:
    key: str
    name: str
    areas: tuple[str, ...]


# Great Britain's postcode areas by nation and English region (by each area's main post
# town; a few areas straddle a border). Northern Ireland (BT) and the Crown dependencies
# are not in Code-Point Open, so not here.
REGIONS: tuple[Region, ...] = tuple(
    Region(key, name, tuple(areas.split()))
    for key, name, areas in (
        ("scotland", "Scotland", "AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE"),
        ("wales", "Wales", "CF LD LL NP SA"),
        ("north-east", "North East", "DH DL NE SR TS"),
        ("north-west", "North West", "BB BL CA CH CW FY L LA M OL PR SK WA WN"),
        ("yorkshire", "Yorkshire and the Humber", "BD DN HD HG HU HX LS S WF YO"),
        ("east-midlands", "East Midlands", "DE LE LN NG NN"),
        ("west-midlands", "West Midlands", "B CV DY HR ST SY TF WR WS WV"),
        ("east", "East of England", "AL CB CM CO HP IP LU NR PE SG SS WD"),
        ("london", "London", "BR CR E EC EN HA IG KT N NW RM SE SM SW TW UB W WC"),
        ("south-east", "South East", "BN CT DA GU ME MK OX PO RG RH SL SO TN"),
        ("south-west", "South West", "BA BH BS DT EX GL PL SN SP TA TQ TR"),
    )
)
REGION_OF_AREA: dict[str, int] = {
    area: index for index, region in enumerate(REGIONS) for area in region.areas
}

# The groups outside the geographic tree: (key, name, kind, description).
MOVEMENT_WIDE: tuple[tuple[str, str, str, str], ...] = (
    (
        "affiliate",
        "Federation of Care and Hospitality Workers",
        Group.Kind.AFFILIATE,
        "An affiliated union for everyone who works in care homes, home care, hotels, pubs "
        "and kitchens. Members are checked against the union's own list, so joining needs "
        "an admin's approval.",
    ),
    (
        "society",
        "New Commons Socialist Society",
        Group.Kind.SOCIETY,
        "A socialist society: reading groups, a monthly talk and a summer school, open to "
        "every member of the movement on approval.",
    ),
    (
        "campaign-warm-homes",
        "Warm Homes Now",
        Group.Kind.CAMPAIGN,
        "A campaign for insulation and fair energy bills: door-knocking, street stalls and "
        "letters to councils, wherever you are.",
    ),
    (
        "campaign-buses",
        "Save Our Buses",
        Group.Kind.CAMPAIGN,
        "A new campaign to keep rural and late-night bus routes running, waiting for a "
        "platform admin's approval.",
    ),
)
PENDING_CAMPAIGN = "campaign-buses"

COMPASS = ("East", "North East", "North", "North West", "West", "South West", "South", "South East")


@dataclass
class PlannedGroup:
    """One group to insert; `parent` and `requested_by` are indexes (groups, people)."""

    name: str
    slug: str
    kind: str
    parent: int | None
    description: str
    status: str = Group.Status.ACTIVE
    join_policy: str = Group.JoinPolicy.OPEN
    districts: list[str] = field(default_factory=list)
    centre: tuple[int, int] | None = None
    area_centre: str = ""
    area_radius_km: int | None = None
    public_contact: str = ""
    requested_by: int = -1


@dataclass(frozen=True)
class Districts:
    """The located GB postcode districts, in code order."""

    codes: list[str]
    areas: list[str]
    eastings: Any  # int64 arrays
    northings: Any
    weights: Any  # postcode counts

    def __len__(self) -> int:
        return len(self.codes)


def _located_districts(using: str) -> Districts:
    rows = list(
        PostcodeDistrict.objects.using(using)
        .filter(area__in=REGION_OF_AREA, eastings__isnull=False, northings__isnull=False)
        .order_by("code")
        .values_list("code", "area", "eastings", "northings", "postcode_count")
    )
    return Districts(
        codes=[row[0] for row in rows],
        areas=[row[1] for row in rows],
        eastings=np.array([row[2] for row in rows], dtype=np.int64),
        northings=np.array([row[3] for row in rows], dtype=np.int64),
        weights=np.array([max(row[4], 1) for row in rows], dtype=np.float64),
    )


def district_sort_key(code: str) -> tuple[str, int, str]:
    """Natural order for district codes: M2 before M10, SW1A before SW2."""
    head = len(code) - len(code.lstrip(ascii_uppercase))
    rest = code[head:]
    number = rest[: len(rest) - len(rest.lstrip(digits))]
    return code[:head], int(number or 0), rest[len(number) :]


def split_into_blocks(
    members: Any, parts: int, eastings: Any, northings: Any, weights: Any
) -> list[Any]:
    """Split district indexes into `parts` compact blocks of about equal weight.

    Recursive bisection: cut across the longer side of the blocks' extent at the point
    that leaves each half a share of the weight in proportion to the parts it will make.
    Every block gets at least one district (so `parts` must not exceed their number).
    """
    if parts <= 1 or len(members) <= 1:
        return [members]
    east, north = eastings[members], northings[members]
    along = east if np.ptp(east) >= np.ptp(north) else north
    members = members[np.lexsort((members, along))]  # ties in code order: deterministic
    left_parts = parts // 2
    cumulative = np.cumsum(weights[members])
    cut = int(np.searchsorted(cumulative, cumulative[-1] * left_parts / parts)) + 1
    cut = min(max(cut, left_parts), len(members) - (parts - left_parts))
    return split_into_blocks(
        members[:cut], left_parts, eastings, northings, weights
    ) + split_into_blocks(members[cut:], parts - left_parts, eastings, northings, weights)


def _fit_area_field(blocks: list[Any], districts: Districts) -> list[Any]:
    """Split any block whose district list would not fit `Group.area_districts`."""
    fitted: list[Any] = []
    pending = list(blocks)
    ones = np.ones(len(districts))
    while pending:
        block = pending.pop(0)
        text = ", ".join(districts.codes[i] for i in block)
        if len(text) <= AREA_DISTRICTS_MAX or len(block) == 1:
            fitted.append(block)
        else:
            pending[:0] = split_into_blocks(block, 2, districts.eastings, districts.northings, ones)
    return fitted


def _centre(block: Any, districts: Districts) -> tuple[int, int]:
    # As the settings form does: the plain mean of the districts' centroids.
    return (
        round(float(districts.eastings[block].mean())),
        round(float(districts.northings[block].mean())),
    )


def _lead_district(block: Any, districts: Districts) -> int:
    """The block's district nearest its centre (ties: the first in code order)."""
    east, north = _centre(block, districts)
    gaps = (districts.eastings[block] - east) ** 2 + (districts.northings[block] - north) ** 2
    return int(block[int(np.argmin(gaps))])


def _constituency_names(blocks: list[Any], districts: Districts) -> list[str]:
    """Names like Manchester North or Cardiff: the main postcode area's town and a compass
    point from the middle of that area's constituencies, plus "(M8)" where needed."""
    main_area = []
    for block in blocks:
        weight_by_area: dict[str, float] = {}
        for i in block.tolist():
            area = districts.areas[i]
            weight_by_area[area] = weight_by_area.get(area, 0.0) + float(districts.weights[i])
        main_area.append(min(weight_by_area, key=lambda area: (-weight_by_area[area], area)))
    centres = [_centre(block, districts) for block in blocks]
    names: list[str] = []
    for index, area in enumerate(main_area):
        town = str(AREA_NAMES[area])
        siblings = [j for j, other in enumerate(main_area) if other == area]
        if len(siblings) == 1:
            names.append(town)
            continue
        mid_e = sum(centres[j][0] for j in siblings) / len(siblings)
        mid_n = sum(centres[j][1] for j in siblings) / len(siblings)
        nearest = min(
            siblings,
            key=lambda j: ((centres[j][0] - mid_e) ** 2 + (centres[j][1] - mid_n) ** 2, j),
        )
        if len(siblings) >= 3 and index == nearest:
            names.append(f"{town} Central")
            continue
        angle = math.atan2(centres[index][1] - mid_n, centres[index][0] - mid_e)
        point = COMPASS[round(angle / (math.pi / 4)) % 8]
        names.append(f"{town} {point}")
    counts = Counter(names)
    for index, (name, block) in enumerate(zip(names, blocks, strict=True)):
        if counts[name] > 1:
            # Named after its district nearest the centre among the main area's.
            own = block[[districts.areas[i] == main_area[index] for i in block.tolist()]]
            names[index] = f"{name} ({districts.codes[_lead_district(own, districts)]})"
    return names


def _branch_name(block: Any, districts: Districts) -> str:
    """Manchester M8 Branch, or Manchester M8 and District Branch for several districts."""
    lead = _lead_district(block, districts)
    town = str(AREA_NAMES[districts.areas[lead]])
    around = " and District" if len(block) > 1 else ""
    return f"{town} {districts.codes[lead]}{around} Branch"


def _unique_slugs(groups: list[PlannedGroup]) -> None:
    seen: set[str] = set()
    for group in groups:
        base = group.slug[:90]
        slug, number = base, 1
        while slug in seen:
            number += 1
            slug = f"{base}-{number}"
        group.slug = slug
        seen.add(slug)


def _timestamps(context: SeedContext, seconds_before_epoch: Any) -> list[str]:
    # `db_timestamps` cannot format an empty array (numpy has no maximum of nothing).
    if not len(seconds_before_epoch):
        return []
    return context.timestamps(seconds_before_epoch)


def _url_safe_tokens(blob: bytes, size: int) -> list[str]:
    text = base64.urlsafe_b64encode(blob).decode("ascii")
    width = size // 3 * 4
    return [text[start : start + width] for start in range(0, len(text), width)]


def _account_ages(context: SeedContext, people: SeededPeople) -> Any:
    """Seconds between each seeded person's account being made and the seed epoch."""
    connection = connections[context.using]
    table = connection.ops.quote_name(Person._meta.db_table)
    if connection.vendor == "postgresql":
        moment = "EXTRACT(EPOCH FROM created_at)::bigint"
    else:  # SQLite keeps the UTC text that `db_timestamps` wrote
        moment = "CAST(strftime('%%s', created_at) AS INTEGER)"
    ids_parts, moments_parts = [], []
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT id, {moment} FROM {table} WHERE seeded = %s",  # noqa: S608 (quoted names)
            [True],
        )
        while rows := cursor.fetchmany(100_000):
            ids, moments = zip(*rows, strict=True)
            ids_parts.append(np.array(ids, dtype=np.int64))
            moments_parts.append(np.array(moments, dtype=np.int64))
    if not ids_parts:
        return np.zeros(len(people), dtype=np.int64)
    all_ids, all_moments = np.concatenate(ids_parts), np.concatenate(moments_parts)
    order = np.argsort(all_ids)
    found = order[np.searchsorted(all_ids, people.person_ids, sorter=order)]
    ages = int(context.epoch.timestamp()) - all_moments[found]
    return np.maximum(ages, 0)


@dataclass
class Plan:
    groups: list[PlannedGroup]
    # Per person: the index of their region's, constituency's and branch's group, or -1.
    region_of: Any
    constituency_of: Any
    branch_of: Any
    national: int
    movement_wide: dict[str, int]

    def indexes(self, kind: str) -> list[int]:
        return [i for i, group in enumerate(self.groups) if group.kind == kind]


def _plan_tree(
    context: SeedContext, rng: np.random.Generator, people: SeededPeople, districts: Districts
) -> Plan:
    groups: list[PlannedGroup] = []
    national = len(groups)
    groups.append(
        PlannedGroup(
            name="Hands Up Movement",
            slug=f"{SLUG_PREFIX}national",
            kind=Group.Kind.NATIONAL,
            parent=None,
            description=(
                "The whole movement: every nation, region, constituency party and branch, "
                "with its affiliated unions, societies and campaigns."
            ),
            public_contact="https://handsup.invalid/",
        )
    )

    # Nations and regions, each with the located districts of its postcode areas.
    district_region = np.array([REGION_OF_AREA[area] for area in districts.areas], dtype=np.int64)
    region_groups: list[int] = []
    region_blocks: list[Any] = []
    for index, region in enumerate(REGIONS):
        block = np.flatnonzero(district_region == index)
        region_blocks.append(block)
        planned = PlannedGroup(
            name=f"Hands Up {region.name}",
            slug=f"{SLUG_PREFIX}{region.key}",
            kind=Group.Kind.REGION,
            parent=national,
            description=(
                f"The movement in {region.name}: its constituency parties and branches. "
                f"Covers the postcode areas {', '.join(region.areas)}."
            ),
        )
        if len(block):
            east, north = _centre(block, districts)
            planned.centre = (east, north)
            planned.area_centre = districts.codes[_lead_district(block, districts)]
            reach = np.hypot(districts.eastings[block] - east, districts.northings[block] - north)
            planned.area_radius_km = min(500, math.ceil(float(reach.max()) / 1000) + 1)
        region_groups.append(len(groups))
        groups.append(planned)

    # Constituency parties: a share of the target in proportion to each region's postcodes.
    target = min(
        MAX_CONSTITUENCIES, max(1, round(context.volunteers / VOLUNTEERS_PER_CONSTITUENCY))
    )
    total_weight = float(districts.weights.sum()) or 1.0
    constituency_blocks: list[Any] = []
    constituency_parent: list[int] = []
    for index, block in enumerate(region_blocks):
        if not len(block):
            continue
        share = round(target * float(districts.weights[block].sum()) / total_weight)
        parts = min(max(1, share), len(block))
        blocks = split_into_blocks(
            block, parts, districts.eastings, districts.northings, districts.weights
        )
        blocks = _fit_area_field(blocks, districts)
        constituency_blocks += blocks
        constituency_parent += [region_groups[index]] * len(blocks)

    district_constituency = np.full(len(districts), -1, dtype=np.int64)
    constituency_groups: list[int] = []
    names = _constituency_names(constituency_blocks, districts)
    for name, block, parent in zip(names, constituency_blocks, constituency_parent, strict=True):
        codes = sorted((districts.codes[i] for i in block.tolist()), key=district_sort_key)
        index = len(groups)
        district_constituency[block] = index
        constituency_groups.append(index)
        groups.append(
            PlannedGroup(
                name=f"{name} Constituency Party",
                slug=f"{SLUG_PREFIX}{slugify(name)}-cp",
                kind=Group.Kind.CONSTITUENCY,
                parent=parent,
                description=(
                    f"The constituency party for {name}: meetings, canvassing and local "
                    f"campaigns in {', '.join(codes[:3])}"
                    + (" and nearby." if len(codes) > 3 else ".")
                ),
                districts=codes,
                centre=_centre(block, districts),
                public_contact=f"{slugify(name)}@groups.seed.handsup.invalid",
            )
        )

    # Where each person lives, as group indexes.
    unique_districts, person_district = np.unique(people.districts, return_inverse=True)
    position = {code: i for i, code in enumerate(districts.codes)}
    located = np.array([position.get(code, -1) for code in unique_districts.tolist()], np.int64)
    person_located = located[person_district] if len(people) else np.empty(0, np.int64)

    def per_person(by_district: Any) -> Any:
        # -1 (outside every located district) picks the -1 appended at the end.
        return np.append(by_district, -1)[person_located]

    constituency_of = per_person(district_constituency)
    region_of = per_person(np.array(region_groups, dtype=np.int64)[district_region])

    # Branches: one to four per constituency, more where more volunteers live.
    people_in = np.bincount(constituency_of[constituency_of >= 0], minlength=len(groups))
    fewer = rng.random(len(constituency_groups)) < 0.3
    district_branch = np.full(len(districts), -1, dtype=np.int64)
    for constituency, block, one_fewer in zip(
        constituency_groups, constituency_blocks, fewer.tolist(), strict=True
    ):
        wanted = math.ceil(int(people_in[constituency]) / VOLUNTEERS_PER_BRANCH) - one_fewer
        parts = min(max(1, wanted), MAX_BRANCHES, len(block))
        for branch_block in split_into_blocks(
            block, parts, districts.eastings, districts.northings, districts.weights
        ):
            name = _branch_name(branch_block, districts)
            codes = sorted(
                (districts.codes[i] for i in branch_block.tolist()), key=district_sort_key
            )
            district_branch[branch_block] = len(groups)
            groups.append(
                PlannedGroup(
                    name=name,
                    slug=f"{SLUG_PREFIX}{slugify(name)}",
                    kind=Group.Kind.BRANCH,
                    parent=constituency,
                    description=(
                        f"A branch of {groups[constituency].name} for {', '.join(codes)}: "
                        "street stalls, leafleting and a monthly meeting."
                    ),
                    districts=codes,
                    centre=_centre(branch_block, districts),
                )
            )
    branch_of = per_person(district_branch)

    movement_wide: dict[str, int] = {}
    for key, name, kind, description in MOVEMENT_WIDE:
        movement_wide[key] = len(groups)
        groups.append(
            PlannedGroup(
                name=name,
                slug=f"{SLUG_PREFIX}{key}",
                kind=kind,
                parent=None,
                description=description,
                public_contact=f"{key}@groups.seed.handsup.invalid",
            )
        )
    _unique_slugs(groups)
    return Plan(groups, region_of, constituency_of, branch_of, national, movement_wide)


@dataclass
class Memberships:
    person: Any  # index into the seeded people
    group: Any  # index into the plan
    role: Any  # 0 member, 1 organiser, 2 admin
    ago: Any  # seconds before the epoch they joined
    # Per person, whether they joined: "constituency" (their own), "branch" (their own),
    # and each movement-wide group by its key.
    joined: dict[str, Any]

    def __len__(self) -> int:
        return len(self.person)


ROLES = np.array([Membership.Role.MEMBER, Membership.Role.ORGANISER, Membership.Role.ADMIN])


def _draw_memberships(
    rng: np.random.Generator, plan: Plan, people: SeededPeople, ages: Any
) -> Memberships:
    """Who belongs to which active group, in which role, since when."""
    count = len(people)
    groups = plan.groups
    active = np.array([group.status == Group.Status.ACTIVE for group in groups], dtype=bool)
    everyone = np.arange(count, dtype=np.int64)
    persons: list[Any] = []
    targets: list[Any] = []

    def join(who: Any, group: Any) -> None:
        persons.append(who)
        targets.append(np.broadcast_to(np.asarray(group, dtype=np.int64), who.shape))

    constituency_draw = rng.random(count)
    in_constituency = (plan.constituency_of >= 0) & (constituency_draw < P_CONSTITUENCY)
    join(everyone[in_constituency], plan.constituency_of[in_constituency])
    branch_draw = rng.random(count)
    has_branch = plan.branch_of >= 0
    branch_active = np.zeros(count, dtype=bool)
    branch_active[has_branch] = active[plan.branch_of[has_branch]]
    in_branch = in_constituency & branch_active & (branch_draw < P_BRANCH_OF_MEMBER)
    join(everyone[in_branch], plan.branch_of[in_branch])
    in_national = rng.random(count) < P_NATIONAL
    join(everyone[in_national], plan.national)
    in_region = (plan.region_of >= 0) & (rng.random(count) < P_REGION)
    join(everyone[in_region], plan.region_of[in_region])
    joined = {"constituency": in_constituency, "branch": in_branch}
    for key, chance in (
        ("campaign-warm-homes", P_CAMPAIGN),
        ("affiliate", P_AFFILIATE),
        ("society", P_SOCIETY),
    ):
        joined[key] = rng.random(count) < chance
        join(everyone[joined[key]], plan.movement_wide[key])

    # In (person, group) order, so the table's unique (user, group) index, which SQLite
    # cannot drop during the load, grows at its end instead of everywhere.
    person = np.concatenate(persons)
    group = np.concatenate(targets)
    by_person = np.lexsort((group, person))
    person, group = person[by_person], group[by_person]
    total = len(person)
    # Roles: in each group, rank the members by a random key; the first one or two are
    # admins, the next one to three organisers.
    order = np.lexsort((rng.random(total), group))
    sorted_groups = group[order]
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total) - np.searchsorted(sorted_groups, sorted_groups)
    admins = rng.integers(1, 3, size=len(groups))
    organisers = rng.integers(1, 4, size=len(groups))
    role = np.where(
        rank < admins[group], 2, np.where(rank < admins[group] + organisers[group], 1, 0)
    )
    ago = (rng.random(total) * ages[person]).astype(np.int64)
    return Memberships(person, group, role, ago, joined)


def _choose_pending(rng: np.random.Generator, plan: Plan) -> None:
    """Some branches, and one campaign, wait for approval; others admit by approval."""
    branches = plan.indexes(Group.Kind.BRANCH)
    if branches:
        pending = max(1, round(P_PENDING_BRANCH * len(branches)))
        for index in rng.choice(branches, size=pending, replace=False).tolist():
            plan.groups[index].status = Group.Status.PENDING
    plan.groups[plan.movement_wide[PENDING_CAMPAIGN]].status = Group.Status.PENDING
    local = plan.indexes(Group.Kind.CONSTITUENCY) + branches
    if local:
        by_approval = max(1, round(P_APPROVAL_POLICY * len(local)))
        for index in rng.choice(local, size=by_approval, replace=False).tolist():
            plan.groups[index].join_policy = Group.JoinPolicy.APPROVAL
    for key in ("affiliate", "society"):
        plan.groups[plan.movement_wide[key]].join_policy = Group.JoinPolicy.APPROVAL


def _choose_requesters(rng: np.random.Generator, plan: Plan, members: Memberships) -> None:
    """Whoever asked for each pending group: a member of its parent (or of the national
    group, for a top-level one), if it has any."""
    order = np.argsort(members.group, kind="stable")
    sorted_groups = members.group[order]
    for group in plan.groups:
        if group.status != Group.Status.PENDING:
            continue
        parent = group.parent if group.parent is not None else plan.national
        start, stop = np.searchsorted(sorted_groups, [parent, parent + 1])
        if stop > start:
            group.requested_by = int(members.person[order[rng.integers(start, stop)]])


def _tokens(blob: bytes) -> Callable[[int, int], list[str]]:
    def tokens(start: int, stop: int) -> list[str]:
        return _url_safe_tokens(blob[start * PUBLIC_ID_BYTES : stop * PUBLIC_ID_BYTES], 12)

    return tokens


@dataclass
class Events:
    """Rows about people: whose (an index into the seeded people), about which group (an
    index into the plan; -1 for none) and when (seconds before the epoch)."""

    person: Any
    group: Any
    ago: Any

    def __len__(self) -> int:
        return len(self.person)


def _draw_join_requests(
    rng: np.random.Generator, plan: Plan, members: Memberships, ages: Any
) -> Events:
    """Pending requests to groups that admit by approval, from people not yet in them:
    their own constituency or branch, the affiliated union and the society."""
    count = len(ages)
    approval = np.array(
        [group.join_policy == Group.JoinPolicy.APPROVAL for group in plan.groups], dtype=bool
    )
    active = np.array([group.status == Group.Status.ACTIVE for group in plan.groups], dtype=bool)
    everyone = np.arange(count, dtype=np.int64)
    # Non-members of their own constituency: a few ask to join (if it asks for approval).
    outside = (plan.constituency_of >= 0) & ~members.joined["constituency"]
    asks_constituency = outside & (rng.random(count) < P_ASK_LOCAL)
    asks_constituency[asks_constituency] = approval[plan.constituency_of[asks_constituency]]
    # Constituency members not in their branch: a few ask to join it.
    asks_branch = (
        members.joined["constituency"]
        & ~members.joined["branch"]
        & (plan.branch_of >= 0)
        & (rng.random(count) < P_ASK_LOCAL)
    )
    branch = plan.branch_of[asks_branch]
    asks_branch[asks_branch] = approval[branch] & active[branch]
    people = [everyone[asks_constituency], everyone[asks_branch]]
    groups = [plan.constituency_of[asks_constituency], plan.branch_of[asks_branch]]
    for key in ("affiliate", "society"):
        asks = (rng.random(count) < P_ASK_MOVEMENT_WIDE) & ~members.joined[key]
        people.append(everyone[asks])
        groups.append(np.full(int(asks.sum()), plan.movement_wide[key], dtype=np.int64))
    person = np.concatenate(people)
    ago = rng.random(len(person)) * np.minimum(ages[person], ASK_WITHIN)
    return Events(person, np.concatenate(groups), ago.astype(np.int64))


@dataclass
class Policies:
    """Each group's communications and retention policy, within the movement's limits."""

    normal: Any
    campaign: Any
    retention_months: Any


def _draw_policies(rng: np.random.Generator, count: int, using: str) -> Policies:
    limits = MovementLimits.objects.using(using).filter(pk=1).first()
    if limits is None:
        limits = MovementLimits()  # the defaults, without writing the row
    normal = np.minimum(np.where(rng.random(count) < 0.1, 0, 1), limits.updates_per_week_normal)
    campaign = np.minimum(normal + rng.integers(0, 3, size=count), limits.updates_per_week_campaign)
    retention = np.minimum(rng.choice([3, 6, 12, 24], size=count), limits.max_retention_months)
    return Policies(normal, np.maximum(campaign, normal), retention)


def _draw_departures(
    rng: np.random.Generator, plan: Plan, members: Memberships, ages: Any, policies: Policies
) -> Events:
    """People who left their constituency party, recently enough that it still may keep
    their details under its retention policy."""
    left = (plan.constituency_of >= 0) & ~members.joined["constituency"]
    left &= rng.random(len(ages)) < P_LEFT_CONSTITUENCY
    person = np.flatnonzero(left)
    group = plan.constituency_of[person]
    window = np.minimum(ages[person], policies.retention_months[group] * MONTH)
    return Events(person, group, (rng.random(len(person)) * window).astype(np.int64))


def _draw_blocks(rng: np.random.Generator, plan: Plan, members: Memberships, ages: Any) -> Events:
    """People who never want to hear from the active campaign (and are not in it)."""
    key = "campaign-warm-homes"
    person = np.flatnonzero((rng.random(len(ages)) < P_BLOCK_CAMPAIGN) & ~members.joined[key])
    ago = (rng.random(len(person)) * ages[person]).astype(np.int64)
    return Events(person, np.full(len(person), plan.movement_wide[key], np.int64), ago)


@dataclass
class Consents:
    code: str
    given: bool
    events: Events


def _draw_consents(rng: np.random.Generator, members: Memberships, ages: Any) -> list[Consents]:
    """Most people may be found movement-wide (a few only by their own groups); most
    members let each group email them and see their contact details; a few of those
    emails are later withdrawn. Withdrawals come last, so each is its key's newest row
    even within the same second."""
    count = len(ages)
    found = rng.random(count)
    movement = np.flatnonzero(found < P_FOUND_MOVEMENT)
    mine = np.flatnonzero(
        (found >= P_FOUND_MOVEMENT) & (found < P_FOUND_MOVEMENT + P_FOUND_MY_GROUPS)
    )
    emails = np.flatnonzero(rng.random(len(members)) < P_GROUP_CONSENT)
    shares = np.flatnonzero(rng.random(len(members)) < P_GROUP_CONSENT)
    withdrawn = emails[rng.random(len(emails)) < P_EMAIL_WITHDRAWN]
    withdrawn_ago = (rng.random(len(withdrawn)) * members.ago[withdrawn]).astype(np.int64)
    nowhere = np.full(count, -1, dtype=np.int64)

    def of_members(chosen: Any, ago: Any) -> Events:
        return Events(members.person[chosen], members.group[chosen], ago)

    return [
        Consents(
            PurposeCode.FOUND_MOVEMENT, True, Events(movement, nowhere[movement], ages[movement])
        ),
        Consents(PurposeCode.FOUND_MY_GROUPS, True, Events(mine, nowhere[mine], ages[mine])),
        Consents(PurposeCode.GROUP_EMAIL, True, of_members(emails, members.ago[emails])),
        Consents(
            PurposeCode.SHARE_CONTACT_WITH_GROUP, True, of_members(shares, members.ago[shares])
        ),
        Consents(PurposeCode.GROUP_EMAIL, False, of_members(withdrawn, withdrawn_ago)),
    ]


def _privacy_register(using: str) -> tuple[PrivacyNotice, dict[str, Purpose]]:
    notice = PrivacyNotice.objects.using(using).current()
    codes = (
        PurposeCode.FOUND_MOVEMENT,
        PurposeCode.FOUND_MY_GROUPS,
        PurposeCode.GROUP_EMAIL,
        PurposeCode.SHARE_CONTACT_WITH_GROUP,
    )
    purposes = {p.code: p for p in Purpose.objects.using(using).filter(code__in=codes)}
    if notice is None or len(purposes) < len(codes):
        raise SeedError("The privacy register is incomplete: run `handsup migrate` first.")
    return notice, purposes


def _write_groups(
    context: SeedContext,
    rng: np.random.Generator,
    plan: Plan,
    people: SeededPeople,
    policies: Policies,
) -> Any:
    """Insert the planned groups (parents first); return their ids, in plan order."""
    groups = plan.groups
    slugs = [group.slug for group in groups]
    clashing = sorted(
        Group.objects.using(context.using).filter(slug__in=slugs).values_list("slug", flat=True)
    )
    if clashing:
        raise SeedError(f"Groups with the seed's short names exist already: {clashing[:5]}.")
    active = np.array([group.status == Group.Status.ACTIVE for group in groups], dtype=bool)
    # Active groups are older than any seeded account; pending ones were asked for lately.
    created_ago = np.where(
        active,
        3 * YEAR + (rng.random(len(groups)) * 2 * YEAR).astype(np.int64),
        (rng.random(len(groups)) * PENDING_GROUP_WITHIN).astype(np.int64),
    )
    colours = rng.integers(0, len(PALETTE), size=len(groups)).tolist()
    public_ids = _tokens(rng.bytes(PUBLIC_ID_BYTES * len(groups)))(0, len(groups))
    ids = context.reserve_ids(Group, len(groups))
    created = _timestamps(context, created_ago)
    rows = [
        (
            int(ids[i]),
            public_ids[i],
            group.name,
            group.slug,
            group.kind,
            int(ids[group.parent]) if group.parent is not None else None,
            group.status,
            "",
            group.description,
            group.public_contact,
            group.join_policy,
            ", ".join(group.districts),
            group.area_centre,
            group.area_radius_km,
            group.centre[0] if group.centre else None,
            group.centre[1] if group.centre else None,
            PALETTE[colours[i]],
            "",
            int(policies.normal[i]),
            int(policies.campaign[i]),
            int(policies.retention_months[i]),
            int(people.user_ids[group.requested_by]) if group.requested_by >= 0 else None,
            created[i],
            True,
        )
        for i, group in enumerate(groups)
    ]
    fields = [
        "id", "public_id", "name", "slug", "kind", "parent", "status", "status_reason",
        "description", "public_contact", "join_policy", "area_districts", "area_centre",
        "area_radius_km", "centre_eastings", "centre_northings", "colour", "logo",
        "updates_per_week_normal", "updates_per_week_campaign", "retention_months",
        "requested_by", "created_at", "seeded",
    ]  # fmt: skip
    context.bulk_insert(Group, fields, rows, total=len(rows), desc="groups")
    return ids


CONSENT_FIELDS = [
    "user", "purpose", "group", "channel", "given", "at", "source", "recorded_by",
    "notice_version", "wording",
]  # fmt: skip


def build_groups(context: SeedContext) -> str:
    using = context.using
    if Group.objects.using(using).filter(seeded=True).exists():
        raise SeedError(
            "Seeded groups already exist: run `handsup seed --reset …` to replace them."
        )
    people = context.artifacts.get("people")
    if not isinstance(people, SeededPeople):
        raise SeedError("The groups step needs the people step's volunteers.")
    notice, purposes = _privacy_register(using)
    districts = _located_districts(using)
    ages = _account_ages(context, people)

    # Every draw happens in this fixed order, so the rows depend only on the seed, the
    # people and the districts loaded.
    rng = context.rng("groups")
    plan = _plan_tree(context, rng, people, districts)
    _choose_pending(rng, plan)
    members = _draw_memberships(rng, plan, people, ages)
    _choose_requesters(rng, plan, members)
    requests = _draw_join_requests(rng, plan, members, ages)
    policies = _draw_policies(rng, len(plan.groups), using)
    departures = _draw_departures(rng, plan, members, ages, policies)
    blocks = _draw_blocks(rng, plan, members, ages)
    consents = _draw_consents(rng, members, ages)
    membership_ids = rng.bytes(PUBLIC_ID_BYTES * len(members))
    request_ids = rng.bytes(PUBLIC_ID_BYTES * len(requests))
    group_ids = _write_groups(context, rng, plan, people, policies)

    user_ids = people.user_ids

    def when(ago: Any) -> Callable[[int, int], list[str]]:
        return lambda start, stop: _timestamps(context, ago[start:stop])

    def who(events: Events) -> tuple[Any, Any]:
        return user_ids[events.person], group_ids[events.group]

    with context.constraints_suspended(
        Membership, JoinRequest, Departure, GroupBlock, ConsentEvent
    ):
        memberships = context.bulk_insert(
            Membership,
            ["public_id", "user", "group", "role", "joined_at"],
            column_rows(
                len(members),
                _tokens(membership_ids),
                user_ids[members.person],
                group_ids[members.group],
                lambda start, stop: ROLES[members.role[start:stop]].tolist(),
                when(members.ago),
            ),
            total=len(members),
            desc="memberships",
        )
        context.bulk_insert(
            JoinRequest,
            ["public_id", "user", "group", "status", "created_at"],
            column_rows(
                len(requests),
                _tokens(request_ids),
                *who(requests),
                JoinRequest.Status.PENDING,
                when(requests.ago),
            ),
            total=len(requests),
            desc="join requests",
        )
        retain_until = departures.ago - policies.retention_months[departures.group] * MONTH
        context.bulk_insert(
            Departure,
            ["user", "group", "left_at", "retain_until"],
            column_rows(
                len(departures),
                *who(departures),
                when(departures.ago),
                lambda start, stop: [
                    moment[:10] for moment in _timestamps(context, retain_until[start:stop])
                ],
            ),
            total=len(departures),
            desc="departures",
        )
        context.bulk_insert(
            GroupBlock,
            ["user", "group", "created_at"],
            column_rows(len(blocks), *who(blocks), when(blocks.ago)),
            total=len(blocks),
            desc="blocks",
        )
        written = 0
        for batch in consents:
            purpose, events = purposes[batch.code], batch.events
            group = group_ids[events.group] if purpose.scope == Purpose.Scope.GROUP else None
            written += context.bulk_insert(
                ConsentEvent,
                CONSENT_FIELDS,
                column_rows(
                    len(events),
                    user_ids[events.person],
                    purpose.pk,
                    group,
                    "",
                    batch.given,
                    when(events.ago),
                    ConsentEvent.Source.IMPORT,
                    None,
                    notice.pk,
                    purpose.text,
                ),
                total=len(events),
                desc=f"consents ({batch.code}{'' if batch.given else ', withdrawn'})",
            )

    if context.vendor == "postgresql":
        # Fresh planner statistics: until (auto)ANALYZE runs, PostgreSQL plans consent
        # queries as if these tables were as small as before, and nested loops over
        # millions of rows take minutes. Samples a few thousand rows: seconds.
        connection = connections[using]
        tables = (Group, Membership, JoinRequest, Departure, GroupBlock, ConsentEvent)
        with connection.cursor() as cursor:
            quote = connection.ops.quote_name
            cursor.execute("ANALYZE " + ", ".join(quote(t._meta.db_table) for t in tables))

    kinds = Counter(group.kind for group in plan.groups)
    pending = sum(group.status == Group.Status.PENDING for group in plan.groups)
    return (
        f"{len(plan.groups):,} groups ({kinds[Group.Kind.CONSTITUENCY]:,} constituency "
        f"parties, {kinds[Group.Kind.BRANCH]:,} branches, {pending} waiting for approval), "
        f"{memberships:,} memberships, {len(requests):,} join requests, "
        f"{written:,} consent events"
    )


# Tables the build fills in bulk and the reset empties in bulk, by their `group` column.
BULK_TABLES: tuple[type[models.Model], ...] = (Membership, JoinRequest, Departure, GroupBlock)


def reset_groups(context: SeedContext) -> str:
    """Delete the seeded groups and everything that hangs off them, set-based.

    Rows of the bulk tables and consent events go by raw SQL (the ORM would collect
    millions of them in Python): everything naming a seeded group, and every consent
    event of a seeded person, which the people step's reset (raw SQL too, so no
    cascade) could not otherwise remove. Other tables that refer to a group are handled
    as their `on_delete` says: rows cascade through the ORM (few, and their own
    dependants cascade too), links are cleared, and a protected row stops the reset.
    """
    using = context.using
    seeded = Group.objects.using(using).filter(seeded=True)
    under = Group.objects.using(using).filter(parent__seeded=True, seeded=False)
    if under.exists():
        names = ", ".join(sorted(under.values_list("slug", flat=True)[:5]))
        raise SeedError(
            f"Groups that were not seeded sit under seeded ones ({names}): move or delete "
            "them before resetting the seed."
        )
    connection = connections[using]
    quote = connection.ops.quote_name
    group_table = quote(Group._meta.db_table)
    seeded_groups = f"SELECT id FROM {group_table} WHERE seeded = %s"  # noqa: S608 (quoted)
    seeded_users = (
        f"SELECT user_id FROM {quote(Person._meta.db_table)} "  # noqa: S608 (quoted)
        "WHERE seeded = %s AND user_id IS NOT NULL"
    )
    removed: Counter[str] = Counter()
    # SQLite updates every index of a deleted row at once, so dropping them for the
    # delete and rebuilding them over the rows left is faster; PostgreSQL leaves index
    # entries to VACUUM, so there the rebuild would only cost.
    suspended = (
        context.constraints_suspended(*BULK_TABLES, ConsentEvent)
        if context.vendor == "sqlite"
        else nullcontext()
    )
    with suspended, connection.cursor() as cursor:
        for table in BULK_TABLES:
            cursor.execute(
                f"DELETE FROM {quote(table._meta.db_table)} "  # noqa: S608 (quoted)
                f"WHERE group_id IN ({seeded_groups})",
                [True],
            )
            removed[table._meta.model_name or ""] = cursor.rowcount
        # Two statements, not one with OR: PostgreSQL turns each IN into a hash
        # semi-join, but an OR of two would probe a million people once per row.
        for condition in (f"group_id IN ({seeded_groups})", f"user_id IN ({seeded_users})"):
            cursor.execute(
                f"DELETE FROM {quote(ConsentEvent._meta.db_table)} WHERE {condition}",  # noqa: S608
                [True],
            )
            removed["consent events"] += cursor.rowcount
    # Other tables that refer to a group (as Django's own delete would find them).
    for relation in Group._meta.get_fields(include_hidden=True):
        if not (
            relation.auto_created
            and not relation.concrete
            and (relation.one_to_many or relation.one_to_one)
        ):
            continue
        model: Any = relation.related_model
        if model is None or model in (*BULK_TABLES, ConsentEvent, Group):
            continue
        fk = relation.field  # type: ignore[union-attr]
        rows = model._base_manager.using(using).filter(**{f"{fk.name}__seeded": True})
        on_delete = fk.remote_field.on_delete
        if on_delete is CASCADE:
            removed[str(model._meta.verbose_name_plural)] += rows.delete()[0]
        elif on_delete is SET_NULL:
            rows.update(**{fk.name: None})
        elif on_delete is not DO_NOTHING and rows.exists():
            raise SeedError(
                f"Some {model._meta.verbose_name_plural} refer to seeded groups: delete them "
                "before resetting the seed."
            )
    groups = seeded.count()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {group_table} WHERE seeded = %s", [True])  # noqa: S608
    return (
        f"{groups:,} groups, {removed['membership']:,} memberships, "
        f"{removed['joinrequest']:,} join requests and "
        f"{removed['consent events']:,} consent events removed"
    )
