"""A volunteer's commitments as an iCalendar file, for their own calendar app.

One event per time of each need they said yes to:

- a need at set times: one event per set time. Its UID is the invitation's public id and
  the time's place in the need's times, so re-importing the file updates the same
  events (the rows themselves are replaced on every edit of the need, so their ids
  would not stay put).
- an ongoing need: one weekly event per weekly slot, from the first such day on or after
  the day they said yes, repeating until the need's closing date. Slots are parts of the
  day, not hours, so each gets clear hours (`SLOT_HOURS`, local time) and the event says
  the group will confirm the exact times.

Only the person's own accepted invitations, never anyone else's, and nothing about other
people: the need's title, its group, the district (or "Remote") and a link to its page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.needs.models import Invitation, Need
from handsup.people.forms import DAYS, SLOTS

PRODUCT_ID = "-//Hands Up//Needs//EN"
# The hours we put in a calendar for each part of the day of a weekly slot (local time;
# the same parts of the day as a volunteer's availability grid).
SLOT_HOURS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),  # morning
    (time(13, 0), time(17, 0)),  # afternoon
    (time(18, 0), time(21, 0)),  # evening
)
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def accepted_invitations(user: User) -> Iterable[Invitation]:
    return (
        Invitation.objects.filter(user=user, status=Invitation.Status.ACCEPTED)
        .select_related("need__group")
        .prefetch_related("need__windows")
        .order_by("created_at", "pk")
    )


def commitments_calendar(user: User, *, now: datetime | None = None) -> bytes:
    """The iCalendar file (bytes, as served) of `user`'s accepted invitations."""
    now = now or timezone.now()
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("My Hands Up commitments"))
    firsts: list[date] = []
    for invitation in accepted_invitations(user):
        for event in _events_for(invitation, now=now):
            calendar.add_component(event)
            firsts.append(event.decoded("dtstart").date())
    if firsts:
        # Describe the site's time zone for the years the events cover (and a year on
        # for repeats), not from 1970: smaller files, the same meaning.
        calendar.add_missing_timezones(
            first_date=min(firsts) - timedelta(days=1),
            last_date=max(firsts) + timedelta(days=400),
        )
    return calendar.to_ical()


def _events_for(invitation: Invitation, *, now: datetime) -> list[icalendar.Event]:
    need = invitation.need
    if need.schedule_kind == Need.ScheduleKind.WINDOWS:
        return [
            _event(
                invitation,
                uid_part=f"time-{index}",
                starts_at=timezone.localtime(window.starts_at),
                ends_at=timezone.localtime(window.ends_at),
                now=now,
            )
            for index, window in enumerate(
                sorted(need.windows.all(), key=lambda w: (w.starts_at, w.ends_at))
            )
        ]
    answered = timezone.localdate(invitation.answered_at or invitation.created_at)
    until = datetime.combine(
        need.closes_on, time(23, 59, 59), tzinfo=timezone.get_default_timezone()
    )
    events = []
    for bit in range(7 * 3):
        if not need.weekly_slots & (1 << bit):
            continue
        weekday, part = divmod(bit, 3)
        first_day = answered + timedelta(days=(weekday - answered.weekday()) % 7)
        if first_day > need.closes_on:
            continue
        start, end = SLOT_HOURS[part]
        event = _event(
            invitation,
            uid_part=f"weekly-{WEEKDAY_CODES[weekday].lower()}-{part}",
            starts_at=_local(first_day, start),
            ends_at=_local(first_day, end),
            now=now,
            extra=_("Every %(day)s %(part)s, %(hours)s (the group will confirm the exact times).")
            % {"day": DAYS[weekday], "part": SLOTS[part], "hours": f"{start:%H:%M}–{end:%H:%M}"},
        )
        event.add("rrule", {"freq": "weekly", "until": until.astimezone(UTC)})
        events.append(event)
    return events


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=timezone.get_default_timezone())


def _event(
    invitation: Invitation,
    *,
    uid_part: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    extra: str = "",
) -> icalendar.Event:
    need = invitation.need
    page = settings.SITE_URL + reverse("needs:page", args=[need.public_id])
    event = icalendar.Event()
    event.add("uid", f"{invitation.public_id}-{uid_part}@handsup")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", need.title)
    event.add(
        "location",
        need.area_name if need.location_kind == Need.LocationKind.ON_SITE else _("Remote"),
    )
    lines = [_("With %(group)s.") % {"group": need.group.name}]
    if extra:
        lines.append(extra)
    lines.append(page)
    event.add("description", "\n".join(lines))
    event.add("url", page)
    return event
