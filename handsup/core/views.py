from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from handsup.accounts.models import User
from handsup.core.http import AuthenticatedRequest
from handsup.core.models import DemoMail
from handsup.core.permissions import access_private_file
from handsup.groups.models import Group, GroupInvitation, Membership, MovementRole
from handsup.groups.permissions import is_platform_admin


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "core/about.html")


@login_required
def me(request: AuthenticatedRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user).select_related("group").order_by("group__name")
    )
    roles = MovementRole.objects.filter(user=request.user).order_by("role")
    invitations = GroupInvitation.objects.filter(
        user=request.user, answered_at__isnull=True
    ).select_related("group")
    return render(
        request,
        "core/me.html",
        {"memberships": memberships, "movement_roles": roles, "invitations": invitations},
    )


@login_required
def platform(request: HttpRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise PermissionDenied
    by_status = dict(Group.objects.values_list("status").annotate(n=Count("id")))
    status_counts = [(label, by_status.get(value, 0)) for value, label in Group.Status.choices]
    found = None
    email = request.GET.get("email", "").strip()
    if email:
        # Only the opaque id is shown: finding an account reveals nothing more about it.
        found = User.objects.filter(email__iexact=email).only("public_id", "is_active").first()
    groups = Group.objects.exclude(status=Group.Status.DECLINED).order_by("name")[:500]
    return render(
        request,
        "core/platform.html",
        {
            "status_counts": status_counts,
            "groups": groups,
            "email": email,
            "found": found,
        },
    )


@login_required
def private_file(request: HttpRequest, public_id: str) -> FileResponse:
    stored = access_private_file(request.user, public_id)
    return FileResponse(
        stored.file.open("rb"),
        as_attachment=True,
        filename=stored.name,
        content_type=stored.content_type,
    )


def demo_sent_mail(request: HttpRequest) -> HttpResponse:
    # Exists only in demo mode, where every address is fictional.
    if not settings.DEMO_MODE:
        raise Http404
    return render(request, "core/demo_sent_mail.html", {"mails": DemoMail.objects.all()[:50]})
