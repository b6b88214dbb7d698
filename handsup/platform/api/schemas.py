"""What the API accepts and returns.

Inputs are strict (`StrictIn`): wrong types are refused rather than coerced, unknown
fields are refused, and text may not carry NUL characters (PostgreSQL can't store them).
Dates and times are the one exception to strictness, since JSON has no date type: they
must be ISO 8601 text, and times must carry their offset.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict

from handsup.needs.models import ALL_WEEKLY_SLOTS, MAX_HOURS, MAX_PEOPLE_NEEDED


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    return value


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("Give dates and times as ISO 8601 text.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
IsoDate = Annotated[date, BeforeValidator(_iso_text), Field(strict=False)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_text), Field(strict=False)]


# Whole numbers the database can hold (SQLite and PostgreSQL refuse bigger ones).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class StrictIn(Schema):
    model_config = ConfigDict(strict=True, extra="forbid")


# --- Errors -------------------------------------------------------------------------------


class ErrorOut(Schema):
    """Every error: what went wrong, in words; for 422, each field's problem too."""

    detail: str
    errors: dict[str, str] | None = Field(
        None, description="For 422: the field (dotted path) → what is wrong with it."
    )


ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429)
ERRORS: dict[int, Any] = dict.fromkeys(ERROR_STATUSES, ErrorOut)


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    """An operation's responses: its successes and every documented error."""
    return {**ok, **ERRORS}


# --- Pagination ---------------------------------------------------------------------------


class PageQuery(Schema):
    cursor: str | None = Field(
        None, max_length=200, description="The `next_cursor` of the previous page."
    )
    limit: int = Field(25, ge=1, le=100, description="How many items, 1 to 100.")


# --- Groups -------------------------------------------------------------------------------


class GroupOut(Schema):
    id: str
    name: str
    slug: str
    kind: str
    status: str
    parent: str | None


# --- Needs --------------------------------------------------------------------------------

NeedStatus = Literal["draft", "open", "closed", "filled"]


class SkillOut(Schema):
    id: int
    slug: str
    name: str
    category: str


class SkillsOut(Schema):
    items: list[SkillOut]


class SkillWantedIn(StrictIn):
    skill: int = Field(ge=1, le=INT32_MAX, description="A skill's id (see GET /skills).")
    min_level: int = Field(
        ge=INT32_MIN,
        le=INT32_MAX,
        description="1 learning, 2 capable, 3 experienced, 4 can teach.",
    )
    required: bool = True


class WindowIn(StrictIn):
    starts_at: IsoDateTime
    ends_at: IsoDateTime


class NeedIn(StrictIn):
    title: Text = Field(max_length=200)
    description: Text = Field(max_length=5000)
    skills: list[SkillWantedIn] = Field(max_length=10)
    location_kind: Literal["on_site", "remote"]
    place: Text | None = Field(
        None, max_length=20, description="On site: a postcode or its first part."
    )
    radius_km: int | None = Field(
        None, ge=INT32_MIN, le=INT32_MAX, description="On site: how far people may come from."
    )
    schedule_kind: Literal["windows", "ongoing"]
    windows: list[WindowIn] = Field(default_factory=list, max_length=20)
    weekly_slots: int = Field(
        0,
        ge=0,
        le=ALL_WEEKLY_SLOTS,
        description="Ongoing: bit (day × 3 + part of day), Monday morning = bit 0.",
    )
    hours: float = Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)
    people_needed: int = Field(ge=1, le=MAX_PEOPLE_NEEDED)
    closes_on: IsoDate
    visibility: Literal["movement", "members"] = "movement"


