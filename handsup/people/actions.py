"""Every change a volunteer makes to their own profile.

Each `do_*` function is atomic and writes an audit row; views validate first (see
`forms.py`), so the actions assume valid input. Audit details hold counts and codes,
never what someone typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from allauth.account.models import EmailAddress
from django.db import transaction

from handsup.accounts.models import User
from handsup.people.models import DateAway, Person, PersonSkill, Profile, Skill
from handsup.places.geo import Location
from handsup.places.postcodes import PlaceKind
from handsup.privacy.audit import record_audit
from handsup.privacy.consent import do_record_consent, has_consent
from handsup.privacy.models import ConsentEvent


def _place_person(person: Person, place: Location | None) -> None:
    if place is None:
        person.postcode = person.district = ""
        person.eastings = person.northings = None
        return
    person.postcode = place.code if place.kind is PlaceKind.POSTCODE else ""
    person.district = place.district
    person.eastings, person.northings = place.point


@transaction.atomic
def do_start_hand_up(
    *,
    full_name: str,
    place: Location | None,
    email: str = "",
    password: str = "",
    user: User | None = None,
) -> Person:
    """Create the volunteer: their account (unless `user` already has one), person and
    profile. The email address starts unverified; the view sends the verification mail
    once this has committed. `place` None means "remote only"."""
    if user is None:
        # No password chosen: an unusable one, and the person logs in by emailed code.
        user = User.objects.create_user(email, password or None, full_name=full_name)
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    elif not user.full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    person = Person(
        user=user,
        display_name=full_name,
        verified=EmailAddress.objects.filter(
            user=user, email__iexact=user.email, verified=True
        ).exists(),
    )
    _place_person(person, place)
    person.save()
    Profile.objects.create(person=person)
    record_audit(
        actor=user,
        action="people.hand_up_started",
        obj=person,
        details={
            "located": place.kind.value if place is not None else "remote_only",
        },
    )
    return person


@transaction.atomic
def do_set_skills(
    *, person: Person, actor: User, skills: Iterable[tuple[Skill, int, bool]]
) -> list[PersonSkill]:
    """Replace the person's skills with `skills`: (skill, level, can do it remotely)."""
    wanted = {skill.pk: (skill, level, remote) for skill, level, remote in skills}
    PersonSkill.objects.filter(person=person).exclude(skill_id__in=wanted).delete()
    held = {row.skill_id: row for row in PersonSkill.objects.filter(person=person)}
    result = []
    for skill_id, (skill, level, remote) in wanted.items():
        row = held.get(skill_id)
        if row is None:
            row = PersonSkill.objects.create(person=person, skill=skill, level=level, remote=remote)
        elif (row.level, row.remote) != (level, remote):
            row.level, row.remote = level, remote
            row.save(update_fields=["level", "remote"])
        result.append(row)
    record_audit(
        actor=actor,
        action="people.skills_set",
        obj=person,
        details={"skills": sorted(skill.slug for skill, _, _ in wanted.values())},
    )
    return result


@transaction.atomic
def do_set_availability(
    *, person: Person, actor: User, availability: int, hours_normal: int, hours_campaign: int
) -> Profile:
    """`availability` is the weekly grid: bit (day * 3 + slot), Monday morning = bit 0."""
    profile = Profile.objects.select_for_update().get(person=person)
    profile.availability = availability
    profile.hours_normal = hours_normal
    profile.hours_campaign = hours_campaign
    profile.save(update_fields=["availability", "hours_normal", "hours_campaign", "updated_at"])
    record_audit(
        actor=actor,
        action="people.availability_set",
        obj=person,
        details={"slots": availability.bit_count()},
    )
    return profile


CONTACT_FIELDS = (
    "contact_by_email",
    "contact_by_phone",
    "contact_by_post",
    "phone",
    "postal_address",
    "asks_per_week_normal",
    "asks_per_week_campaign",
    "digest_cadence",
    "quiet_from",
    "quiet_until",
    "time_zone",
)


