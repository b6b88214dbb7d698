"""The "talent" seed step: every seeded person's talent-pool profile.

Runs after "people". Every seeded volunteer gets:

* skills from the taxonomy, some far more often than others: a curated head
  (`POPULAR_SKILLS`: leafleting, canvassing, social media, driving…), then every other
  skill in a shuffled order, weighted 1/rank (Zipf). About 7% list no skill, the rest one
  to a dozen (mostly two to four), each at a level. A language skill (Welsh, Polish, BSL
  interpreting…) goes only to someone who speaks or signs that language.
* remote flags: about 30% of people can help remotely with at least one skill, and only
  with skills that can be done at a distance (web development, never leafleting).
* a `Profile`: a weekly availability grid drawn from a few ways of life (working people's
  evenings and weekends, retired people's daytimes…), hours a week (never fewer during
  campaigns), how far they will travel, languages stored as the onboarding form stores
  them (English for nearly everyone; Welsh often in Welsh-speaking districts, Gaelic in
  the Western Isles and Highlands, BSL and other languages sprinkled, more of them in
  London), contact channels, asks a week, news digest, quiet hours and a time zone
  (mostly Europe/London).
* for a few people, dates away.

Who may *find* someone is a consent, not a profile field: the groups step records it
(`found_movement` for about 95% of people). Phone numbers are in Ofcom's range kept for
drama (07700 900xxx), so no seeded number rings anyone. Every draw comes from
`context.rng("talent")`; `reset_talent` deletes the seeded people's skills, profiles and
dates away, which is everything this step made.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connections

from handsup.core.seeding import SeedContext, SeedError, column_rows
from handsup.people.forms import LANGUAGES
from handsup.people.models import DateAway, Person, PersonSkill, Profile, Skill
from handsup.people.seeding import SeededPeople
from handsup.places.areas import AREA_NAMES, LONDON_AREAS
from handsup.places.postcodes import area_of

DRAW_CHUNK = 20_000  # people whose skill keys are drawn at a time (one float per skill)
DAY = 24 * 3600

# --- Skills --------------------------------------------------------------------------

# The most commonly offered skills, most common first (by slug); the rest of the taxonomy
# follows in a shuffled order. Slugs an admin has since merged away are skipped.
POPULAR_SKILLS = (
    "leafleting",
    "door-to-door-canvassing",
    "social-media",
    "driving-car",
    "event-organising",
    "writing",
    "cooking-and-catering",
    "phone-banking",
    "petitions-and-street-stalls",
    "photography",
    "fundraising",
    "graphic-design",
    "stewarding",
    "venue-set-up-and-crew",
    "befriending",
    "data-analysis",
    "public-speaking",
    "gardening",
)
ZIPF_EXPONENT = 1.0
# How many skills people list: the share listing none, one, two… twelve.
SKILL_COUNT_SHARES = (
    0.07, 0.16, 0.20, 0.19, 0.13, 0.09, 0.06, 0.04, 0.025, 0.015, 0.01, 0.005, 0.005,
)  # fmt: skip
LEVEL_SHARES = {
    PersonSkill.Level.LEARNING: 0.15,
    PersonSkill.Level.CAPABLE: 0.42,
    PersonSkill.Level.EXPERIENCED: 0.29,
    PersonSkill.Level.CAN_TEACH: 0.14,
}

# Skills that are a language, by the language's code in the onboarding form. Only people
# who speak or sign the language may hold one, and a share of them do.
LANGUAGE_SKILLS = {
    "welsh": "cy",
    "british-sign-language-interpreting": "bfi",
    "scottish-gaelic": "gd",
    "polish": "pl",
    "urdu": "ur",
    "punjabi": "pa",
    "bengali": "bn",
    "arabic": "ar",
    "somali": "so",
    "romanian": "ro",
}
P_LANGUAGE_SKILL = 0.25
P_SIGN_INTERPRETING = 0.1  # interpreting is a profession; signing is not

# --- Remote work ---------------------------------------------------------------------

P_REMOTE_CAPABLE = 0.30  # of everyone: at least one skill offered remotely
# Of people who help remotely, how likely each skill of theirs is offered remotely.
REMOTE_SHARE_BY_CATEGORY = {
    "digital": 0.85,
    "communications": 0.7,
    "professional": 0.6,
    "languages": 0.6,
    "creative": 0.45,
    "care": 0.3,
    "organising": 0.3,
    "practical": 0.0,
}
REMOTE_SHARE_OTHERWISE = 0.3  # skills in categories added since
REMOTE_SHARE_BY_SKILL = {"phone-banking": 0.9, "online-meeting-hosting": 0.95}
IN_PERSON_ONLY = frozenset(
    {
        "door-to-door-canvassing", "leafleting", "stewarding", "petitions-and-street-stalls",
        "photography", "filming", "banner-and-placard-making", "music-and-performance",
        "theatre-and-drama", "legal-observing", "first-aid", "childcare",
        "care-for-older-people", "disability-support", "food-bank-support",
        "venue-set-up-and-crew", "event-organising",
    }
)  # fmt: skip

# --- Languages -----------------------------------------------------------------------

P_ENGLISH = 0.985  # the rest list only other languages
# Everyone's chance of each other language before the local factors below.
LANGUAGE_RATES = {
    "cy": 0.003, "bfi": 0.005, "gd": 0.0005, "ga": 0.004, "pl": 0.015, "ro": 0.006,
    "ur": 0.012, "pa": 0.01, "bn": 0.008, "gu": 0.006, "ar": 0.008, "so": 0.003,
    "ta": 0.003, "tr": 0.003, "yue": 0.003, "zh": 0.004, "fr": 0.03, "es": 0.025,
    "pt": 0.006,
}  # fmt: skip
# Welsh where it is spoken: whole postcode areas of Wales, and the Welsh districts of
# areas that straddle the border (Shrewsbury's SY15–SY25, Chester's CH5–CH8).
WELSH_BY_AREA = {"LL": 0.4, "SA": 0.25, "LD": 0.15, "CF": 0.12, "NP": 0.08}
WELSH_BY_DISTRICTS = {"SY": (range(15, 26), 0.3), "CH": (range(5, 9), 0.1)}
GAELIC_BY_AREA = {"HS": 0.45, "IV": 0.06, "PA": 0.04, "KW": 0.02, "PH": 0.02}
SCOTTISH_AREAS = frozenset(
    {"AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML", "PA", "PH", "TD", "ZE"}
)
GAELIC_ELSEWHERE_IN_SCOTLAND = 0.005
LOCAL_ONLY_LANGUAGES = frozenset({"cy", "gd", "bfi"})  # not more common in London
LONDON_FACTOR = 2.5

# --- The rest of the profile ---------------------------------------------------------

# Ways of life, each a chance of being free in each part of the day (morning, afternoon,
# evening) on weekdays, Saturdays and Sundays, and their share of people.
Chances = tuple[float, float, float]
AVAILABILITY_PATTERNS: tuple[tuple[float, Chances, Chances, Chances], ...] = (
    (0.45, (0.03, 0.05, 0.6), (0.5, 0.55, 0.2), (0.35, 0.45, 0.15)),  # working week
    (0.20, (0.6, 0.55, 0.1), (0.3, 0.3, 0.05), (0.15, 0.2, 0.05)),  # daytimes
    (0.12, (0.0, 0.0, 0.05), (0.7, 0.7, 0.2), (0.5, 0.6, 0.1)),  # weekends
    (0.15, (0.4, 0.45, 0.5), (0.5, 0.5, 0.3), (0.4, 0.4, 0.2)),  # flexible
    (0.08, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),  # skipped the grid
)  # fmt: skip
HOURS_NORMAL = {0: 0.04, 1: 0.18, 2: 0.25, 3: 0.14, 4: 0.12, 5: 0.08, 6: 0.06, 8: 0.05,
                10: 0.04, 12: 0.02, 15: 0.01, 20: 0.01}  # fmt: skip
HOURS_EXTRA_IN_CAMPAIGNS = {0: 0.15, 1: 0.15, 2: 0.25, 3: 0.1, 4: 0.15, 6: 0.08, 8: 0.06,
                            10: 0.04, 15: 0.02}  # fmt: skip
MAX_HOURS = 80
TRAVEL_KM = {1: 0.02, 2: 0.05, 3: 0.07, 5: 0.15, 8: 0.1, 10: 0.2, 15: 0.1, 20: 0.1, 25: 0.04,
             30: 0.05, 50: 0.05, 80: 0.02, 100: 0.02, 200: 0.015, 500: 0.005}  # fmt: skip
ASKS_NORMAL = {0: 0.05, 1: 0.45, 2: 0.28, 3: 0.12, 5: 0.06, 7: 0.04}
ASKS_EXTRA_IN_CAMPAIGNS = {0: 0.2, 1: 0.3, 2: 0.25, 3: 0.12, 4: 0.08, 7: 0.05}
MAX_ASKS_CAMPAIGN = 14
CADENCES = {
    Profile.Cadence.WEEKLY.value: 0.45,
    Profile.Cadence.FORTNIGHTLY.value: 0.25,
    Profile.Cadence.MONTHLY.value: 0.22,
    Profile.Cadence.NEVER.value: 0.08,
}
# (quiet from, quiet until): never the same time, which would silence someone all day.
QUIET_HOURS = {
    ("21:00:00", "08:00:00"): 0.55,
    ("22:00:00", "08:00:00"): 0.12,
    ("20:00:00", "08:00:00"): 0.06,
    ("21:00:00", "09:00:00"): 0.08,
    ("22:00:00", "07:00:00"): 0.08,
    ("23:00:00", "09:00:00"): 0.06,
    ("20:00:00", "09:00:00"): 0.03,
    ("09:00:00", "17:00:00"): 0.02,  # night workers sleep by day
}
TIME_ZONES = {
    "Europe/London": 0.955,
    "Europe/Dublin": 0.01,
    "Europe/Paris": 0.007,
    "Europe/Berlin": 0.005,
    "Europe/Madrid": 0.005,
    "America/New_York": 0.004,
    "Europe/Amsterdam": 0.003,
    "Europe/Warsaw": 0.003,
    "America/Toronto": 0.002,
    "Asia/Kolkata": 0.002,
    "Australia/Sydney": 0.002,
    "Africa/Lagos": 0.001,
    "Asia/Karachi": 0.001,
}
P_EMAIL = 0.97
P_PHONE = 0.2  # and everyone who does not want email
P_POST = 0.03
DRAMA_MOBILE_PREFIX = "07700 900"  # Ofcom keeps 07700 900000–900999 for fiction
STREETS = (
    "Chartist Way", "Co-operative Row", "Tolpuddle Close", "Suffrage Lane", "Union Terrace",
    "Commons Road", "Allotment Walk", "Mutual Aid Street", "Solidarity Place", "Rochdale Row",
)  # fmt: skip
P_TALENTS = 0.15
TALENTS = (
    "baking", "knitting", "can lend a gazebo", "have a car with a roof rack", "chess",
    "calligraphy", "face painting", "karaoke", "know everyone at the allotments",
    "quiz setting", "crosswords", "can lend a trestle table", "juggling", "first-aid kit",
    "good at getting people talking", "local history", "can host small meetings at home",
)  # fmt: skip
P_ACCESS_NEEDS = 0.04
ACCESS_NEEDS = (
    "Step-free access, please.",
    "A quiet space to take breaks.",
    "Written instructions help me.",
    "I use a wheelchair.",
    "Large print, please.",
    "A BSL interpreter for meetings.",
    "Somewhere to sit down during long events.",
)
P_AWAY = 0.05
P_AWAY_TWICE = 0.2  # of those away
AWAY_FROM_DAYS = (-14, 180)  # around the seed epoch
AWAY_MEAN_DAYS = 7
AWAY_MAX_DAYS = 28


PROFILE_FIELDS = [
    "person", "availability", "hours_normal", "hours_campaign", "travel_radius_km", "talents",
    "languages", "accessibility_needs", "phone", "postal_address", "contact_by_email",
    "contact_by_phone", "contact_by_post", "asks_per_week_normal", "asks_per_week_campaign",
    "digest_cadence", "quiet_from", "quiet_until", "time_zone", "updated_at",
]  # fmt: skip


@dataclass(frozen=True)
class SeededTalent:
    """What later steps get in `context.artifacts["talent"]`: the person-skill rows (as
    indexes into the seeded people, and skill ids), then one entry per person."""

    skill_person: Any  # int64 arrays
    skill_id: Any
    skill_level: Any
    skill_remote: Any  # bool
    availability: Any
    travel_radius_km: Any
    languages: list[list[str]]  # per distinct set: see `language_set`
    language_set: Any  # per person, an index into `languages`


def _choose(rng: np.random.Generator, shares: dict[Any, float], size: int) -> Any:
    """`size` draws from `shares`' keys, as an object array (numbers stay numbers)."""
    keys = np.empty(len(shares), dtype=object)
    for index, key in enumerate(shares):  # one by one: numpy would unpack tuple keys
        keys[index] = key
    weights = np.array(list(shares.values()), dtype=np.float64)
    return keys[rng.choice(len(shares), size=size, p=weights / weights.sum())]


