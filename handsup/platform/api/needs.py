"""A token's group's needs: create, read, change, publish, close; the shortlist of
pseudonymous cards; asking people from it; the invitations' statuses.

Everything goes through the same actions, rules and policy as the web pages, acting
as the admin who created the token; a need of another group is 404, as if missing.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from handsup.needs import actions, asks
from handsup.needs.actions import NeedDetails, SkillWanted, TimeWindow
from handsup.needs.matching import people_for_digests, shortlist
from handsup.needs.models import Invitation, Need
from handsup.needs.permissions import need_policy
from handsup.needs.views import SHORTLIST_FIELDS
from handsup.needs.views_asks import ALREADY_ASKED_MESSAGE
from handsup.people.models import Skill
from handsup.places.geo import Location, geocode
from handsup.places.postcodes import PlaceError
from handsup.platform.api.errors import Unprocessable
from handsup.platform.api.paging import page
from handsup.platform.api.schemas import (
    CardOut,
    CardSkillOut,
    InvitationOut,
    InvitationPage,
    InviteIn,
    InviteOut,
    NeedIn,
    NeedOut,
    NeedPage,
    NeedPatch,
    NeedQuery,
    PageQuery,
    ShortlistOut,
    SkillOut,
    SkillsOut,
    SkillWantedIn,
    SkillWantedOut,
    WindowIn,
    WindowOut,
    responses,
)
from handsup.platform.api_auth import require_scope
from handsup.platform.models import ApiToken, Scope
from handsup.privacy.access import log_access
from handsup.privacy.audit import record_audit

router = Router(tags=["needs"])
skills_router = Router(tags=["needs"])

PUBLIC_ID_MAX = 40


def audit_api_write(token: ApiToken, action: str, obj: Any) -> None:
    """The API's own audit row beside the action's: which token made the change."""
    record_audit(
        actor=token.created_by,
        action=f"api.{action}",
        obj=obj,
        group=token.group,
        details={"via": "api", "token": token.prefix},
    )


def access_token_need(token: ApiToken, need_id: str) -> Need:
    """A need of the token's group that its creator may manage; 404 otherwise."""
    if len(need_id) > PUBLIC_ID_MAX or "\x00" in need_id:
        raise Http404
    need = (
        need_policy.needs_for(token.created_by, "manage")
        .filter(group=token.group, public_id=need_id)
        .select_related("group")
        .first()
    )
    if need is None:
        raise Http404
    return need


def need_out(need: Need) -> NeedOut:
    return NeedOut(
        id=need.public_id,
        title=need.title,
        description=need.description,
        status=need.status,  # type: ignore[arg-type]
        skills=[
            SkillWantedOut(
                skill=row.skill_id,
                name=row.skill.name,
                min_level=row.min_level,
                required=row.required,
            )
            for row in need.skills.all()
        ],
        location_kind=need.location_kind,
        place=need.postcode or None,
        radius_km=need.radius_km,
        schedule_kind=need.schedule_kind,
        windows=[WindowOut(starts_at=w.starts_at, ends_at=w.ends_at) for w in need.windows.all()],
        weekly_slots=need.weekly_slots,
        hours=float(need.hours),
        people_needed=need.people_needed,
        filled_count=need.filled_count,
        closes_on=need.closes_on,
        visibility=need.visibility,
        created_at=need.created_at,
        updated_at=need.updated_at,
    )


def _with_parts(queryset: Any) -> Any:
    return queryset.prefetch_related("skills__skill", "windows")


# --- Input → NeedDetails ------------------------------------------------------------------


def _skills(rows: list[SkillWantedIn], problems: dict[str, str]) -> tuple[SkillWanted, ...]:
    found = Skill.objects.in_bulk([row.skill for row in rows])
    if any(row.skill not in found for row in rows):
        problems["skills"] = _("A skill id is not one of ours; see GET /api/v1/skills.")
        return ()
    return tuple(
        SkillWanted(skill=found[row.skill], min_level=row.min_level, required=row.required)
        for row in rows
    )


def _place(raw: str | None, problems: dict[str, str]) -> Location | None:
    if not raw or not raw.strip():
        return None
    try:
        return geocode(raw.strip(), fall_back_to_district=True)
    except PlaceError as error:
        problems["place"] = str(error.message)
        return None


def _windows(rows: list[WindowIn]) -> tuple[TimeWindow, ...]:
    return tuple(TimeWindow(row.starts_at, row.ends_at) for row in rows)


def _hours(value: float) -> Decimal:
    # The column keeps one decimal place; round here so what is checked is what is stored.
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _checked(details: NeedDetails, problems: dict[str, str], filled_count: int = 0) -> NeedDetails:
    details = replace(details, skip=frozenset(problems))
    problems.update(actions.need_problems(details, filled_count=filled_count))
    if problems:
        raise Unprocessable(_("The need breaks a rule; see each field."), problems)
    return details


