"""Every change to groups, memberships, requests and blocks.

Each `do_*` function is atomic and writes an audit row. Rules that decide whether an
action may happen at all live in `check_*` functions, which views call first so they
can show the reason; the actions assume valid input.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import (
    Departure,
    Group,
    GroupBlock,
    GroupInvitation,
    JoinRequest,
    Membership,
    MovementLimits,
    PersonSuspension,
)
from handsup.privacy.audit import record_audit


class GroupRuleBroken(Exception):
    """An action would break a rule; the message is for the person who tried it."""


# --- Checks ------------------------------------------------------------------------------


def check_can_join(user: User, group: Group) -> None:
    if group.status != Group.Status.ACTIVE:
        raise GroupRuleBroken(
            _("%(group)s is not taking new members: it is %(status)s.")
            % {"group": group.name, "status": group.get_status_display().lower()}
        )
    if Membership.objects.filter(user=user, group=group).exists():
        raise GroupRuleBroken(_("You are already a member of %(group)s.") % {"group": group.name})
    if JoinRequest.objects.filter(user=user, group=group, status="pending").exists():
        raise GroupRuleBroken(
            _("You have already asked to join %(group)s; an admin will decide soon.")
            % {"group": group.name}
        )


def check_keeps_an_admin(group: Group, *, losing: Membership) -> None:
    """A group must always have at least one admin."""
    if losing.role != Membership.Role.ADMIN:
        return
    others = Membership.objects.filter(group=group, role=Membership.Role.ADMIN).exclude(
        pk=losing.pk
    )
    if not others.exists():
        raise GroupRuleBroken(
            _(
                "%(group)s would be left with no admin. Make someone else an admin first, "
                "or archive the group."
            )
            % {"group": group.name}
        )


def check_policy_within_limits(
    *, updates_per_week_normal: int, updates_per_week_campaign: int, retention_months: int
) -> dict[str, str]:
    """Field name → message for each policy value looser than the movement allows."""
    limits = MovementLimits.current()
    problems: dict[str, str] = {}
    if updates_per_week_normal > limits.updates_per_week_normal:
        problems["updates_per_week_normal"] = _(
            "The movement allows at most %(n)d updates a week from one group."
        ) % {"n": limits.updates_per_week_normal}
    if updates_per_week_campaign > limits.updates_per_week_campaign:
        problems["updates_per_week_campaign"] = _(
            "The movement allows at most %(n)d updates a week from one group during campaigns."
        ) % {"n": limits.updates_per_week_campaign}
    if updates_per_week_campaign < updates_per_week_normal:
        problems["updates_per_week_campaign"] = _(
            "During campaigns the limit can be the same as normal or higher, not lower."
        )
    if retention_months > limits.max_retention_months:
        problems["retention_months"] = _(
            "The movement allows groups to keep an ex-member's details for at most %(n)d months."
        ) % {"n": limits.max_retention_months}
    return problems


def check_parent_allowed(group: Group | None, parent: Group | None) -> None:
    """A group can't be its own ancestor, and only active groups take sub-groups."""
    if parent is None:
        return
    if group is not None and (parent.pk == group.pk or group in parent.ancestors()):
        raise GroupRuleBroken(_("A group can't be inside itself or one of its own sub-groups."))
    if parent.status != Group.Status.ACTIVE:
        raise GroupRuleBroken(
            _("%(group)s is not active, so it can't have new sub-groups.") % {"group": parent.name}
        )


# --- Joining, leaving, blocking ----------------------------------------------------------