@dataclass(frozen=True)
class Taxonomy:
    ids: Any  # int64, in popularity order
    slugs: list[str]
    weights: Any  # Zipf, for the skills drawn by popularity (zero for language skills)
    remote_share: Any  # per skill: how likely a remote helper offers it remotely


def _taxonomy(rng: np.random.Generator, using: str) -> Taxonomy:
    rows = list(
        Skill.objects.using(using).order_by("slug").values_list("pk", "slug", "category__slug")
    )
    head = {slug: rank for rank, slug in enumerate(POPULAR_SKILLS)}
    known = [row for row in rows if row[1] in head]
    known.sort(key=lambda row: head[row[1]])
    rest = [row for row in rows if row[1] not in head]
    rest = [rest[i] for i in rng.permutation(len(rest)).tolist()]
    ordered = known + rest
    ranks = np.arange(1, len(ordered) + 1, dtype=np.float64)
    weights = ranks**-ZIPF_EXPONENT
    weights[[row[1] in LANGUAGE_SKILLS for row in ordered]] = 0.0
    remote_share = np.array(
        [
            0.0
            if slug in IN_PERSON_ONLY
            else REMOTE_SHARE_BY_SKILL.get(
                slug, REMOTE_SHARE_BY_CATEGORY.get(category, REMOTE_SHARE_OTHERWISE)
            )
            for _, slug, category in ordered
        ],
        dtype=np.float64,
    )
    return Taxonomy(
        ids=np.array([row[0] for row in ordered], dtype=np.int64),
        slugs=[row[1] for row in ordered],
        weights=weights,
        remote_share=remote_share,
    )


