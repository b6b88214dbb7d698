"""Finding, joining and running groups."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handsup.core.csv_safe import csv_lines
from handsup.core.http import AuthenticatedRequest
from handsup.groups import actions
from handsup.groups.access import (
    access_group,
    access_group_by_slug,
    access_join_request,
    access_membership,
)
from handsup.groups.forms import (
    DecisionForm,
    DirectorySearchForm,
    GroupSettingsForm,
    LogoForm,
    RequestGroupForm,
    RoleForm,
)
from handsup.groups.members import (
    EXPORT_HEADER,
    member_export_rows,
    member_profile,
    member_rows,
)
from handsup.groups.models import Group, GroupBlock, GroupInvitation, JoinRequest, Membership
from handsup.groups.permissions import descendant_ids, group_policy
from handsup.people.forms import LANGUAGES, SLOTS, availability_grid
from handsup.places.geo import DistanceBand, Point, bounding_box, distance_km
from handsup.privacy.access import log_access
from handsup.stories.views_read import featured_stories_for

DIRECTORY_PAGE_SIZE = 25
NEAR_KM = 50


# --- Finding and joining -----------------------------------------------------------------


def directory(request: HttpRequest) -> HttpResponse:
    form = DirectorySearchForm(request.GET or None)
    groups = group_policy.groups_for(request.user, "view").filter(status=Group.Status.ACTIVE)
    near = None
    if form.is_valid():
        if query := form.cleaned_data["q"].strip():
            groups = groups.filter(Q(name__icontains=query) | Q(slug__icontains=query))
        near = form.cleaned_data["near"]
    elif form.is_bound:
        groups = groups.none()
    rows: list[tuple[Group, DistanceBand | None]]
    if near is not None:
        west, east, south, north = bounding_box(near.point, NEAR_KM)
        nearby = groups.filter(
            Q(area_districts__icontains=near.district)
            | Q(
                centre_eastings__range=(west, east),
                centre_northings__range=(south, north),
            )
        )
        scored = []
        for group in nearby:
            if near.district in group.district_list:
                km = 0.0
            elif group.centre_eastings is not None and group.centre_northings is not None:
                km = distance_km(near.point, _centre(group))
            else:
                continue
            if km <= NEAR_KM:
                scored.append((km, group))
        scored.sort(key=lambda pair: (pair[0], pair[1].name))
        rows = [(group, DistanceBand.for_km(km)) for km, group in scored]
    else:
        rows = [(group, None) for group in groups.order_by("name")]
    page = Paginator(rows, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "groups/directory.html", {"form": form, "page": page, "near": near})


def _centre(group: Group) -> Point:
    return Point(group.centre_eastings or 0, group.centre_northings or 0)


def group_page(request: HttpRequest, slug: str) -> HttpResponse:
    group = access_group_by_slug(request.user, slug)
    membership = pending = blocked = None
    if request.user.is_authenticated:
        membership = Membership.objects.filter(user=request.user, group=group).first()
        pending = JoinRequest.objects.filter(
            user=request.user, group=group, status=JoinRequest.Status.PENDING
        ).first()
        blocked = GroupBlock.objects.filter(user=request.user, group=group).exists()
    return render(
        request,
        "groups/group_page.html",
        {
            "group": group,
            "membership": membership,
            "pending": pending,
            "blocked": blocked,
            "member_count": group.memberships.count(),
            "can_organise": group_policy.allows(request.user, "see_figures", group)
            if request.user.is_authenticated
            else False,
            **featured_stories_for(group),
        },
    )


@login_required
def join(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    group = access_group_by_slug(request.user, slug)
    problem = None
    try:
        actions.check_can_join(request.user, group)
    except actions.GroupRuleBroken as error:
        problem = str(error)
    if request.method == "POST" and problem is None:
        result = actions.do_join_group(user=request.user, group=group)
        if isinstance(result, JoinRequest):
            messages.success(
                request,
                _("You asked to join %(group)s. An admin will decide, and we'll tell you.")
                % {"group": group.name},
            )
        else:
            messages.success(request, _("You joined %(group)s.") % {"group": group.name})
        return redirect("groups:page", slug=group.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "groups/join.html", {"group": group, "problem": problem}, status=status)


@login_required
def leave(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    group = access_group_by_slug(request.user, slug)
    membership = Membership.objects.filter(user=request.user, group=group).first()
    if membership is None:
        messages.info(request, _("You are not a member of %(group)s.") % {"group": group.name})
        return redirect("groups:page", slug=group.slug)
    problem = None
    try:
        actions.check_keeps_an_admin(group, losing=membership)
    except actions.GroupRuleBroken as error:
        problem = str(error)
    if request.method == "POST" and problem is None:
        departure = actions.do_leave_group(user=request.user, group=group)
        messages.success(
            request,
            _("You left %(group)s. It will delete your details by %(date)s.")
            % {"group": group.name, "date": departure.retain_until.strftime("%-d %B %Y")},
        )
        return redirect("groups:page", slug=group.slug)
    return render(
        request,
        "groups/leave.html",
        {"group": group, "problem": problem, "retain_until": actions.retention_end(group)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def block(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    group = access_group_by_slug(request.user, slug)
    membership = Membership.objects.filter(user=request.user, group=group).first()
    problem = None
    if membership is not None:
        try:
            actions.check_keeps_an_admin(group, losing=membership)
        except actions.GroupRuleBroken as error:
            problem = str(error)
    if request.method == "POST" and problem is None:
        actions.do_block_group(user=request.user, group=group)
        messages.success(
            request,
            _("You blocked %(group)s. It can never find, invite or message you.")
            % {"group": group.name},
        )
        return redirect("groups:page", slug=group.slug)
    return render(
        request,
        "groups/block.html",
        {
            "group": group,
            "membership": membership,
            "problem": problem,
            "retain_until": actions.retention_end(group),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def unblock(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    group = access_group_by_slug(request.user, slug)
    actions.do_unblock_group(user=request.user, group=group)
    messages.success(request, _("You unblocked %(group)s.") % {"group": group.name})
    return redirect("groups:page", slug=group.slug)


@login_required
def request_group(request: AuthenticatedRequest) -> HttpResponse:
    """Anyone can propose a new top-level group; a platform admin approves it."""
    return _request_group(request, parent=None)


def _request_group(request: AuthenticatedRequest, parent: Group | None) -> HttpResponse:
    form = RequestGroupForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        group = actions.do_request_group(
            actor=request.user,
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            kind=form.cleaned_data["kind"],
            parent=parent,
            description=form.cleaned_data["description"],
        )
        messages.success(
            request,
            _("You asked for %(group)s. We'll tell you when it is approved.")
            % {"group": group.name},
        )
        return redirect("groups:page", slug=group.slug)
    return render(
        request,
        "groups/request_group.html",
        {"form": form, "parent": parent},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


# --- Running a group ---------------------------------------------------------------------


@login_required
def organise(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
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
            "pending_requests": group.join_requests.filter(status="pending").count(),
            "can_organise": group_policy.allows(request.user, "organise", group),
            "can_administer": group_policy.allows(request.user, "administer", group),
        },
    )


@login_required
def members(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    page = Paginator(
        Membership.objects.filter(group=group).select_related("user").order_by("user__full_name"),
        50,
    ).get_page(request.GET.get("page"))
    rows = member_rows(viewer=request.user, group=group, memberships=list(page.object_list))
    return render(
        request,
        "groups/members.html",
        {
            "group": group,
            "page": page,
            "rows": rows,
            "can_administer": group_policy.allows(request.user, "administer", group),
            "role_form": RoleForm(),
        },
    )


@login_required
def export_members(request: AuthenticatedRequest, public_id: str) -> StreamingHttpResponse:
    """The member list as CSV, streamed: contact details only where members agreed."""
    group = access_group(request.user, public_id, "organise")
    lines = csv_lines(EXPORT_HEADER, member_export_rows(viewer=request.user, group=group))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"{group.slug}-members-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def member(request: AuthenticatedRequest, public_id: str, member_id: str) -> HttpResponse:
    """One member's volunteer profile, as far as their consents let this group see it."""
    group = access_group(request.user, public_id, "organise")
    membership = access_membership(request.user, group, member_id)
    shown = member_profile(viewer=request.user, group=group, membership=membership)
    profile = shown.profile
    language_names = dict(LANGUAGES)
    return render(
        request,
        "groups/member.html",
        {
            "group": group,
            "member": shown,
            "profile": profile,
            "grid": availability_grid(profile.availability) if profile else [],
            "slots": SLOTS,
            "languages": [str(language_names.get(code, code)) for code in profile.languages]
            if profile
            else [],
        },
    )


