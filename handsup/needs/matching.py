"""Who may be suggested for a need, in what order, and why: the shortlist's rules.

Three things live here, one place each:

- **Eligibility** (`eligible_people`): one queryset, one SQL statement, whatever the
  number of people. Someone is eligible for a need when they are findable by its group
  (`Person.objects.findable`: verified, and consenting to be found by the movement or by
  their own groups); their account is active (not suspended; erased people have no
  rows left); they have not blocked the group; they are under their ask budget (asks
  sent or held in the last 7 days below their own weekly limit bounded by the
  movement's, and in the last 24 hours below the movement's daily limit: the numbers
  messaging's pacing applies to an ask from this group now, campaign periods included);
  on site, they live within the smaller of the need's radius and their travel radius;
  they hold every must-have skill at the minimum level or better (for a remote need,
  marked "I can do this remotely"); they are not away for the whole of it (every one
  of its set times, or for an ongoing need from today until it closes); and they have
  no invitation for the need in any state (asked, offered, said yes or no, withdrawn,
  expired), so nobody is ever asked twice for the same need.
- **Ranking** (`score`): one function, weights in `WEIGHTS`, ties broken by the per-need
  pseudonym's hash, so the order is the same on every load.
- **Cards** (`shortlist`): what an organiser sees of each person: a pseudonym stable for
  the need, the need's skills they hold with levels, a distance band or "remote", how
  many of the need's times they are free, when they were last asked, from
  RELIABILITY_MIN_OUTCOMES recorded outcomes a reliability band ("usually helps"), and
  one sentence naming the two largest parts of their score. The shortlist's form posts
  each card's pseudonym hash; `people_for_digests` maps it back to someone still
  eligible. Never a name, contact detail, postcode or exact place.

This is the database path, for demo scale: everyone eligible is scored in Python after
one query for them and one for their skills. The in-process index (`index.py`) finds its
candidates in numpy arrays, then re-checks the best of them here (`candidates_from`,
`rank_candidates`, `make_cards`), so both paths rank and describe people with the same code.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce
from operator import and_, or_
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Cast, Coalesce, Least
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from handsup.groups.models import GroupBlock, Membership
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message
from handsup.messaging.pacing import Rules, rules_for
from handsup.needs.models import Invitation, Need, NeedSkill
from handsup.people.models import DateAway, Person, PersonSkill, Profile
from handsup.people.querysets import PersonQuerySet
from handsup.places.geo import DistanceBand, Point

SHORTLIST_SIZE = 50

# How much each part of the score counts. Each part is between 0 and 1 before weighting,
# so a score is at most 1. Why these:
# - skills: the need is about what people can do, so fit counts most. Meeting a minimum
#   gives half marks for that skill, "can teach others" full marks; nice-to-have skills
#   count half as much as must-haves.
# - availability: the share of the need's times (weekly slots, or the slots its set
#   times fall in) the person says they are free.
# - distance: on site, how much of their reach (the smaller radius) is left over; for a
#   remote need everyone gets 0, so it neither helps nor names anyone.
# - fairness: least recently asked first, then fewest asks in 30 days, with a gentle boost
#   for people never asked, so nobody is asked over and over while others wait.
# - reliability: from recorded outcomes (the person's accepted invitations whose organiser
#   said whether they helped), pulled towards a prior so that newcomers are not punished
#   for having no history and one missed shift does not sink anyone:
#       (helped + RELIABILITY_PRIOR * RELIABILITY_PRIOR_WEIGHT)
#       / (outcomes + RELIABILITY_PRIOR_WEIGHT)
#   With no outcomes that is the prior (0.5); after 1 of 1 it is 0.67, after 0 of 1 0.33,
#   after 6 of 6 0.88. A card names a band only from RELIABILITY_MIN_OUTCOMES outcomes.
WEIGHTS: dict[str, float] = {
    "skills": 0.30,
    "availability": 0.20,
    "distance": 0.20,
    "fairness": 0.20,
    "reliability": 0.10,
}
RELIABILITY_PRIOR = 0.5
# How many outcomes' worth the prior counts for.
RELIABILITY_PRIOR_WEIGHT = 2
# Fairness: "not asked recently" reaches full marks at this many days.
FAIRNESS_FULL_AFTER_DAYS = 90
NEVER_ASKED_BOOST = 0.15
# A reliability band is shown only once someone has this many recorded outcomes.
RELIABILITY_MIN_OUTCOMES = 3
# From this share of outcomes helped, a card says "usually helps".
RELIABLE_SHARE = 0.75

# Parts of the day, by the local hour a need's set time covers (matching the volunteer's
# weekly grid: morning, afternoon, evening).
AFTERNOON_FROM_HOUR = 12
EVENING_FROM_HOUR = 17

WEEK = timedelta(days=7)
DAY = timedelta(days=1)
FAIRNESS_WINDOW = timedelta(days=30)
# Someone with no profile row has the profile's defaults.
DEFAULT_TRAVEL_RADIUS_KM = Profile._meta.get_field("travel_radius_km").get_default()


@dataclass(frozen=True)
class ShortlistFilters:
    """What an organiser narrowed the shortlist to (already validated)."""

    min_level: int | None = None  # every must-have skill at this level or better
    max_km: int | None = None  # on-site needs only
    members_only: bool = False  # only members of the need's group


# --- Eligibility --------------------------------------------------------------------------


def eligible_people(
    need: Need,
    *,
    now: datetime | None = None,
    filters: ShortlistFilters | None = None,
    exclude_user_ids: Collection[int] | QuerySet[Any, Any] = (),
    respect_ask_budget: bool = True,
    rules: Rules | None = None,
    among: Collection[int] | None = None,
) -> PersonQuerySet:
    """Everyone who may be suggested for `need` now, as one queryset.

    Annotated with what ranking needs: `asks_30d`, `last_asked_at`, `availability_bits`,
    `outcomes` and `helped` (recorded outcomes, and how many of them they helped), and on
    site `distance_sq_m` (squared metres; exact distances never leave matching).
    Anyone with an invitation for the need is left out here; `exclude_user_ids` drops
    more people (a caller's own reasons). `respect_ask_budget=False` is for the
    volunteer's own side ("Needs for me", the digest): a budget limits how often groups
    ask someone, not what that person may look at; every other rule still applies.
    `rules` are pacing's rules for an ask from the need's group at `now`, when the caller
    has them already (`rules_for`, which is read otherwise). `among` narrows it to these
    people (person ids), as the index's re-check does: the same rules, without the
    location box (an aid for scanning an area, which a short list of people doesn't need;
    the distance check still applies).
    """
    now = now or timezone.now()
    filters = filters or ShortlistFilters()
    _fetch_skills_and_times(need)
    group = need.group
    people = (
        Person.objects.findable(by=group)
        .filter(user__is_active=True, **({} if among is None else {"pk__in": list(among)}))
        .exclude(user_id__in=GroupBlock.objects.filter(group=group).values("user_id"))
        .exclude(user_id__in=Invitation.objects.filter(need_id=need.pk).values("user_id"))
    )
    if isinstance(exclude_user_ids, QuerySet) or exclude_user_ids:
        people = people.exclude(user_id__in=exclude_user_ids)
    if filters.members_only:
        people = people.filter(user_id__in=Membership.objects.filter(group=group).values("user_id"))
    if respect_ask_budget:
        people = _under_ask_budget(people, need, now, rules)
    people = _with_the_skills(people, need, filters.min_level)
    if need.location_kind == Need.LocationKind.ON_SITE:
        people = _within_reach(people, need, filters.max_km, box=among is None)
    people = _not_away(people, need, now)
    return people.annotate(
        asks_30d=_asks_since(now - FAIRNESS_WINDOW, now),
        last_asked_at=Subquery(
            _counted_asks(now).values("user_id").annotate(last=Max("at")).values("last")[:1]
        ),
        availability_bits=Coalesce("profile__availability", Value(0)),
        outcomes=_outcomes(helped_only=False),
        helped=_outcomes(helped_only=True),
    )


def _outcomes(*, helped_only: bool) -> Coalesce:
    """How many of the person's accepted invitations have an outcome recorded (or, with
    `helped_only`, say they helped), over every need and group."""
    rows = Invitation.objects.filter(
        user_id=OuterRef("user_id"), status=Invitation.Status.ACCEPTED, helped__isnull=False
    )
    if helped_only:
        rows = rows.filter(helped=True)
    counted = rows.values("user_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _fetch_skills_and_times(need: Need) -> None:
    """Read the need's skills and times once, whichever rule or part asks first."""
    prefetch_related_objects(
        [need], Prefetch("skills", NeedSkill.objects.select_related("skill")), "windows"
    )