def _draw_popular_skills(rng: np.random.Generator, weights: Any, counts: Any) -> tuple[Any, Any]:
    """Each person's `counts[i]` skills, without repeats, by weight: the Gumbel top-k
    trick (add Gumbel noise to the log weights, keep the k largest), in blocks of people
    so the noise never fills more than a few megabytes. Returns (person, skill) indexes.
    """
    drawable = np.flatnonzero(weights > 0)
    counts = np.minimum(counts, len(drawable))
    top = int(counts.max()) if len(counts) else 0
    people: list[Any] = [np.empty(0, np.int64)]
    skills: list[Any] = [np.empty(0, np.int64)]
    if top == 0:
        return people[0], skills[0]
    log_weights = np.log(weights[drawable])
    for start in range(0, len(counts), DRAW_CHUNK):
        stop = min(start + DRAW_CHUNK, len(counts))
        keys = rng.gumbel(size=(stop - start, len(drawable))) + log_weights
        best = np.argpartition(-keys, top - 1, axis=1)[:, :top]
        order = np.argsort(-np.take_along_axis(keys, best, axis=1), axis=1)
        best = np.take_along_axis(best, order, axis=1)
        kept = np.arange(top) < counts[start:stop, None]
        people.append(np.nonzero(kept)[0] + start)
        skills.append(drawable[best[kept]])
    return np.concatenate(people), np.concatenate(skills)