@login_required
def change_role(request: AuthenticatedRequest, public_id: str, member_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    membership = access_membership(request.user, group, member_id)
    log_access(
        actor=request.user,
        subjects=[membership.user],
        purpose="change_role",
        fields=["full_name"],
        group=group,
    )
    form = RoleForm(request.POST or None, initial={"role": membership.role})
    problem = None
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        try:
            if role != Membership.Role.ADMIN:
                actions.check_keeps_an_admin(group, losing=membership)
        except actions.GroupRuleBroken as error:
            problem = str(error)
        else:
            actions.do_change_role(actor=request.user, membership=membership, role=role)
            messages.success(request, _("Role changed."))
            return redirect("groups:members", public_id=group.public_id)
    return render(
        request,
        "groups/change_role.html",
        {"group": group, "membership": membership, "form": form, "problem": problem},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def join_requests(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    pending = list(
        JoinRequest.objects.filter(group=group, status="pending")
        .select_related("user")
        .order_by("created_at")[:200]
    )
    log_access(
        actor=request.user,
        subjects=[item.user for item in pending],
        purpose="join_requests",
        fields=["full_name"],
        group=group,
    )
    return render(request, "groups/join_requests.html", {"group": group, "pending": pending})


@login_required
@require_POST
def decide_join_request(
    request: AuthenticatedRequest, public_id: str, request_id: str
) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    join_request = access_join_request(request.user, group, request_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or decline."))
        return redirect("groups:join_requests", public_id=group.public_id)
    approve = form.cleaned_data["decision"] == "approve"
    actions.do_decide_join_request(actor=request.user, request=join_request, approve=approve)
    messages.success(request, _("Request approved.") if approve else _("Request declined."))
    return redirect("groups:join_requests", public_id=group.public_id)


@login_required
def settings_view(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    original = {field: getattr(group, field) for field in GroupSettingsForm.Meta.fields}
    form = GroupSettingsForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in GroupSettingsForm.Meta.fields}
        centre = form.centre()
        changes["centre_eastings"] = centre.eastings if centre else None
        changes["centre_northings"] = centre.northings if centre else None
        actions.do_update_group(actor=request.user, group=group, changes=changes)
        messages.success(request, _("Settings saved."))
        return redirect("groups:settings", public_id=group.public_id)
    if form.is_bound:
        # A rejected form must not leave the unsaved values on the object.
        for field, value in original.items():
            setattr(group, field, value)
    return render(
        request,
        "groups/settings.html",
        {"group": group, "form": form, "logo_form": LogoForm()},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def upload_logo(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    logo_form = LogoForm(request.POST, request.FILES)
    if logo_form.is_valid():
        logo = logo_form.cleaned_data["logo"]
        logo.name = f"{group.public_id}.png"
        actions.do_update_group(actor=request.user, group=group, changes={"logo": logo})
        messages.success(request, _("Logo saved."))
        return redirect("groups:settings", public_id=group.public_id)
    return render(
        request,
        "groups/settings.html",
        {"group": group, "form": GroupSettingsForm(instance=group), "logo_form": logo_form},
        status=400,
    )


@login_required
def request_subgroup(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    parent = access_group(request.user, public_id, "administer")
    return _request_group(request, parent=parent)


@login_required
def archive(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    if request.method == "POST":
        actions.do_archive_group(actor=request.user, group=group)
        messages.success(request, _("%(group)s is archived.") % {"group": group.name})
        return redirect("groups:page", slug=group.slug)
    return render(request, "groups/archive.html", {"group": group})


@login_required
def figures(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Counts for each group below this one: never people."""
    group = access_group(request.user, public_id, "see_figures")
    below = descendant_ids([group.pk])
    sub_groups = (
        Group.objects.filter(pk__in=below)
        .annotate(
            members=Count("memberships", distinct=True),
            organisers=Count("memberships", filter=Q(memberships__role="organiser"), distinct=True),
            waiting=Count(
                "join_requests", filter=Q(join_requests__status="pending"), distinct=True
            ),
        )
        .order_by("name")
    )
    return render(request, "groups/figures.html", {"group": group, "sub_groups": sub_groups})


@login_required
def approvals(request: AuthenticatedRequest) -> HttpResponse:
    pending = group_policy.groups_for(request.user, "approve").select_related("parent")
    return render(request, "groups/approvals.html", {"pending": pending, "form": DecisionForm()})


@login_required
@require_POST
def decide_group(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "approve")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or decline."))
        return redirect("groups:approvals")
    approve = form.cleaned_data["decision"] == "approve"
    actions.do_decide_group(
        actor=request.user, group=group, approve=approve, reason=form.cleaned_data["reason"]
    )
    messages.success(
        request,
        (_("%(group)s is approved.") if approve else _("%(group)s is declined."))
        % {"group": group.name},
    )
    return redirect(reverse("groups:approvals"))


@login_required
@require_POST
def answer_invitation(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Join a group that invited you, or say no thanks; only your own open invitations."""
    invitation = (
        GroupInvitation.objects.filter(
            public_id=public_id, user=request.user, answered_at__isnull=True
        )
        .select_related("group")
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    accept = request.POST.get("decision") == "join"
    actions.do_answer_invitation(user=request.user, invitation=invitation, accept=accept)
    if accept:
        messages.success(
            request, _("You have joined %(group)s.") % {"group": invitation.group.name}
        )
    else:
        messages.success(
            request,
            _("No thanks it is: %(group)s will not ask again.") % {"group": invitation.group.name},
        )
    return redirect("me")