def details_from_input(payload: NeedIn) -> NeedDetails:
    problems: dict[str, str] = {}
    details = NeedDetails(
        title=payload.title,
        description=payload.description,
        skills=_skills(payload.skills, problems),
        location_kind=payload.location_kind,
        place=_place(payload.place, problems),
        radius_km=payload.radius_km,
        schedule_kind=payload.schedule_kind,
        windows=_windows(payload.windows),
        weekly_slots=payload.weekly_slots,
        hours=_hours(payload.hours),
        people_needed=payload.people_needed,
        closes_on=payload.closes_on,
        visibility=payload.visibility,
    )
    return _checked(details, problems)


def details_from_patch(need: Need, payload: NeedPatch) -> NeedDetails:
    problems: dict[str, str] = {}
    sent = payload.model_fields_set
    details = actions.need_details_of(need)
    changes: dict[str, Any] = {
        name: getattr(payload, name)
        for name in (
            "title",
            "description",
            "location_kind",
            "radius_km",
            "schedule_kind",
            "weekly_slots",
            "people_needed",
            "closes_on",
            "visibility",
        )
        if name in sent
    }
    if "skills" in sent:
        changes["skills"] = _skills(payload.skills or [], problems)
    if "place" in sent:
        changes["place"] = _place(payload.place, problems)
    if "windows" in sent:
        changes["windows"] = _windows(payload.windows or [])
    if "hours" in sent:
        changes["hours"] = _hours(payload.hours) if payload.hours is not None else None
    # Sending null for a field that must have a value is a problem with that field.
    for name in (
        "title",
        "description",
        "location_kind",
        "schedule_kind",
        "weekly_slots",
        "hours",
        "people_needed",
        "closes_on",
        "visibility",
    ):
        if name in changes and changes[name] is None:
            problems[name] = _("This field can't be empty.")
            changes.pop(name)
    return _checked(replace(details, **changes), problems, filled_count=need.filled_count)


# --- Operations ---------------------------------------------------------------------------


@skills_router.get("", response=responses({200: SkillsOut}), summary="The skills taxonomy")
def list_skills(request: HttpRequest) -> SkillsOut:
    """Every skill a need may ask for, with the id to send in a need's `skills`."""
    require_scope(request, Scope.NEEDS_READ)
    return SkillsOut(
        items=[
            SkillOut(id=skill.pk, slug=skill.slug, name=skill.name, category=skill.category.name)
            for skill in Skill.objects.select_related("category").order_by("pk")
        ]
    )


@router.get("", response=responses({200: NeedPage}), summary="The group's needs")
def list_needs(request: HttpRequest, filters: Query[NeedQuery]) -> NeedPage:
    token = require_scope(request, Scope.NEEDS_READ)
    needs = need_policy.needs_for(token.created_by, "manage").filter(group=token.group)
    if filters.status:
        needs = needs.filter(status=filters.status)
    items, next_cursor = page(_with_parts(needs), cursor=filters.cursor, limit=filters.limit)
    return NeedPage(items=[need_out(need) for need in items], next_cursor=next_cursor)


@router.post("", response=responses({201: NeedOut}), summary="Post a need (as a draft)")
def create_need(request: HttpRequest, payload: NeedIn) -> Status:
    token = require_scope(request, Scope.NEEDS_WRITE)
    details = details_from_input(payload)
    assert token.created_by is not None  # token_problem refuses tokens without one
    need = actions.do_create_need(actor=token.created_by, group=token.group, details=details)
    audit_api_write(token, "need_created", need)
    return Status(201, need_out(need))


@router.get("/{need_id}", response=responses({200: NeedOut}), summary="One need")
def get_need(request: HttpRequest, need_id: str) -> NeedOut:
    token = require_scope(request, Scope.NEEDS_READ)
    return need_out(access_token_need(token, need_id))


@router.patch("/{need_id}", response=responses({200: NeedOut}), summary="Change a need")
def update_need(request: HttpRequest, need_id: str, payload: NeedPatch) -> NeedOut:
    """Drafts and open needs only (409 otherwise); invitees hear of material changes."""
    token = require_scope(request, Scope.NEEDS_WRITE)
    need = access_token_need(token, need_id)
    try:
        actions.check_can_edit(need)
    except actions.NeedRuleBroken as error:
        raise HttpError(409, str(error)) from None
    details = details_from_patch(need, payload)
    assert token.created_by is not None
    try:
        changed = actions.do_update_need(actor=token.created_by, need=need, details=details)
    except actions.NeedRuleBroken as error:  # changed state since the check above
        raise HttpError(409, str(error)) from None
    if changed:
        audit_api_write(token, "need_updated", need)
    return need_out(access_token_need(token, need_id))