@transaction.atomic
def do_set_contact_preferences(
    *,
    person: Person,
    actor: User,
    contact_by_email: bool,
    contact_by_phone: bool,
    contact_by_post: bool,
    phone: str,
    postal_address: str,
    asks_per_week_normal: int,
    asks_per_week_campaign: int,
    digest_cadence: str,
    quiet_from: time,
    quiet_until: time,
    time_zone: str,
    found_by: dict[str, bool],
    wording: dict[str, str],
) -> list[ConsentEvent]:
    """Save how the person wants to be asked, and record who may find them.

    `found_by` maps each "be found" purpose to whether it is now given; a consent event
    is recorded only for a purpose whose state changes, or that was never recorded
    (so the first choice, even "nobody", is on record). `wording` is what the person was
    shown for each purpose. Returns the events recorded.
    """
    profile = Profile.objects.select_for_update().get(person=person)
    values = {
        "contact_by_email": contact_by_email,
        "contact_by_phone": contact_by_phone,
        "contact_by_post": contact_by_post,
        "phone": phone,
        "postal_address": postal_address,
        "asks_per_week_normal": asks_per_week_normal,
        "asks_per_week_campaign": asks_per_week_campaign,
        "digest_cadence": digest_cadence,
        "quiet_from": quiet_from,
        "quiet_until": quiet_until,
        "time_zone": time_zone,
    }
    for name, value in values.items():
        setattr(profile, name, value)
    profile.save(update_fields=[*CONTACT_FIELDS, "updated_at"])
    record_audit(
        actor=actor,
        action="people.contact_preferences_set",
        obj=person,
        details={
            "channels": [c for c in ("email", "phone", "post") if values[f"contact_by_{c}"]],
            "digest": digest_cadence,
        },
    )
    events = []
    user = person.user
    assert user is not None  # only people with an account reach this
    for purpose, given in found_by.items():
        recorded = ConsentEvent.objects.filter(user=user, purpose__code=purpose).exists()
        if recorded and has_consent(user, purpose) == given:
            continue
        events.append(
            do_record_consent(
                user=user,
                purpose=purpose,
                given=given,
                source=ConsentEvent.Source.WEB,
                recorded_by=actor,
                wording=wording.get(purpose),
            )
        )
    return events


@transaction.atomic
def do_set_about(
    *, person: Person, actor: User, talents: str, languages: list[str], accessibility_needs: str
) -> Profile:
    profile = Profile.objects.select_for_update().get(person=person)
    profile.talents = talents
    profile.languages = languages
    profile.accessibility_needs = accessibility_needs
    profile.save(update_fields=["talents", "languages", "accessibility_needs", "updated_at"])
    record_audit(
        actor=actor,
        action="people.about_set",
        obj=person,
        details={"languages": sorted(languages), "access_needs": bool(accessibility_needs)},
    )
    return profile


@transaction.atomic
def do_set_travel_radius(*, person: Person, actor: User, km: int) -> Profile:
    profile = Profile.objects.select_for_update().get(person=person)
    profile.travel_radius_km = km
    profile.save(update_fields=["travel_radius_km", "updated_at"])
    record_audit(actor=actor, action="people.travel_radius_set", obj=person, details={"km": km})
    return profile


@transaction.atomic
def do_add_date_away(*, person: Person, actor: User, starts_on: date, ends_on: date) -> DateAway:
    away = DateAway.objects.create(person=person, starts_on=starts_on, ends_on=ends_on)
    record_audit(
        actor=actor, action="people.date_away_added", obj=person, details={"date_away": away.pk}
    )
    return away


@transaction.atomic
def do_remove_date_away(*, actor: User, date_away: DateAway) -> None:
    person, pk = date_away.person, date_away.pk
    date_away.delete()
    record_audit(
        actor=actor, action="people.date_away_removed", obj=person, details={"date_away": pk}
    )


def do_mark_verified(*, user: User) -> None:
    """The account's email address is confirmed: its person becomes findable (as far as
    their consents allow). Called when allauth confirms an address."""
    person = Person.objects.filter(user=user, verified=False).first()
    if person is None:
        return
    Person.objects.filter(pk=person.pk).update(verified=True)
    record_audit(actor=user, action="people.verified", obj=person)
