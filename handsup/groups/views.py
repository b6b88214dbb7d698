from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from handsup.groups.access import access_group
from handsup.groups.models import Membership


@login_required
def organise(request: HttpRequest, public_id: str) -> HttpResponse:
    """A group's figures for the people who run it (counts, never people)."""
    group = access_group(request.user, public_id, "see_figures")
    by_role = dict(
        Membership.objects.filter(group=group)
        .values_list("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )
    role_counts = [(label, by_role.get(value, 0)) for value, label in Membership.Role.choices]
    return render(
        request,
        "groups/organise.html",
        {
            "group": group,
            "role_counts": role_counts,
            "sub_group_count": group.children.count(),
        },
    )