def _district_rates(districts: Any) -> tuple[Any, dict[str, Any]]:
    """Each language's chance for people in each distinct district: (inverse, rates),
    where `rates[code][inverse]` is the chance per person."""
    codes, inverse = np.unique(districts, return_inverse=True)
    areas = [area_of(str(code)) for code in codes.tolist()]
    numbers = []
    for code, area in zip(codes.tolist(), areas, strict=True):
        digits = "".join(char for char in str(code)[len(area) :] if char.isdigit())
        numbers.append(int(digits) if digits else -1)
    london = np.array([area in LONDON_AREAS for area in areas], dtype=bool)
    rates: dict[str, Any] = {}
    for code, base in LANGUAGE_RATES.items():
        rate = np.full(len(codes), base, dtype=np.float64)
        if code not in LOCAL_ONLY_LANGUAGES:
            rate[london] *= LONDON_FACTOR
        rates[code] = rate
    for i, (area, number) in enumerate(zip(areas, numbers, strict=True)):
        if area in WELSH_BY_AREA:
            rates["cy"][i] = WELSH_BY_AREA[area]
        elif area in WELSH_BY_DISTRICTS and number in WELSH_BY_DISTRICTS[area][0]:
            rates["cy"][i] = WELSH_BY_DISTRICTS[area][1]
        if area in GAELIC_BY_AREA:
            rates["gd"][i] = GAELIC_BY_AREA[area]
        elif area in SCOTTISH_AREAS:
            rates["gd"][i] = GAELIC_ELSEWHERE_IN_SCOTLAND
    return inverse, rates


