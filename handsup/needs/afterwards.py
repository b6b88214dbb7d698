"""What happened after someone said yes: the hours they gave, whether they helped, and
the group's thank-you.

- `do_log_hours`: the volunteer themself or one of the group's organisers logs hours
  given on a day, for an invitation that was accepted. The rules for an entry live in
  `hours_problems`, which the forms call too, so a problem shows beside its field.
- `do_record_outcome`: an organiser says whether someone helped, once the need's time
  has begun (any time for an ongoing need). The first "helped" sends the thank-you,
  once (`Invitation.thanked_at`). The answer can be corrected later; the thank-you is
  never sent twice.

Who may do either is answered in one place each: `may_log_hours_for` and
`may_record_outcome_for`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.permissions import group_policy
from handsup.needs.models import HoursLog, Invitation, Need
from handsup.needs.notices import send_notice
from handsup.privacy.audit import record_audit

MAX_HOURS_PER_ENTRY = Decimal(24)
MAX_NOTE_LENGTH = HoursLog._meta.get_field("note").max_length or 200
ONE_PLACE = Decimal("0.1")


# --- Who may --------------------------------------------------------------------------


def may_log_hours_for(actor: User, invitation: Invitation) -> bool:
    """The volunteer themself, or whoever may organise the need's group."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if actor.pk == invitation.user_id:
        return True
    return group_policy.allows(actor, "organise", invitation.need.group)


def may_record_outcome_for(actor: User, invitation: Invitation) -> bool:
    """Only the group's organisers: a volunteer does not mark their own reliability."""
    if not getattr(actor, "is_authenticated", False) or actor.pk == invitation.user_id:
        return False
    return group_policy.allows(actor, "organise", invitation.need.group)


# --- Rules ----------------------------------------------------------------------------


