"""The organisers' page of everyone invited to a need, and what they do from it.

Who is on it, by where they are: waiting for an answer, offers waiting for the group,
said yes, said no, and withdrawn or expired. Nobody is named until they said yes and
their contact grant is current (`answers.current_grants`): until then, and again at
once if they withdraw it or it lapses, a person is their per-need pseudonym, the same
one the shortlist showed. Every name, email and phone shown is written to the access
log, in `_log_reads` and nowhere else.

From the page an organiser accepts or turns down an offer, says who helped, and logs
hours for someone who said yes. A refused step shows the page again with the reason
(status 400), and nothing is changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group
from handsup.needs import answers
from handsup.needs.access import access_group_need
from handsup.needs.afterwards import (
    MAX_NOTE_LENGTH,
    do_log_hours,
    do_record_outcome,
    hours_amount_problem,
    need_has_started,
    parse_hours,
)
from handsup.needs.matching import MatchedSkill, pseudonym, pseudonym_digest
from handsup.needs.models import ContactGrant, Invitation, Need, NeedSkill
from handsup.people.models import Person, PersonSkill
from handsup.places.geo import DistanceBand, Point, distance_km
from handsup.privacy.access import log_access

# What an offer's card shows of the person, for the access log (no name, no contact).
OFFER_CARD_FIELDS = ["skills", "distance_band"]


class HoursForm(forms.Form):
    """Hours for one person who said yes, logged by an organiser."""

    hours = forms.CharField(
        label=gettext_lazy("Hours"),
        max_length=10,
        help_text=gettext_lazy("Up to 24 for one day, to one decimal place, such as 1.5."),
        error_messages={"required": gettext_lazy("Give the hours, such as 2 or 1.5.")},
    )
    on_date = forms.DateField(
        label=gettext_lazy("Day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": gettext_lazy("Give the day the hours were given."),
            "invalid": gettext_lazy("Give the day as a date, such as 2026-05-01."),
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"), required=False, max_length=MAX_NOTE_LENGTH
    )

    def __init__(self, *args: object, invitation_id: str, **kwargs: object) -> None:
        # Names stay plain (hours, on_date, note); ids are unique on a page of many forms.
        kwargs.setdefault("auto_id", f"id_{invitation_id}_%s")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean_hours(self) -> Decimal:
        value = parse_hours(self.cleaned_data["hours"])
        # The amount's own rules here, so they show even when the day is wrong too;
        # `do_log_hours` checks them all again.
        problem = hours_amount_problem(value)
        if problem is not None or value is None:
            raise ValidationError(problem or "")
        return value


@dataclass
class Contact:
    name: str
    email: str
    phone: str  # "" unless the volunteer chose to share it


@dataclass
class PersonRow:
    invitation: Invitation
    pseudonym: str
    contact: Contact | None = None
    # They said yes but their grant was revoked or has lapsed: details hidden at once.
    details_withdrawn: bool = False
    # They said yes once (a grant was made), whatever has happened since.
    said_yes_before: bool = False
    hours: Decimal = Decimal(0)
    skills: list[MatchedSkill] = field(default_factory=list)
    distance: str = ""
    hours_form: HoursForm | None = None
    # The volunteer deleted their account: the group keeps that someone helped, no more.
    former: bool = False


@dataclass
class Section:
    key: str
    heading: str
    hint: str
    rows: list[PersonRow]


@dataclass
class Failure:
    """A refused POST, to show beside the person it was about."""

    invitation_id: str
    message: str = ""
    hours_form: HoursForm | None = None


# --- Fetching ---------------------------------------------------------------------------


def _access(request: AuthenticatedRequest, public_id: str, need_id: str) -> tuple[Group, Need]:
    group = access_group(request.user, public_id, "organise")
    return group, access_group_need(request.user, group, need_id)


def _access_invitation(need: Need, invitation_id: str) -> Invitation:
    """An invitation to this need; any other (or none) is the same 404."""
    invitation = (
        need.invitations.filter(public_id=invitation_id).select_related("user", "need").first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    invitation.need = need  # already checked and carrying its group
    return invitation


# --- The page ---------------------------------------------------------------------------


def _section_of(invitation: Invitation, now: datetime) -> str:
    status = invitation.status
    if status == Invitation.Status.PENDING:
        if invitation.expires_at <= now:
            return "ended"  # the expiry job hasn't run yet; it has lapsed all the same
        return "offers" if invitation.source == Invitation.Source.OFFER else "waiting"
    if status == Invitation.Status.ACCEPTED:
        return "yes"
    if status == Invitation.Status.DECLINED:
        return "no"
    return "ended"


def _sections(rows: list[PersonRow], now: datetime) -> list[Section]:
    by_key: dict[str, list[PersonRow]] = defaultdict(list)
    for row in rows:
        by_key[_section_of(row.invitation, now)].append(row)
    by_key["yes"].sort(key=lambda row: row.invitation.answered_at or row.invitation.created_at)
    return [
        Section(
            "offers",
            _("Offers waiting for you"),
            _("These people offered to help. Accept an offer to be introduced to them."),
            by_key["offers"],
        ),
        Section(
            "yes",
            _("Said yes"),
            _("Their contact details are shown while they let you see them."),
            by_key["yes"],
        ),
        Section(
            "waiting",
            _("Waiting for an answer"),
            _("Asked, and not answered yet."),
            by_key["waiting"],
        ),
        Section("no", _("Said no"), "", by_key["no"]),
        Section(
            "ended",
            _("Withdrawn or expired"),
            _("Asks the group withdrew, yeses taken back, and asks that lapsed without an answer."),
            by_key["ended"],
        ),
    ]


def _offer_cards(need: Need, rows: list[PersonRow], people: dict[int, dict[str, Any]]) -> None:
    """The matching facts an organiser weighs an offer by: skills and a distance band."""
    offers = [row for row in rows if row.invitation.status == Invitation.Status.PENDING]
    offers = [row for row in offers if row.invitation.source == Invitation.Source.OFFER]
    if not offers:
        return
    wanted = list(NeedSkill.objects.filter(need=need).select_related("skill"))
    person_ids = {
        people[row.invitation.user_id]["pk"]: row
        for row in offers
        if row.invitation.user_id in people
    }
    levels: dict[int, dict[int, int]] = defaultdict(dict)
    for person_id, skill_id, level in PersonSkill.objects.filter(
        person_id__in=list(person_ids), skill_id__in=[w.skill_id for w in wanted]
    ).values_list("person_id", "skill_id", "level"):
        levels[person_id][skill_id] = level
    level_names = dict(PersonSkill.Level.choices)
    on_site = need.location_kind == Need.LocationKind.ON_SITE
    for person_id, row in person_ids.items():
        held = levels.get(person_id, {})
        row.skills = [
            MatchedSkill(
                name=item.skill.name,
                level=str(level_names[held[item.skill_id]]),
                required=item.required,
            )
            for item in wanted
            if held.get(item.skill_id, 0) >= item.min_level
        ]
        person = people[row.invitation.user_id]
        if not on_site:
            row.distance = _("remote")
        elif person["eastings"] is not None and need.eastings is not None:
            assert need.northings is not None
            km = distance_km(
                Point(person["eastings"], person["northings"]),
                Point(need.eastings, need.northings),
            )
            row.distance = str(DistanceBand.for_km(km).label)
        else:
            row.distance = _("hasn't said where they are")


def _log_reads(*, request: AuthenticatedRequest, group: Group, rows: list[PersonRow]) -> None:
    """Everything the page shows of anyone, in the access log: one call per kind."""
    by_fields: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for row in rows:
        if row.contact is not None:
            by_fields[tuple(_contact_fields(row))].append(row.invitation.user_id)
    for fields, user_ids in sorted(by_fields.items()):
        log_access(
            actor=request.user,
            subjects=user_ids,
            purpose="introduction_details",
            fields=list(fields),
            group=group,
        )
    offered = [row.invitation.user_id for row in rows if row.skills or row.distance]
    if offered:
        log_access(
            actor=request.user,
            subjects=offered,
            purpose="offer_card",
            fields=OFFER_CARD_FIELDS,
            group=group,
        )


def _contact_fields(row: PersonRow) -> list[str]:
    assert row.contact is not None
    return ["full_name", "email", "phone"] if row.contact.phone else ["full_name", "email"]


def people_rows(need: Need, now: datetime) -> list[PersonRow]:
    """Everyone invited to `need`, as the page shows them (details only under a grant)."""
    invitations = list(
        need.invitations.select_related("user")
        .annotate(hours_total=Sum("hours__hours"))
        .order_by("-created_at", "pk")
    )
    grants: dict[int, ContactGrant] = {
        grant.invitation_id: grant for grant in answers.current_grants(now).filter(need=need)
    }
    had_grant = set(ContactGrant.objects.filter(need=need).values_list("invitation_id", flat=True))
    people: dict[int, Any] = {
        row["user_id"]: row
        for row in Person.objects.filter(
            user_id__in=[invitation.user_id for invitation in invitations]
        ).values("user_id", "pk", "eastings", "northings", "profile__phone")
    }
    rows = []
    for invitation in invitations:
        person = people.get(invitation.user_id)
        # The shortlist's pseudonym is keyed on the person; someone without a profile
        # row (never the case for a volunteer) falls back to their account.
        key = person["pk"] if person else invitation.user_id
        row = PersonRow(
            invitation=invitation,
            pseudonym=pseudonym(pseudonym_digest(need, key)),
            hours=getattr(invitation, "hours_total", None) or Decimal(0),
        )
        accepted = invitation.status == Invitation.Status.ACCEPTED
        row.said_yes_before = invitation.pk in had_grant
        grant = grants.get(invitation.pk)
        if invitation.user.erased:
            row.former = True
            row.pseudonym = _("A former volunteer")
        elif accepted and grant is not None:
            user = invitation.user
            phone = str(person.get("profile__phone") or "") if person else ""
            row.contact = Contact(
                name=user.full_name.strip() or user.email,
                email=user.email,
                phone=phone.strip() if grant.share_phone else "",
            )
        elif accepted and invitation.pk in had_grant:
            row.details_withdrawn = True
        rows.append(row)
    _offer_cards(need, rows, people)
    return rows


def _render_page(
    request: AuthenticatedRequest,
    group: Group,
    need: Need,
    *,
    failure: Failure | None = None,
) -> HttpResponse:
    now = timezone.now()
    rows = people_rows(need, now)
    for row in rows:
        if row.invitation.status != Invitation.Status.ACCEPTED:
            continue
        if failure is not None and failure.invitation_id == row.invitation.public_id:
            row.hours_form = failure.hours_form
        if row.hours_form is None:
            row.hours_form = HoursForm(
                invitation_id=row.invitation.public_id,
                initial={"on_date": timezone.localdate(now)},
            )
    _log_reads(request=request, group=group, rows=rows)
    failed_form = failure.hours_form if failure is not None else None
    return render(
        request,
        "needs/people_page.html",
        {
            "group": group,
            "need": need,
            "sections": _sections(rows, now),
            "invited_count": len(rows),
            "started": need_has_started(need, now),
            "failure": failure,
            "failed_form": failed_form,
            "today": timezone.localdate(now),
        },
        status=400 if failure is not None else 200,
    )


@login_required
def need_people(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    group, need = _access(request, public_id, need_id)
    return _render_page(request, group, need)


def _back(group: Group, need: Need) -> HttpResponse:
    return redirect("needs:people", public_id=group.public_id, need_id=need.public_id)


def _first_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        for messages_for_field in error.message_dict.values():
            return str(messages_for_field[0])
    return str(error.messages[0]) if error.messages else _("That couldn't be done.")


# --- Steps ------------------------------------------------------------------------------


@login_required
@require_POST
def answer_offer(
    request: AuthenticatedRequest, public_id: str, need_id: str, invitation_id: str
) -> HttpResponse:
    """Accept an offer (which introduces both sides) or turn it down kindly."""
    group, need = _access(request, public_id, need_id)
    invitation = _access_invitation(need, invitation_id)
    if invitation.source != Invitation.Source.OFFER:
        raise Http404("No such offer.")
    answer = request.POST.get("answer", "")
    if answer not in ("yes", "no"):
        return _render_page(
            request,
            group,
            need,
            failure=Failure(
                invitation_id, _("Choose whether to accept the offer or turn it down.")
            ),
        )
    try:
        if answer == "yes":
            answers.do_accept(
                invitation=invitation, actor=request.user, share_phone=invitation.share_phone
            )
        else:
            answers.do_decline(invitation=invitation, actor=request.user, reason="")
    except ValidationError as error:
        return _render_page(
            request, group, need, failure=Failure(invitation_id, _first_message(error))
        )
    messages.success(
        request,
        _("Offer accepted. We've introduced you by email, and their details are below.")
        if answer == "yes"
        else _("Offer turned down. We've thanked them for offering."),
    )
    return _back(group, need)


@login_required
@require_POST
def record_outcome(
    request: AuthenticatedRequest, public_id: str, need_id: str, invitation_id: str
) -> HttpResponse:
    group, need = _access(request, public_id, need_id)
    invitation = _access_invitation(need, invitation_id)
    helped = request.POST.get("helped", "")
    if helped not in ("yes", "no"):
        return _render_page(
            request,
            group,
            need,
            failure=Failure(invitation_id, _("Choose whether they helped.")),
        )
    already_thanked = invitation.thanked_at is not None
    try:
        do_record_outcome(actor=request.user, invitation=invitation, helped=helped == "yes")
    except ValidationError as error:
        return _render_page(
            request, group, need, failure=Failure(invitation_id, _first_message(error))
        )
    if helped == "no":
        messages.success(request, _("Saved: they didn't help this time."))
    elif already_thanked:
        messages.success(request, _("Saved: they helped."))
    else:
        messages.success(request, _("Saved: they helped. We've sent them your group's thanks."))
    return _back(group, need)


@login_required
@require_POST
def log_hours_for(
    request: AuthenticatedRequest, public_id: str, need_id: str, invitation_id: str
) -> HttpResponse:
    group, need = _access(request, public_id, need_id)
    invitation = _access_invitation(need, invitation_id)
    form = HoursForm(request.POST, invitation_id=invitation.public_id)
    if form.is_valid():
        try:
            entry = do_log_hours(
                actor=request.user,
                invitation=invitation,
                hours=form.cleaned_data["hours"],
                on_date=form.cleaned_data["on_date"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            messages.success(
                request,
                _("Logged %(hours)s hours for %(day)s.")
                % {"hours": entry.hours, "day": _day(entry.on_date)},
            )
            return _back(group, need)
    return _render_page(
        request, group, need, failure=Failure(invitation.public_id, hours_form=form)
    )


def _day(day: date) -> str:
    return date_format(day, "j F Y")