def _draw_languages(rng: np.random.Generator, districts: Any) -> tuple[Any, list[list[str]], Any]:
    """Per person a bitmask of languages (bit = position in the form's list), the distinct
    sets as the form stores them, and each person's index into those sets."""
    form_codes = [code for code, _ in LANGUAGES]
    bit = {code: position for position, code in enumerate(form_codes)}
    count = len(districts)
    inverse, rates = _district_rates(districts)
    english = rng.random(count) < P_ENGLISH
    masks = np.zeros(count, dtype=np.int64)
    others = [code for code in form_codes if code in LANGUAGE_RATES]
    for code in others:
        speaks = rng.random(count) < rates[code][inverse]
        masks |= speaks.astype(np.int64) << bit[code]
    # Without English, someone speaks or signs something else.
    weights = np.array([LANGUAGE_RATES[code] for code in others])
    fallback = rng.choice(len(others), size=count, p=weights / weights.sum())
    alone = ~english & (masks == 0)
    fallback_bits = np.array([bit[code] for code in others], dtype=np.int64)[fallback]
    masks[alone] |= np.int64(1) << fallback_bits[alone]
    if "en" in bit:
        masks |= english.astype(np.int64) << bit["en"]
    distinct, per_person = np.unique(masks, return_inverse=True)
    sets = [
        [code for code in form_codes if int(mask) >> bit[code] & 1] for mask in distinct.tolist()
    ]
    return masks, sets, per_person


def _draw_availability(rng: np.random.Generator, count: int) -> Any:
    shares = np.array([pattern[0] for pattern in AVAILABILITY_PATTERNS])
    pattern = rng.choice(len(shares), size=count, p=shares / shares.sum())
    # chances[pattern, day * 3 + slot]
    chances = np.array(
        [
            [*weekday * 5, *saturday, *sunday]
            for _, weekday, saturday, sunday in AVAILABILITY_PATTERNS
        ],
        dtype=np.float64,
    )
    availability = np.zeros(count, dtype=np.int64)
    for slot in range(21):
        free = rng.random(count) < chances[pattern, slot]
        availability |= free.astype(np.int64) << slot
    return availability