def parse_hours(text: str) -> Decimal | None:
    """What someone typed as hours, as a Decimal; None if it isn't a number."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def hours_amount_problem(hours: Decimal | None) -> str | None:
    """What is wrong with an amount of hours for one day, or None."""
    if hours is None or not hours.is_finite():
        return _("Give the hours as a number, such as 2 or 1.5.")
    if hours <= 0:
        return _("Hours must be more than 0.")
    if hours > MAX_HOURS_PER_ENTRY:
        return _("At most 24 hours for one day. For more than a day, log each day on its own.")
    if hours != hours.quantize(ONE_PLACE):
        return _("Give the hours to one decimal place at most, such as 1.5.")
    return None


def hours_problems(
    *, invitation: Invitation, hours: Decimal | None, on_date: date | None, note: str, now: datetime
) -> dict[str, str]:
    """Field name → message for each rule an hours entry breaks; empty when all is well."""
    problems: dict[str, str] = {}
    if (problem := hours_amount_problem(hours)) is not None:
        problems["hours"] = problem
    today = timezone.localdate(now)
    if on_date is None:
        problems["on_date"] = _("Give the day the hours were given, such as 2026-05-01.")
    elif on_date > today:
        problems["on_date"] = _("That day hasn't happened yet. Log hours on or after the day.")
    elif on_date < timezone.localdate(invitation.created_at):
        problems["on_date"] = _(
            "That day is before this invitation was made (%(day)s); choose a later day."
        ) % {"day": date_format(timezone.localdate(invitation.created_at), "j F Y")}
    if len(note) > MAX_NOTE_LENGTH:
        problems["note"] = _("Keep the note to %(n)d characters or fewer.") % {"n": MAX_NOTE_LENGTH}
    return problems


def need_has_started(need: Need, now: datetime) -> bool:
    """Whether "did they help?" can have an answer yet: an ongoing need at any time, a
    need at set times once its first time has begun."""
    if need.schedule_kind == Need.ScheduleKind.ONGOING:
        return True
    return need.windows.filter(starts_at__lte=now).exists()


def _lock(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("need__group", "user")
        .get(pk=invitation.pk)
    )


def _refuse(message: str) -> ValidationError:
    return ValidationError({NON_FIELD_ERRORS: [message]})


# --- Actions --------------------------------------------------------------------------


@transaction.atomic
def do_log_hours(
    *,
    actor: User,
    invitation: Invitation,
    hours: Decimal,
    on_date: date,
    note: str = "",
    now: datetime | None = None,
) -> HoursLog:
    """Log hours given on one day for an accepted invitation.

    Raises `PermissionDenied` for someone who may not log for this invitation, and
    `ValidationError` (messages keyed by field) for anything else; nothing is written
    then."""
    now = now or timezone.now()
    invitation = _lock(invitation)
    if not may_log_hours_for(actor, invitation):
        raise PermissionDenied(_("Only the volunteer or the group's organisers can log hours."))
    if invitation.status != Invitation.Status.ACCEPTED:
        raise _refuse(_("Hours can only be logged for someone who said yes."))
    note = (note or "").strip()
    amount = _as_decimal(hours)
    problems = hours_problems(
        invitation=invitation, hours=amount, on_date=on_date, note=note, now=now
    )
    if problems or amount is None:
        raise ValidationError(problems)
    entry = HoursLog.objects.create(
        invitation=invitation,
        hours=amount.quantize(ONE_PLACE),
        logged_by=actor,
        on_date=on_date,
        note=note,
        created_at=now,
    )
    record_audit(
        actor=actor,
        action="needs.hours_logged",
        obj=invitation,
        group=invitation.need.group,
        details={
            "need": invitation.need.public_id,
            "entry": entry.pk,
            "by": "volunteer" if actor.pk == invitation.user_id else "organiser",
        },
    )
    return entry


@transaction.atomic
def do_record_outcome(
    *, actor: User, invitation: Invitation, helped: bool, now: datetime | None = None
) -> Invitation:
    """Record whether someone who said yes helped; thank them the first time they did."""
    now = now or timezone.now()
    invitation = _lock(invitation)
    if not may_record_outcome_for(actor, invitation):
        raise PermissionDenied(_("Only the group's organisers can say who helped."))
    if invitation.status != Invitation.Status.ACCEPTED:
        raise _refuse(_("You can only say whether someone helped once they have said yes."))
    need = invitation.need
    if not need_has_started(need, now):
        raise _refuse(
            _("This need's time hasn't begun yet, so nobody can have helped yet. Come back after.")
        )
    was = invitation.helped
    invitation.helped = helped
    invitation.outcome_recorded_at = now
    fields = ["helped", "outcome_recorded_at"]
    thanked = False
    if helped and invitation.thanked_at is None:
        send_thank_you(actor=actor, invitation=invitation, now=now)
        invitation.thanked_at = now
        fields.append("thanked_at")
        thanked = True
    invitation.save(update_fields=fields)
    record_audit(
        actor=actor,
        action="needs.outcome_recorded",
        obj=invitation,
        group=need.group,
        details={"need": need.public_id, "helped": helped, "was": was, "thanked": thanked},
    )
    return invitation


def _as_decimal(hours: object) -> Decimal | None:
    """Hours from a caller that passed an int or text rather than a Decimal."""
    if isinstance(hours, Decimal):
        return hours if hours.is_finite() else None
    if isinstance(hours, int | float | str) and not isinstance(hours, bool):
        return parse_hours(str(hours))
    return None


def hours_logged(invitation: Invitation) -> Decimal:
    total = invitation.hours.aggregate(total=Sum("hours"))["total"]
    return total or Decimal(0)


def send_thank_you(*, actor: User, invitation: Invitation, now: datetime) -> None:
    """The group's thank-you, as a service note to the volunteer (inside the caller's
    transaction, so it is sent exactly when the outcome is recorded)."""
    need = invitation.need
    title = Truncator(need.title).chars(120)
    total = hours_logged(invitation)
    if total:
        hours_line = _(
            "You have given %(hours)s hours to it so far. That time matters, and we noticed."
        ) % {"hours": _plain_number(total)}
    else:
        hours_line = _(
            "If you'd like a record of the time you gave, you can log your hours on your "
            "commitments page."
        )
    body = "\n\n".join(
        [
            _("Thank you for helping with “%(title)s”.") % {"title": escape_markdown(title)},
            hours_line,
            _("From everyone at %(group)s.") % {"group": escape_markdown(need.group.name)},
        ]
    )
    send_notice(
        actor=actor,
        to=[invitation.user_id],
        group=need.group,
        subject=_("Thank you for helping with “%(title)s”") % {"title": title},
        body_markdown=body,
        now=now,
    )


def _plain_number(value: Decimal) -> str:
    """2.0 → "2", 1.5 → "1.5"."""
    text = f"{value.quantize(ONE_PLACE)}"
    return text[:-2] if text.endswith(".0") else text


_MARKDOWN_SPECIAL = "\\`*_[]()<>#!|"


def escape_markdown(text: str) -> str:
    """A title or name typed by someone, shown as written rather than as formatting."""
    return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in text)