@transaction.atomic
def do_join_group(*, user: User, group: Group) -> Membership | JoinRequest:
    if group.join_policy == Group.JoinPolicy.APPROVAL:
        request = JoinRequest.objects.create(user=user, group=group)
        record_audit(actor=user, action="group.join_requested", obj=request, group=group)
        return request
    membership = Membership.objects.create(user=user, group=group, role=Membership.Role.MEMBER)
    Departure.objects.filter(user=user, group=group).delete()
    record_audit(actor=user, action="group.joined", obj=membership, group=group)
    from handsup.platform.events import emit_member_joined

    emit_member_joined(user, group)
    return membership


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def retention_end(group: Group, *, today: date | None = None) -> date:
    return add_months(today or timezone.localdate(), group.retention_months)


@transaction.atomic
def do_leave_group(*, user: User, group: Group) -> Departure:
    membership = Membership.objects.select_for_update().get(user=user, group=group)
    membership.delete()
    departure, _created = Departure.objects.update_or_create(
        user=user, group=group, defaults={"retain_until": retention_end(group)}
    )
    record_audit(
        actor=user,
        action="group.left",
        obj=group,
        group=group,
        details={"retain_until": departure.retain_until.isoformat()},
    )
    from handsup.platform.events import emit_member_left

    emit_member_left(user, group)
    return departure


@transaction.atomic
def do_block_group(*, user: User, group: Group) -> GroupBlock:
    """Block a group; if the person is a member, they leave it as well."""
    if Membership.objects.filter(user=user, group=group).exists():
        do_leave_group(user=user, group=group)
    JoinRequest.objects.filter(user=user, group=group, status="pending").update(
        status=JoinRequest.Status.WITHDRAWN
    )
    block, _created = GroupBlock.objects.get_or_create(user=user, group=group)
    record_audit(actor=user, action="group.blocked", obj=group, group=group)
    return block


@transaction.atomic
def do_unblock_group(*, user: User, group: Group) -> None:
    GroupBlock.objects.filter(user=user, group=group).delete()
    record_audit(actor=user, action="group.unblocked", obj=group, group=group)


# --- Running a group ---------------------------------------------------------------------


@transaction.atomic
def do_decide_join_request(*, actor: User, request: JoinRequest, approve: bool) -> None:
    request.status = JoinRequest.Status.APPROVED if approve else JoinRequest.Status.DECLINED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    if approve:
        Membership.objects.get_or_create(
            user=request.user, group=request.group, defaults={"role": Membership.Role.MEMBER}
        )
        Departure.objects.filter(user=request.user, group=request.group).delete()
        from handsup.platform.events import emit_member_joined

        emit_member_joined(request.user, request.group)
    record_audit(
        actor=actor,
        action="group.join_approved" if approve else "group.join_declined",
        obj=request,
        group=request.group,
    )


@transaction.atomic
def do_change_role(*, actor: User, membership: Membership, role: str) -> None:
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record_audit(
        actor=actor,
        action="group.role_changed",
        obj=membership,
        group=membership.group,
        details={"from": previous, "to": role},
    )