def _account_ages(context: SeedContext, people: SeededPeople) -> Any:
    """Seconds between each seeded person's joining and the seed epoch, in people order."""
    connection = connections[context.using]
    table = connection.ops.quote_name(Person._meta.db_table)
    if connection.vendor == "postgresql":
        moment = "EXTRACT(EPOCH FROM created_at)::bigint"
    else:  # SQLite keeps the UTC text that `db_timestamps` wrote
        moment = "CAST(strftime('%%s', created_at) AS INTEGER)"
    ids_parts, moments_parts = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT id, {moment} FROM {table} WHERE seeded = %s",  # noqa: S608 (quoted name)
            [True],
        )
        while rows := cursor.fetchmany(100_000):
            ids, moments = zip(*rows, strict=True)
            ids_parts.append(np.array(ids, dtype=np.int64))
            moments_parts.append(np.array(moments, dtype=np.int64))
    all_ids, all_moments = np.concatenate(ids_parts), np.concatenate(moments_parts)
    order = np.argsort(all_ids)
    found = order[np.searchsorted(all_ids, people.person_ids, sorter=order)]
    return np.maximum(int(context.epoch.timestamp()) - all_moments[found], 0)


def _postcodes(context: SeedContext, person_ids: Any) -> dict[int, str]:
    found: dict[int, str] = {}
    ids = person_ids.tolist()
    for start in range(0, len(ids), 500):
        found.update(
            Person.objects.using(context.using)
            .filter(pk__in=ids[start : start + 500])
            .values_list("pk", "postcode")
        )
    return found


