"""The seed's "needs" step: needs, the asks and offers about them, and what came after."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q

from handsup.groups.models import Membership
from handsup.messaging.models import Kind, LedgerEntry, Message
from handsup.needs.models import ContactGrant, HoursLog, Invitation, Need
from handsup.people.models import PersonSkill
from handsup.places.geo import Point, distance_km

pytestmark = pytest.mark.usefixtures("places")

VOLUNTEERS = "3000"


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed", *args, "--no-progress", stdout=out)
    return out.getvalue()


def need_rows() -> list[tuple[Any, ...]]:
    return sorted(
        Need.objects.filter(group__seeded=True).values_list(
            "group__slug", "title", "status", "people_needed", "filled_count", "radius_km"
        )
    )


def invitation_rows() -> list[tuple[Any, ...]]:
    return sorted(
        Invitation.objects.filter(need__group__seeded=True).values_list(
            "need__title", "user__email", "source", "status", "decline_reason", "helped"
        )
    )


def test_needs_have_invitations_grants_and_history_that_agree() -> None:
    out = seed("--volunteers", VOLUNTEERS, "--seed", "3")
    assert "needs:" in out
    needs = Need.objects.filter(group__seeded=True)
    statuses = Counter(needs.values_list("status", flat=True))
    assert needs.count() >= 10
    assert statuses[Need.Status.OPEN] > 0
    assert statuses[Need.Status.DRAFT] > 0
    assert statuses[Need.Status.FILLED] + statuses[Need.Status.CLOSED] > 0

    invitations = Invitation.objects.filter(need__group__seeded=True)
    by_status = Counter(invitations.values_list("status", flat=True))
    assert by_status[Invitation.Status.ACCEPTED] > 0
    assert by_status[Invitation.Status.DECLINED] > 0
    assert by_status[Invitation.Status.PENDING] > 0
    assert invitations.filter(source=Invitation.Source.OFFER).exists()
    # Only open needs still wait for answers; drafts were never shown to anyone.
    assert not invitations.filter(status="pending").exclude(need__status="open").exists()
    assert not invitations.filter(need__status=Need.Status.DRAFT).exists()

    # The fill count is exactly the yeses, and a filled need has every place taken.
    counted = needs.annotate(
        yes=Count("invitations", filter=Q(invitations__status=Invitation.Status.ACCEPTED))
    )
    assert not counted.exclude(filled_count=F("yes")).exists()
    assert (
        not needs.filter(status=Need.Status.FILLED)
        .exclude(filled_count=F("people_needed"))
        .exists()
    )

    # Everyone who said yes has one grant for that need and group; nobody else has one.
    grants = ContactGrant.objects.filter(need__group__seeded=True)
    assert grants.count() == by_status[Invitation.Status.ACCEPTED]
    assert not grants.exclude(invitation__status=Invitation.Status.ACCEPTED).exists()
    assert not grants.exclude(group=F("need__group")).exclude(user=F("invitation__user")).exists()
    # Outcomes only for needs that are over, hours only for people who helped.
    assert not invitations.filter(helped__isnull=False, need__status="open").exists()
    assert HoursLog.objects.filter(invitation__need__group__seeded=True).exists()
    assert not HoursLog.objects.exclude(invitation__helped=True).exists()

    # Every ask has its message and a ledger row, so fairness and budgets count it.
    asks = invitations.filter(source=Invitation.Source.ASK)
    assert not asks.filter(message__isnull=True).exists()
    assert not asks.exclude(message__kind=Kind.ASK).exists()
    ledger = LedgerEntry.objects.filter(kind=Kind.ASK, group__seeded=True)
    assert ledger.count() == asks.count()

    # Invitees hold the need's first skill and live within its radius.
    for invitation in asks.select_related("need", "user__person")[:200]:
        need = invitation.need
        first = need.skills.order_by("-required", "pk").first()
        assert first is not None
        assert PersonSkill.objects.filter(person__user=invitation.user, skill=first.skill).exists()
        person = invitation.user.person
        if need.location_kind == Need.LocationKind.ON_SITE:
            assert need.radius_km is not None and need.eastings and need.northings
            assert person.eastings and person.northings
            km = distance_km(
                Point(need.eastings, need.northings), Point(person.eastings, person.northings)
            )
            assert km <= need.radius_km + 0.01
    # The organisers who posted them organise the group.
    for need in needs.select_related("group")[:50]:
        assert Membership.objects.filter(
            group=need.group, user=need.created_by, role__in=["organiser", "admin"]
        ).exists()


def test_same_seed_same_needs_and_reset_removes_them() -> None:
    seed("--volunteers", VOLUNTEERS, "--seed", "5")
    needs, invitations = need_rows(), invitation_rows()
    assert needs and invitations
    seed("--reset", "--volunteers", VOLUNTEERS, "--seed", "5")
    assert need_rows() == needs
    assert invitation_rows() == invitations
    seed("--reset")
    assert not Need.objects.filter(group__seeded=True).exists()
    assert not Message.objects.filter(group__seeded=True, kind=Kind.ASK).exists()
    assert not Invitation.objects.exists()