@router.post("/{need_id}/publish", response=responses({200: NeedOut}), summary="Publish a draft")
def publish_need(request: HttpRequest, need_id: str) -> NeedOut:
    token = require_scope(request, Scope.NEEDS_WRITE)
    need = access_token_need(token, need_id)
    assert token.created_by is not None
    try:
        actions.check_can_publish(need)
        need = actions.do_publish_need(actor=token.created_by, need=need)
    except actions.NeedRuleBroken as error:
        raise HttpError(409, str(error)) from None
    audit_api_write(token, "need_published", need)
    return need_out(need)


@router.post("/{need_id}/close", response=responses({200: NeedOut}), summary="Close a need")
def close_need(request: HttpRequest, need_id: str) -> NeedOut:
    token = require_scope(request, Scope.NEEDS_WRITE)
    need = access_token_need(token, need_id)
    assert token.created_by is not None
    try:
        actions.check_can_close(need)
        need = actions.do_close_need(actor=token.created_by, need=need)
    except actions.NeedRuleBroken as error:
        raise HttpError(409, str(error)) from None
    audit_api_write(token, "need_closed", need)
    return need_out(need)


@router.get(
    "/{need_id}/shortlist", response=responses({200: ShortlistOut}), summary="The shortlist"
)
def need_shortlist(request: HttpRequest, need_id: str) -> ShortlistOut:
    """The best-fitting people as pseudonymous cards (none for a closed or filled need).

    Like the web page, everyone shown is written to the access log."""
    token = require_scope(request, Scope.NEEDS_READ)
    need = access_token_need(token, need_id)
    cards = shortlist(need) if need.is_editable else []
    if cards:
        log_access(
            actor=token.created_by,
            subjects=[card.user_id for card in cards],
            purpose="shortlist",
            fields=SHORTLIST_FIELDS,
            group=token.group,
        )
    return ShortlistOut(
        need=need.public_id,
        cards=[
            CardOut(
                id=card.digest,
                pseudonym=card.pseudonym,
                score=round(card.score.total, 4),
                skills=[
                    CardSkillOut(name=s.name, level=s.level, required=s.required)
                    for s in card.skills
                ],
                distance=card.distance,
                availability=card.availability,
                last_asked=card.last_asked,
                reason=card.reason,
                reliability=card.reliability,
            )
            for card in cards
        ],
    )


@router.post(
    "/{need_id}/invitations",
    response=responses({201: InviteOut}),
    summary="Ask people from the shortlist",
)
def invite(request: HttpRequest, need_id: str, payload: InviteIn) -> Status:
    """Ask the people behind these card ids, through the same pacing as the web page.

    409 when the need is not open, or nobody sent can be asked any more."""
    token = require_scope(request, Scope.NEEDS_WRITE)
    need = access_token_need(token, need_id)
    assert token.created_by is not None
    if need.status != Need.Status.OPEN:
        raise HttpError(409, _("The need is not open, so nobody can be asked for it."))
    found, gone = people_for_digests(need, payload.card_ids)
    if not found:
        if asks.count_already_asked(need, gone) == len(gone):
            raise HttpError(409, str(ALREADY_ASKED_MESSAGE))
        raise HttpError(
            409,
            _(
                "None of these people can be asked now: they may have been asked since, "
                "reached their limit of asks, or changed their settings."
            ),
        )
    try:
        result = asks.do_invite(actor=token.created_by, need=need, user_ids=list(found.values()))
    except asks.AskProblem as problem:
        raise HttpError(409, " ".join(problem.messages)) from None
    except IntegrityError:
        raise HttpError(409, _("Someone else asked some of these people just now.")) from None
    audit_api_write(token, "asks_sent", need)
    return Status(
        201,
        InviteOut(
            asked=result.asked,
            sent=result.sent,
            held=result.held,
            relay=result.relay,
            refused=result.refused,
            unknown_cards=len(gone),
        ),
    )


@router.get(
    "/{need_id}/invitations",
    response=responses({200: InvitationPage}),
    summary="Invitations and their status",
)
def list_invitations(
    request: HttpRequest, need_id: str, paging: Query[PageQuery]
) -> InvitationPage:
    """Each invitation's status, never who it went to."""
    token = require_scope(request, Scope.NEEDS_READ)
    need = access_token_need(token, need_id)
    items, next_cursor = page(
        Invitation.objects.filter(need=need), cursor=paging.cursor, limit=paging.limit
    )
    return InvitationPage(
        items=[
            InvitationOut(
                id=invitation.public_id,
                source=invitation.source,
                channel=invitation.channel,
                status=invitation.status,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
                answered_at=invitation.answered_at,
            )
            for invitation in items
        ],
        next_cursor=next_cursor,
    )