def build_talent(context: SeedContext) -> str:
    using = context.using
    people = context.artifacts.get("people")
    if not isinstance(people, SeededPeople):
        raise SeedError("The talent step needs the people step's volunteers.")
    count = len(people)
    # Within the people's id range, so the unique index on person answers at once.
    ids = people.person_ids
    mine = Profile.objects.using(using).filter(
        person_id__gte=int(ids.min()) if count else 0,
        person_id__lte=int(ids.max()) if count else -1,
        person__seeded=True,
    )
    if mine.exists():
        raise SeedError(
            "Seeded people already have profiles: run `handsup seed --reset …` to replace them."
        )
    rng = context.rng("talent")
    taxonomy = _taxonomy(rng, using)
    if count and not len(taxonomy.ids):
        raise SeedError("The skills taxonomy is empty: run `handsup migrate` first.")

    # Every draw happens here, in a fixed order, so the rows depend only on the seed, the
    # people and the taxonomy.
    masks, language_sets, language_set = _draw_languages(rng, people.districts)
    shares = np.array(SKILL_COUNT_SHARES)
    skill_counts = rng.choice(len(shares), size=count, p=shares / shares.sum())
    person, skill = _draw_popular_skills(rng, taxonomy.weights, skill_counts)
    # Language skills, for some of those who speak the language and list skills at all.
    form_bit = {code: position for position, code in enumerate(code for code, _ in LANGUAGES)}
    with_skills = skill_counts > 0
    extra_people, extra_skills = [person], [skill]
    for index, slug in enumerate(taxonomy.slugs):
        code = LANGUAGE_SKILLS.get(slug)
        if code is None or code not in form_bit:
            continue
        chance = P_SIGN_INTERPRETING if code == "bfi" else P_LANGUAGE_SKILL
        speaks = (masks >> form_bit[code] & 1).astype(bool)
        chosen = np.flatnonzero(speaks & with_skills & (rng.random(count) < chance))
        extra_people.append(chosen)
        extra_skills.append(np.full(len(chosen), index, dtype=np.int64))
    person, skill = np.concatenate(extra_people), np.concatenate(extra_skills)
    order = np.lexsort((skill, person))
    person, skill = person[order], skill[order]
    level_shares = np.array(list(LEVEL_SHARES.values()))
    levels = np.array(list(LEVEL_SHARES), dtype=np.int64)[
        rng.choice(len(level_shares), size=len(person), p=level_shares / level_shares.sum())
    ]
    remote = _draw_remote(rng, count, person, taxonomy.remote_share[skill])

    availability = _draw_availability(rng, count)
    hours_normal = _choose(rng, HOURS_NORMAL, count).astype(np.int64)
    hours_campaign = np.minimum(
        hours_normal + _choose(rng, HOURS_EXTRA_IN_CAMPAIGNS, count).astype(np.int64), MAX_HOURS
    )
    travel = _choose(rng, TRAVEL_KM, count).astype(np.int64)
    asks_normal = _choose(rng, ASKS_NORMAL, count).astype(np.int64)
    asks_campaign = np.minimum(
        asks_normal + _choose(rng, ASKS_EXTRA_IN_CAMPAIGNS, count).astype(np.int64),
        MAX_ASKS_CAMPAIGN,
    )
    cadence = _choose(rng, CADENCES, count)
    quiet = _choose(rng, QUIET_HOURS, count)
    time_zone = _choose(rng, TIME_ZONES, count)
    by_email = rng.random(count) < P_EMAIL
    by_phone = (rng.random(count) < P_PHONE) | ~by_email
    by_post = rng.random(count) < P_POST
    phone_numbers = rng.integers(0, 1000, size=count)
    house_numbers = rng.integers(1, 200, size=count)
    streets = rng.integers(0, len(STREETS), size=count)
    has_talents = rng.random(count) < P_TALENTS
    talent_picks = rng.integers(0, len(TALENTS), size=(count, 2))
    talent_two = rng.random(count) < 0.4
    has_needs = rng.random(count) < P_ACCESS_NEEDS
    need_picks = rng.integers(0, len(ACCESS_NEEDS), size=count)
    ages = _account_ages(context, people)
    updated_ago = (rng.random(count) * ages).astype(np.int64)
    away, starts, ends = _draw_dates_away(rng, count, context)

    # Free text, mostly empty: object arrays so each row takes its value by index.
    phones = np.full(count, "", dtype=object)
    phones[by_phone] = [f"{DRAMA_MOBILE_PREFIX}{n:03d}" for n in phone_numbers[by_phone].tolist()]
    addresses = np.full(count, "", dtype=object)
    posted = np.flatnonzero(by_post)
    postcodes = _postcodes(context, people.person_ids[posted])
    addresses[posted] = [
        "\n".join(
            part
            for part in (
                f"{house_numbers[i]} {STREETS[streets[i]]}",
                str(AREA_NAMES.get(area_of(str(people.districts[i])), "")),
                postcodes.get(int(people.person_ids[i]), ""),
            )
            if part
        )
        for i in posted.tolist()
    ]
    talents = np.full(count, "", dtype=object)
    talents[has_talents] = [
        TALENTS[a] if not two or a == b else f"{TALENTS[a]}, {TALENTS[b]}"
        for (a, b), two in zip(
            talent_picks[has_talents].tolist(), talent_two[has_talents].tolist(), strict=True
        )
    ]
    needs = np.full(count, "", dtype=object)
    needs[has_needs] = [ACCESS_NEEDS[i] for i in need_picks[has_needs].tolist()]
    language_json = np.empty(len(language_sets), dtype=object)
    language_json[:] = [json.dumps(codes) for codes in language_sets]
    quiet_from = np.array([pair[0] for pair in quiet.tolist()], dtype=object)
    quiet_until = np.array([pair[1] for pair in quiet.tolist()], dtype=object)

    def updated(start: int, stop: int) -> list[str]:
        return context.timestamps(updated_ago[start:stop])

    person_ids = people.person_ids
    with context.constraints_suspended(PersonSkill, Profile, DateAway):
        context.bulk_insert(
            Profile,
            PROFILE_FIELDS,
            column_rows(
                count,
                person_ids,
                availability,
                hours_normal,
                hours_campaign,
                travel,
                talents,
                lambda start, stop: language_json[language_set[start:stop]].tolist(),
                needs,
                phones,
                addresses,
                by_email,
                by_phone,
                by_post,
                asks_normal,
                asks_campaign,
                cadence,
                quiet_from,
                quiet_until,
                time_zone,
                updated,
            ),
            total=count,
            desc="profiles",
        )
        skills_written = context.bulk_insert(
            PersonSkill,
            ["person", "skill", "level", "remote"],
            column_rows(len(person), person_ids[person], taxonomy.ids[skill], levels, remote),
            total=len(person),
            desc="skills held",
        )
        away_written = context.bulk_insert(
            DateAway,
            ["person", "starts_on", "ends_on"],
            column_rows(len(away), person_ids[away], starts, ends),
            total=len(away),
            desc="dates away",
        )

    if context.vendor == "postgresql":
        # Fresh planner statistics, as the groups step explains: matching reads these.
        connection = connections[using]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE "
                + ", ".join(quote(m._meta.db_table) for m in (PersonSkill, Profile, DateAway))
            )

    context.artifacts["talent"] = SeededTalent(
        skill_person=person,
        skill_id=taxonomy.ids[skill],
        skill_level=levels,
        skill_remote=remote,
        availability=availability,
        travel_radius_km=travel,
        languages=language_sets,
        language_set=language_set,
    )
    remote_people = len(np.unique(person[remote]))
    share = remote_people / count if count else 0.0
    return (
        f"{count:,} profiles, {skills_written:,} skills held "
        f"({share:.0%} of people can help remotely), {away_written:,} dates away"
    )