class NeedPatch(StrictIn):
    """Only the fields sent change; the need must still keep every rule afterwards."""

    title: Text | None = Field(None, max_length=200)
    description: Text | None = Field(None, max_length=5000)
    skills: list[SkillWantedIn] | None = Field(None, max_length=10)
    location_kind: Literal["on_site", "remote"] | None = None
    place: Text | None = Field(None, max_length=20)
    radius_km: int | None = Field(None, ge=INT32_MIN, le=INT32_MAX)
    schedule_kind: Literal["windows", "ongoing"] | None = None
    windows: list[WindowIn] | None = Field(None, max_length=20)
    weekly_slots: int | None = Field(None, ge=0, le=ALL_WEEKLY_SLOTS)
    hours: float | None = Field(None, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    people_needed: int | None = Field(None, ge=1, le=MAX_PEOPLE_NEEDED)
    closes_on: IsoDate | None = None
    visibility: Literal["movement", "members"] | None = None


class SkillWantedOut(Schema):
    skill: int
    name: str
    min_level: int
    required: bool


class WindowOut(Schema):
    starts_at: datetime
    ends_at: datetime


class NeedOut(Schema):
    id: str
    title: str
    description: str
    status: NeedStatus
    skills: list[SkillWantedOut]
    location_kind: str
    place: str | None
    radius_km: int | None
    schedule_kind: str
    windows: list[WindowOut]
    weekly_slots: int
    hours: float
    people_needed: int
    filled_count: int
    closes_on: date
    visibility: str
    created_at: datetime
    updated_at: datetime


class NeedPage(Schema):
    items: list[NeedOut]
    next_cursor: str | None


class NeedQuery(PageQuery):
    status: NeedStatus | None = None


# --- Shortlists and invitations -----------------------------------------------------------


class CardSkillOut(Schema):
    name: str
    level: str
    required: bool


class CardOut(Schema):
    id: str = Field(description="The card's id for this need: send it to ask the person.")
    pseudonym: str
    score: float
    skills: list[CardSkillOut]
    distance: str
    availability: str
    last_asked: str
    reason: str
    reliability: str | None


class ShortlistOut(Schema):
    need: str
    cards: list[CardOut]


class InviteIn(StrictIn):
    card_ids: list[Text] = Field(min_length=1, max_length=200)


class InviteOut(Schema):
    asked: int
    sent: int
    held: int
    relay: int
    refused: dict[str, int]
    unknown_cards: int


class InvitationOut(Schema):
    id: str
    source: str
    channel: str
    status: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None


class InvitationPage(Schema):
    items: list[InvitationOut]
    next_cursor: str | None


# --- Members ------------------------------------------------------------------------------


class MemberOut(Schema):
    id: str
    name: str
    email: str | None = Field(
        description="Only when the member agreed to share contact details with the group."
    )
    role: str
    joined_at: datetime


class MemberPage(Schema):
    items: list[MemberOut]
    next_cursor: str | None


# --- Group updates ------------------------------------------------------------------------


class UpdateIn(StrictIn):
    subject: Text = Field(min_length=1, max_length=200)
    body: Text = Field(
        min_length=1, max_length=20_000, description="Markdown: bold, italic, lists, links."
    )
    audience: Literal["all", "skill", "area"] = "all"
    skill: int | None = Field(None, ge=1, le=INT32_MAX, description="For audience “skill”.")
    area: Text | None = Field(
        None, max_length=4, description="For audience “area”: like M, or M14."
    )


class PacingOut(Schema):
    recipients: int
    sent: int = Field(description="Sent now.")
    held: int = Field(description="Held until their quiet hours end.")
    folded: int = Field(description="Folded into their next digest (over their budget).")
    suppressed: int = Field(description="Not sent (unsubscribed, bounced, no consent...).")


class UpdateSentOut(PacingOut):
    id: str


# --- Stories and tools --------------------------------------------------------------------


class StoryOut(Schema):
    id: str
    title: str
    body: str
    happened_on: date
    district: str
    region: str
    group: str | None
    published_at: datetime | None


class NamedPersonIn(StrictIn):
    name: Text = Field(max_length=100)
    role: Text = Field("", max_length=200)
    consented: bool = Field(
        False, description="They agreed to be named or quoted; otherwise held back."
    )


class StoryIn(StrictIn):
    title: Text = Field(max_length=140)
    body: Text = Field(max_length=20_000, description="What happened, in the Markdown subset.")
    district: Text = Field("", max_length=10, description="A postcode district, like M1.")
    region: Text = Field("", max_length=20, description="Or only a region, like north_west.")
    happened_on: IsoDate
    issues: list[Annotated[Text, Field(max_length=60)]] = Field(
        default_factory=list, max_length=20, description="Issue tag slugs, like housing."
    )
    action: Text = Field("", max_length=60, description="A type-of-action slug.")
    people: list[NamedPersonIn] = Field(default_factory=list, max_length=20)
    links: list[Annotated[Text, Field(max_length=500)]] = Field(default_factory=list, max_length=10)


class StorySubmittedOut(Schema):
    id: str
    status: str


class StoryPage(Schema):
    items: list[StoryOut]
    next_cursor: str | None


class ToolOut(Schema):
    id: str
    name: str
    summary: str
    description: str
    licence: str
    source_url: str
    status: str
    tags: list[str]
    maintainer_groups: list[str]
    used_by: list[str]


class ToolPage(Schema):
    items: list[ToolOut]
    next_cursor: str | None