def _counted_asks(now: datetime) -> QuerySet[LedgerEntry]:
    """One person's asks that count against a budget (sent, or held overnight)."""
    return LedgerEntry.objects.filter(
        user_id=OuterRef("user_id"),
        kind=Kind.ASK,
        decision__in=(Decision.SENT, Decision.HELD),
        at__lte=now,
    )


def _asks_since(since: datetime, now: datetime) -> Coalesce:
    counted = (
        _counted_asks(now)
        .filter(at__gt=since)
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _under_ask_budget(
    people: PersonQuerySet, need: Need, now: datetime, rules: Rules | None = None
) -> PersonQuerySet:
    """Pacing's limits for an ask from this group now, read from messaging (`rules_for`)
    unless given: the movement's daily limit, and the person's own weekly one bounded by
    the movement's.
    """
    if rules is None:
        rules = rules_for(Message(kind=Kind.ASK, group=need.group), now=now)
    assert rules.person_week_column is not None and rules.per_week is not None
    own_weekly = Coalesce(f"profile__{rules.person_week_column}", Value(rules.person_week_default))
    people = people.annotate(
        asks_7d=_asks_since(now - WEEK, now),
        asks_1d=_asks_since(now - DAY, now),
        ask_limit_7d=Least(own_weekly, Value(rules.per_week)),
    ).filter(asks_7d__lt=F("ask_limit_7d"))
    if rules.per_day is not None:
        people = people.filter(asks_1d__lt=rules.per_day)
    return people


def _with_the_skills(people: PersonQuerySet, need: Need, min_level: int | None) -> PersonQuerySet:
    """Every must-have skill at its minimum (or the filter's, if higher); for a remote
    need, marked as doable remotely. A need with only nice-to-have skills asks for one
    of them, so the shortlist is never everyone in the movement."""
    wanted = list(need.skills.all())
    remote = need.location_kind == Need.LocationKind.REMOTE

    def holds(skill_ids: list[int], level: int) -> Exists:
        rows = PersonSkill.objects.filter(
            person_id=OuterRef("pk"), skill_id__in=skill_ids, level__gte=level
        )
        return Exists(rows.filter(remote=True) if remote else rows)

    required = [w for w in wanted if w.required]
    for item in required:
        people = people.filter(holds([item.skill_id], max(item.min_level, min_level or 0)))
    if not required and wanted:
        people = people.filter(
            reduce(or_, [holds([w.skill_id], max(w.min_level, min_level or 0)) for w in wanted])
        )
    return people


def _within_reach(
    people: PersonQuerySet, need: Need, max_km: int | None, *, box: bool = True
) -> PersonQuerySet:
    """Within the smaller of the need's radius and their own travel radius (and the
    organiser's distance filter), by straight-line distance on the grid. The square
    around the need (`box`) holds everyone within reach: it only lets an index narrow
    the people first."""
    assert need.eastings is not None and need.northings is not None
    assert need.radius_km is not None
    centre = Point(need.eastings, need.northings)
    # Squares of grid differences overflow 32-bit integers beyond ~46 km: widen first.
    d_e = Cast(F("eastings"), BigIntegerField()) - Value(centre.eastings)
    d_n = Cast(F("northings"), BigIntegerField()) - Value(centre.northings)
    reach_m = Cast(
        Least(
            Coalesce("profile__travel_radius_km", Value(DEFAULT_TRAVEL_RADIUS_KM)),
            Value(need.radius_km),
        ),
        BigIntegerField(),
    ) * Value(1000)
    box_km = min(need.radius_km, max_km) if max_km is not None else need.radius_km
    if box:
        people = people.in_box_around(centre, box_km)
    people = people.annotate(
        distance_sq_m=d_e * d_e + d_n * d_n, reach_sq_m=reach_m * reach_m
    ).filter(distance_sq_m__lte=F("reach_sq_m"))
    if max_km is not None:
        # The filter narrows who is shown; the score still measures their own reach.
        people = people.filter(distance_sq_m__lte=(max_km * 1000) ** 2)
    return people


def need_dates(need: Need, today: date) -> list[tuple[date, date, bool]]:
    """The stretches of days the need happens on, in local dates, each with whether only
    being away for all of it rules someone out: a set time is missed by being away for
    any of it; an ongoing need, from today until it closes, only by being away throughout.
    """
    if need.schedule_kind == Need.ScheduleKind.ONGOING:
        return [(today, max(today, need.closes_on), True)]
    return [
        (timezone.localdate(w.starts_at), timezone.localdate(w.ends_at), False)
        for w in need.windows.all()
    ]


def _not_away(people: PersonQuerySet, need: Need, now: datetime) -> PersonQuerySet:
    """Away for the whole of it: away during every one of its set times, or throughout
    an ongoing need's time until it closes."""
    stretches = need_dates(need, timezone.localdate(now))
    if not stretches:
        return people
    away_for_all = reduce(
        and_,
        [
            Exists(
                DateAway.objects.filter(
                    person_id=OuterRef("pk"),
                    starts_on__lte=first if throughout else last,
                    ends_on__gte=last if throughout else first,
                )
            )
            for first, last, throughout in stretches
        ],
    )
    return people.exclude(away_for_all)


# --- Ranking ------------------------------------------------------------------------------


def need_slot_bits(need: Need) -> int:
    """The need's times on the volunteer's weekly grid (bit day * 3 + part of day)."""
    if need.schedule_kind == Need.ScheduleKind.ONGOING:
        return need.weekly_slots
    bits = 0
    for window in need.windows.all():
        start = timezone.localtime(window.starts_at)
        end = timezone.localtime(window.ends_at)
        # Step through the window an hour at a time; set times are hours, not weeks.
        moment = start.replace(minute=0, second=0, microsecond=0)
        steps = 0
        while moment < end and steps < 24 * 7:
            bits |= 1 << (moment.weekday() * 3 + _part_of_day(moment.hour))
            moment += timedelta(hours=1)
            steps += 1
    return bits


def _part_of_day(hour: int) -> int:
    if hour < AFTERNOON_FROM_HOUR:
        return 0
    return 1 if hour < EVENING_FROM_HOUR else 2


@dataclass(frozen=True)
class Candidate:
    """What ranking knows of one eligible person: no name, no contact, no place."""

    person_id: int
    user_id: int
    skill_levels: dict[int, int]  # skill id -> level, for the need's skills they hold
    availability: int
    distance_km: float | None  # None for a remote need
    reach_km: float | None
    asks_30d: int
    last_asked_at: datetime | None
    outcomes: int = 0  # accepted invitations with "did they help?" recorded
    helped: int = 0  # of those, how many say they helped


@dataclass(frozen=True)
class Score:
    total: float
    parts: dict[str, float]  # weighted, summing to `total`


def score(
    candidate: Candidate, *, wanted: Iterable[NeedSkill], slot_bits: int, now: datetime
) -> Score:
    """The one scoring function: each part in [0, 1], weighted by `WEIGHTS`."""
    raw = {
        "skills": _skill_fit(candidate.skill_levels, wanted),
        "availability": _overlap(slot_bits, candidate.availability)[2],
        "distance": _closeness(candidate.distance_km, candidate.reach_km),
        "fairness": _fairness(candidate.asks_30d, candidate.last_asked_at, now),
        "reliability": _reliability(candidate.helped, candidate.outcomes),
    }
    parts = {name: WEIGHTS[name] * value for name, value in raw.items()}
    return Score(total=sum(parts.values()), parts=parts)


def _skill_fit(levels: dict[int, int], wanted: Iterable[NeedSkill]) -> float:
    top = max(PersonSkill.Level.values)
    earned = possible = 0.0
    for item in wanted:
        weight = 1.0 if item.required else 0.5
        possible += weight
        level = levels.get(item.skill_id)
        if level is not None and level >= item.min_level:
            room = max(top - item.min_level, 1)
            earned += weight * (0.5 + 0.5 * (level - item.min_level) / room)
    return earned / possible if possible else 0.0


def _overlap(slot_bits: int, availability: int) -> tuple[int, int, float]:
    """(their free slots among the need's, the need's slots, the share)."""
    wanted = slot_bits.bit_count()
    free = (slot_bits & availability).bit_count()
    return free, wanted, (free / wanted if wanted else 0.0)


def _closeness(km: float | None, reach_km: float | None) -> float:
    if km is None or not reach_km:
        return 0.0
    return max(0.0, 1.0 - km / reach_km)


def _reliability(helped: int, outcomes: int) -> float:
    return (helped + RELIABILITY_PRIOR * RELIABILITY_PRIOR_WEIGHT) / (
        outcomes + RELIABILITY_PRIOR_WEIGHT
    )


def _fairness(asks_30d: int, last_asked_at: datetime | None, now: datetime) -> float:
    if last_asked_at is None:
        return 1.0  # never asked: full marks, NEVER_ASKED_BOOST above anyone asked
    days = max((now - last_asked_at).total_seconds() / 86_400, 0.0)
    recency = min(days / FAIRNESS_FULL_AFTER_DAYS, 1.0)
    fewer = 1.0 / (1 + asks_30d)
    return (1.0 - NEVER_ASKED_BOOST) * (0.6 * recency + 0.4 * fewer)


# --- Pseudonyms and cards ------------------------------------------------------------------

PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
PSEUDONYM_LENGTH = 4


PSEUDONYM_SALT = "handsup.needs.matching.pseudonym"


def pseudonym_digest(need: Need, person_id: int) -> str:
    """A keyed hash of (need, person): stable for the need, unlinkable across needs, and
    not reversible without the secret key."""
    return salted_hmac(
        PSEUDONYM_SALT, f"{need.public_id}:{person_id}", algorithm="sha256"
    ).hexdigest()


def pseudonym_digests(need: Need, person_ids: Iterable[int]) -> list[str]:
    """`pseudonym_digest` for many people at once: the same hashes, with the key derived
    once (as `salted_hmac` derives it) rather than per person."""
    key = hashlib.sha256(PSEUDONYM_SALT.encode() + settings.SECRET_KEY.encode()).digest()
    prefix = f"{need.public_id}:"
    return [
        hmac.digest(key, f"{prefix}{person_id}".encode(), "sha256").hex()
        for person_id in person_ids
    ]


def pseudonym(digest: str) -> str:
    number = int(digest[:16], 16)
    chars = []
    for _i in range(PSEUDONYM_LENGTH):
        number, index = divmod(number, len(PSEUDONYM_ALPHABET))
        chars.append(PSEUDONYM_ALPHABET[index])
    return _("Volunteer %(code)s") % {"code": "".join(chars)}


@dataclass(frozen=True)
class MatchedSkill:
    name: str
    level: str
    required: bool


@dataclass(frozen=True)
class Card:
    user_id: int  # for the access log and (later) invitations; never rendered
    pseudonym: str
    score: Score
    skills: list[MatchedSkill]
    distance: str
    availability: str
    last_asked: str
    reason: str
    reliability: str | None = None  # shown from RELIABILITY_MIN_OUTCOMES outcomes on
    tie_break: str = field(default="", repr=False)

    @property
    def digest(self) -> str:
        """What the shortlist's form posts for this card: the per-need pseudonym's hash,
        mapped back to a person on the server (`people_for_digests`), never an id."""
        return self.tie_break


def reliability_band(helped: int, outcomes: int) -> str | None:
    """How someone's recorded outcomes read on a card; None until there are enough of
    them to say anything fair (RELIABILITY_MIN_OUTCOMES)."""
    if outcomes < RELIABILITY_MIN_OUTCOMES:
        return None
    share = helped / outcomes
    if share >= 1:
        return _("helped every time so far")
    if share >= RELIABLE_SHARE:
        return _("usually helps")
    if share >= 0.5:
        return _("helps about half the time")
    return _("has often not been able to help")


class _Words:
    """The words cards are made of, translated once per `make_cards` rather than once
    per card (a lookup costs microseconds, and a shortlist has fifty cards)."""

    def __init__(self) -> None:
        self.phrases = {
            "skills": _("their skills fit what you asked for"),
            "availability": _("they are free at your times"),
            "distance": _("they live close by"),
        }
        self.not_asked_yet_reason = _("they have not been asked yet")
        self.asked_less_reason = _("they have been asked less than others lately")
        self.helped_reason = _("they have helped when they said yes")
        self.mostly_because = _("Mostly because %(first)s, and %(second)s.")
        self.remote = _("remote")
        self.no_availability = _("hasn't said when they are free")
        self.free_of = _("free %(free)s of %(wanted)s of your slots")
        self.not_asked_yet = _("not asked yet")
        self.last_asked = _("last asked %(ago)s ago")
        self._bands: dict[DistanceBand, str] = {}

    def band(self, band: DistanceBand) -> str:
        if band not in self._bands:
            self._bands[band] = str(band.label)
        return self._bands[band]


def _reason(parts: dict[str, float], candidate: Candidate, words: _Words | None = None) -> str:
    """The sentence naming the two largest parts of the score. Reliability is named only
    for someone with enough outcomes who usually helps: the prior says nothing about a
    person, and a weak record is not a reason to ask them."""
    words = words or _Words()
    phrases = {
        **words.phrases,
        "fairness": words.not_asked_yet_reason
        if candidate.last_asked_at is None
        else words.asked_less_reason,
    }
    if (
        candidate.outcomes >= RELIABILITY_MIN_OUTCOMES
        and candidate.helped / candidate.outcomes >= RELIABLE_SHARE
    ):
        phrases["reliability"] = words.helped_reason
    order = list(phrases)  # fixed order settles equal parts
    top = sorted(order, key=lambda name: (-parts[name], order.index(name)))[:2]
    return words.mostly_because % {"first": phrases[top[0]], "second": phrases[top[1]]}


def _distance_text(candidate: Candidate, words: _Words) -> str:
    if candidate.distance_km is None:
        return words.remote
    return words.band(DistanceBand.for_km(candidate.distance_km))


def _availability_text(slot_bits: int, availability: int, words: _Words) -> str:
    free, wanted, _share = _overlap(slot_bits, availability)
    if not availability:
        return words.no_availability
    return words.free_of % {"free": free, "wanted": wanted}


def _last_asked_text(last_asked_at: datetime | None, now: datetime, words: _Words) -> str:
    if last_asked_at is None:
        return words.not_asked_yet
    return words.last_asked % {"ago": timesince(last_asked_at, now, depth=1)}


def shortlist(
    need: Need,
    *,
    now: datetime | None = None,
    filters: ShortlistFilters | None = None,
    exclude_user_ids: Collection[int] | QuerySet[Any, Any] = (),
    limit: int = SHORTLIST_SIZE,
) -> list[Card]:
    """The top `limit` eligible people for `need` as pseudonymous cards, best first."""
    now = now or timezone.now()
    people = eligible_people(need, now=now, filters=filters, exclude_user_ids=exclude_user_ids)
    ranked = rank_candidates(need, candidates_from(need, people), now=now)
    return make_cards(need, ranked[:limit], now=now)


# What ranking reads of each eligible person (`eligible_people`'s annotations).
CANDIDATE_FIELDS = (
    "pk",
    "user_id",
    "asks_30d",
    "last_asked_at",
    "availability_bits",
    "outcomes",
    "helped",
)


def candidates_from(need: Need, people: PersonQuerySet) -> list[Candidate]:
    """`Candidate`s for the people of an `eligible_people` queryset (two queries: them,
    and their levels in the need's skills). The database path and the in-process
    index's re-check both come through here."""
    _fetch_skills_and_times(need)
    wanted = list(need.skills.all())
    on_site = need.location_kind == Need.LocationKind.ON_SITE
    fields = list(CANDIDATE_FIELDS)
    if on_site:
        fields += ["distance_sq_m", "reach_sq_m"]
    rows = list(people.values(*fields))
    levels: dict[int, dict[int, int]] = {}
    for person_id, skill_id, level in (
        PersonSkill.objects.using(people.db)
        .filter(
            person_id__in=[row["pk"] for row in rows], skill_id__in=[w.skill_id for w in wanted]
        )
        .values_list("person_id", "skill_id", "level")
    ):
        levels.setdefault(person_id, {})[skill_id] = level
    return [
        Candidate(
            person_id=row["pk"],
            user_id=row["user_id"],
            skill_levels=levels.get(row["pk"], {}),
            availability=row["availability_bits"],
            distance_km=math.sqrt(row["distance_sq_m"]) / 1000 if on_site else None,
            reach_km=math.sqrt(row["reach_sq_m"]) / 1000 if on_site else None,
            asks_30d=row["asks_30d"],
            last_asked_at=row["last_asked_at"],
            outcomes=row["outcomes"],
            helped=row["helped"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Ranked:
    """One candidate's place in the order: best score first, then the pseudonym's hash."""

    candidate: Candidate
    score: Score
    digest: str

    @property
    def sort_key(self) -> tuple[float, str]:
        # Round so float noise can't reorder equal scores; the hash then decides.
        return (-round(self.score.total, 9), self.digest)


def rank_candidates(need: Need, candidates: Iterable[Candidate], *, now: datetime) -> list[Ranked]:
    """Score each candidate with `score` and order them: the one ranking of a shortlist."""
    _fetch_skills_and_times(need)
    wanted = list(need.skills.all())
    slot_bits = need_slot_bits(need)
    ranked = [
        Ranked(
            candidate=candidate,
            score=score(candidate, wanted=wanted, slot_bits=slot_bits, now=now),
            digest=pseudonym_digest(need, candidate.person_id),
        )
        for candidate in candidates
    ]
    ranked.sort(key=lambda item: item.sort_key)
    return ranked


def make_cards(need: Need, ranked: Iterable[Ranked], *, now: datetime) -> list[Card]:
    """What an organiser sees of each ranked person, in the order given."""
    _fetch_skills_and_times(need)
    wanted = list(need.skills.all())
    slot_bits = need_slot_bits(need)
    level_names = {level: str(name) for level, name in PersonSkill.Level.choices}
    words = _Words()
    return [
        Card(
            user_id=item.candidate.user_id,
            pseudonym=pseudonym(item.digest),
            score=item.score,
            skills=[
                MatchedSkill(
                    name=wanted_skill.skill.name,
                    level=level_names[item.candidate.skill_levels[wanted_skill.skill_id]],
                    required=wanted_skill.required,
                )
                for wanted_skill in wanted
                if item.candidate.skill_levels.get(wanted_skill.skill_id, 0)
                >= wanted_skill.min_level
            ],
            distance=_distance_text(item.candidate, words),
            availability=_availability_text(slot_bits, item.candidate.availability, words),
            last_asked=_last_asked_text(item.candidate.last_asked_at, now, words),
            reason=_reason(item.score.parts, item.candidate, words),
            reliability=reliability_band(item.candidate.helped, item.candidate.outcomes),
            tie_break=item.digest,
        )
        for item in ranked
    ]


def people_for_digests(
    need: Need, digests: Iterable[str], *, now: datetime | None = None
) -> tuple[dict[str, int], list[str]]:
    """Map the pseudonym hashes a shortlist form posted back to user ids.

    The eligible set is worked out again now, so a hash maps only to someone who may
    still be asked (not invited since, not over their budget, still findable...).
    Returns ({hash: user id} for those, [the hashes that match nobody eligible]).
    """
    wanted = list(dict.fromkeys(digests))
    if not wanted:
        return {}, []
    by_digest = {
        pseudonym_digest(need, person_id): user_id
        for person_id, user_id in eligible_people(need, now=now).values_list("pk", "user_id")
    }
    found = {digest: by_digest[digest] for digest in wanted if digest in by_digest}
    return found, [digest for digest in wanted if digest not in by_digest]