def _draw_remote(rng: np.random.Generator, count: int, person: Any, share: Any) -> Any:
    """Which skills are offered remotely: `P_REMOTE_CAPABLE` of everyone can help
    remotely (chosen among those with a skill that can be done at a distance), each such
    skill of theirs by its share, and always at least one."""
    possible = share > 0
    could = np.bincount(person[possible], minlength=count) > 0
    chance = min(1.0, P_REMOTE_CAPABLE / could.mean()) if count and could.any() else 0.0
    capable = could & (rng.random(count) < chance)
    remote = capable[person] & (rng.random(len(person)) < share)
    # Those who would help remotely but drew no skill for it: their first possible one.
    done = np.bincount(person[remote], minlength=count) > 0
    candidates = np.flatnonzero(possible & (capable & ~done)[person])
    _, first = np.unique(person[candidates], return_index=True)
    remote[candidates[first]] = True
    return remote


def _draw_dates_away(
    rng: np.random.Generator, count: int, context: SeedContext
) -> tuple[Any, Any, Any]:
    """A holiday or two for a few people, around the seed epoch: (person, starts, ends)."""
    away = rng.random(count) < P_AWAY
    twice = away & (rng.random(count) < P_AWAY_TWICE)
    first_start = rng.integers(*AWAY_FROM_DAYS, size=count)
    lengths = np.minimum(rng.geometric(1 / AWAY_MEAN_DAYS, size=(count, 2)), AWAY_MAX_DAYS)
    gap = rng.integers(7, 90, size=count)
    person = np.concatenate([np.flatnonzero(away), np.flatnonzero(twice)])
    starts = np.concatenate([first_start[away], (first_start + lengths[:, 0] + gap)[twice]])
    ends = starts + np.concatenate([lengths[away, 0], lengths[twice, 1]]) - 1
    order = np.lexsort((starts, person))
    epoch = np.datetime64(context.epoch.date(), "D")
    return (
        person[order],
        np.datetime_as_string(epoch + starts[order]),
        np.datetime_as_string(epoch + ends[order]),
    )


def reset_talent(context: SeedContext) -> str:
    """Delete the seeded people's skills, profiles and dates away (raw SQL: the ORM would
    collect millions of rows in Python first)."""
    connection = connections[context.using]
    quote = connection.ops.quote_name
    seeded_people = f"SELECT id FROM {quote(Person._meta.db_table)} WHERE seeded = %s"  # noqa: S608
    removed: dict[type[Any], int] = {}
    # As in the groups step's reset: SQLite deletes faster without the indexes and then
    # rebuilds them over the rows left; PostgreSQL leaves dead index entries to VACUUM.
    suspended = (
        context.constraints_suspended(PersonSkill, Profile, DateAway)
        if context.vendor == "sqlite"
        else nullcontext()
    )
    with suspended, connection.cursor() as cursor:
        for model in (PersonSkill, DateAway, Profile):
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} "  # noqa: S608 (quoted names)
                f"WHERE person_id IN ({seeded_people})",
                [True],
            )
            removed[model] = cursor.rowcount
    return (
        f"{removed[Profile]:,} profiles, {removed[PersonSkill]:,} skills held and "
        f"{removed[DateAway]:,} dates away removed"
    )