@transaction.atomic
def do_update_group(*, actor: User, group: Group, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(group, field, value)
    group.save()
    record_audit(
        actor=actor,
        action="group.updated",
        obj=group,
        group=group,
        details={"fields": sorted(changes)},
    )


@transaction.atomic
def do_request_group(
    *,
    actor: User,
    name: str,
    slug: str,
    kind: str,
    parent: Group | None,
    description: str,
) -> Group:
    group = Group.objects.create(
        name=name,
        slug=slug,
        kind=kind,
        parent=parent,
        description=description,
        status=Group.Status.PENDING,
        requested_by=actor,
    )
    record_audit(actor=actor, action="group.requested", obj=group, group=parent)
    return group


@transaction.atomic
def do_decide_group(*, actor: User, group: Group, approve: bool, reason: str = "") -> None:
    group.status = Group.Status.ACTIVE if approve else Group.Status.DECLINED
    group.status_reason = reason
    group.save(update_fields=["status", "status_reason"])
    if approve and group.requested_by_id:
        # Whoever asked for the group runs it.
        Membership.objects.update_or_create(
            user_id=group.requested_by_id, group=group, defaults={"role": Membership.Role.ADMIN}
        )
    record_audit(
        actor=actor,
        action="group.approved" if approve else "group.declined",
        obj=group,
        group=group.parent,
        details={"reason": reason} if reason else None,
    )


@transaction.atomic
def do_archive_group(*, actor: User, group: Group) -> None:
    group.status = Group.Status.ARCHIVED
    group.save(update_fields=["status"])
    JoinRequest.objects.filter(group=group, status="pending").update(
        status=JoinRequest.Status.DECLINED, decided_by=actor, decided_at=timezone.now()
    )
    record_audit(actor=actor, action="group.archived", obj=group, group=group)


# --- Platform administration -------------------------------------------------------------


@transaction.atomic
def do_suspend_group(*, actor: User, group: Group, reason: str) -> None:
    group.status = Group.Status.SUSPENDED
    group.status_reason = reason
    group.save(update_fields=["status", "status_reason"])
    record_audit(
        actor=actor, action="group.suspended", obj=group, group=group, details={"reason": reason}
    )


@transaction.atomic
def do_suspend_person(*, actor: User, user: User, reason: str) -> PersonSuspension:
    suspension = PersonSuspension.objects.create(user=user, reason=reason, suspended_by=actor)
    user.is_active = False
    user.save(update_fields=["is_active"])
    record_audit(actor=actor, action="person.suspended", obj=user, details={"reason": reason})
    return suspension


@transaction.atomic
def do_update_movement_limits(*, actor: User, changes: dict[str, int]) -> MovementLimits:
    limits = MovementLimits.current()
    for field, value in changes.items():
        setattr(limits, field, value)
    limits.save()
    record_audit(actor=actor, action="movement.limits_changed", obj=limits, details=changes)
    return limits


# --- Invitations to people who already have an account --------------------------------------


def do_invite_existing(*, group: Group, user_ids: Iterable[int], invited_by: User | None) -> int:
    """Invite these accounts to `group`, skipping members, people who blocked the group and
    open invitations; return how many were invited. Runs inside the caller's transaction
    (an import's): set-based, so a long list costs a few statements."""
    wanted = set(user_ids)
    if not wanted:
        return 0
    wanted -= set(
        Membership.objects.filter(group=group, user_id__in=wanted).values_list("user_id", flat=True)
    )
    wanted -= set(
        GroupBlock.objects.filter(group=group, user_id__in=wanted).values_list("user_id", flat=True)
    )
    wanted -= set(
        GroupInvitation.objects.filter(
            group=group, user_id__in=wanted, answered_at__isnull=True
        ).values_list("user_id", flat=True)
    )
    GroupInvitation.objects.bulk_create(
        [
            GroupInvitation(group=group, user_id=user_id, invited_by=invited_by)
            for user_id in wanted
        ],
        batch_size=2000,
    )
    if wanted:
        record_audit(
            actor=invited_by,
            action="group.invited_existing_accounts",
            group=group,
            details={"invited": len(wanted)},
        )
    return len(wanted)


@transaction.atomic
def do_answer_invitation(*, user: User, invitation: GroupInvitation, accept: bool) -> None:
    """Join the group that invited you (no approval needed: it asked), or say no thanks."""
    invitation.answered_at = timezone.now()
    invitation.accepted = accept
    invitation.save(update_fields=["answered_at", "accepted"])
    group = invitation.group
    if accept and not Membership.objects.filter(user=user, group=group).exists():
        membership = Membership.objects.create(user=user, group=group, role=Membership.Role.MEMBER)
        Departure.objects.filter(user=user, group=group).delete()
        record_audit(actor=user, action="group.joined_by_invitation", obj=membership, group=group)
        from handsup.platform.events import emit_member_joined

        emit_member_joined(user, group)
    else:
        record_audit(
            actor=user,
            action="group.invitation_declined" if not accept else "group.invitation_accepted",
            obj=invitation,
            group=group,
        )
