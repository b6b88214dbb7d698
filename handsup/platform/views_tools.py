"""The tools registry's pages: the registry, a tool's page, submitting and editing a
tool, marking it used, "help wanted", and the curators' queue.

Who is named: the people maintaining a tool added themselves, and their names are shown
to signed-in readers (each showing logged in the access log, purpose
"tool_maintainers"). Anonymous readers see the maintaining groups and how many people
maintain it, never a person's name.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.models import Group
from handsup.groups.permissions import curates_stories, group_policy
from handsup.messaging.rendering import markdown_to_html
from handsup.needs.actions import NeedRuleBroken
from handsup.needs.permissions import need_policy
from handsup.platform import tools
from handsup.platform.forms_tools import HelpNeedForm, ReviewForm, ToolForm, UsedByForm
from handsup.platform.models import Tool
from handsup.privacy.access import log_access

PAGE_SIZE = 30
QUEUE_SIZE = 200


# --- Reading -------------------------------------------------------------------------------


def registry(request: HttpRequest) -> HttpResponse:
    """Published tools: search words, a tag and a stage narrow the list."""
    query = " ".join(request.GET.get("q", "").split())[: tools.SEARCH_MAX_LENGTH]
    tag = request.GET.get("tag", "").strip().lower()
    stage = request.GET.get("status", "").strip()
    problems = []
    if tag and not tools.TAG_PATTERN.match(tag):
        problems.append(_("“%(tag)s” isn't a tag: tags are short words.") % {"tag": tag[:40]})
    if stage and stage not in Tool.Status.values:
        problems.append(_("Choose a stage from the list."))
    published = tools.published_tools()
    context: dict[str, Any] = {
        "query": query,
        "tag": tag,
        "stage": stage,
        "stages": Tool.Status.choices,
        "tag_counts": tools.tag_counts(published),
        "problems": problems,
        "filtered": bool(query or tag or stage),
        "may_curate": curates_stories(request.user),
    }
    if problems:
        return render(request, "platform/tools.html", {**context, "page": None}, status=400)
    found = published
    if query:
        found = tools.matching(found, query)
    if tag:
        found = tools.with_tag(found, tag)
    if stage:
        found = found.filter(status=stage)
    found = found.annotate(groups_using=Count("used_by", distinct=True)).order_by("name", "pk")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "platform/tools.html", {**context, "page": page})


def _tool_page(
    request: HttpRequest,
    tool: Tool,
    *,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    signed_in = user.is_authenticated
    maintainers = tools.maintainer_names(tool)
    if signed_in and maintainers:
        log_access(
            actor=user,
            subjects=[user_id for user_id, _name in maintainers],
            purpose="tool_maintainers",
            fields=["display_name"],
        )
    may_edit = signed_in and tools.tool_policy.allows(user, "edit", tool)
    may_ask = signed_in and tools.tool_policy.allows(user, "ask_for_help", tool)
    organised: list[Group] = (
        list(group_policy.groups_for(user, "organise").order_by("name"))
        if signed_in and tool.review == Tool.Review.PUBLISHED
        else []
    )
    used_by = tools.public_groups(tool.used_by.all())
    using_ids = {group.pk for group in used_by}
    return render(
        request,
        "platform/tool.html",
        {
            "tool": tool,
            "description_html": markdown_to_html(tool.description),
            "maintainer_names": [name for _id, name in maintainers] if signed_in else [],
            "maintainer_count": len(maintainers),
            "maintainer_groups": tools.public_groups(tool.maintainer_groups.all()),
            "used_by": used_by,
            "my_groups": [(group, group.pk in using_ids) for group in organised],
            "help_needs": tools.open_help_needs(tool),
            "draft_help_needs": tools.draft_help_needs(tool) if may_ask else [],
            "may_edit": may_edit,
            "may_ask": may_ask,
            "may_curate": signed_in and curates_stories(user),
        },
        status=status,
    )


def tool_page(request: HttpRequest, public_id: str) -> HttpResponse:
    tool = tools.access_tool(request.user, public_id, "read")
    return _tool_page(request, tool)


# --- Submitting and editing ----------------------------------------------------------------


@login_required
def new_tool(request: AuthenticatedRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = ToolForm(request.POST if posted else None, user=request.user)
    status, problem = 200, None
    if posted:
        if form.is_spam:
            # Looks exactly like success to whoever filled it in; nothing is kept.
            return redirect("platform:tool_submitted")
        try:
            tools.check_can_submit(request.user)
        except tools.ToolRuleBroken as refusal:
            status, problem = 429, str(refusal)
        else:
            if not form.is_valid():
                status = 400
            else:
                try:
                    tool = tools.do_submit_tool(
                        submitter=request.user,
                        details=form.details(),
                        groups=form.groups,
                        maintains=bool(form.cleaned_data.get("maintains")),
                    )
                except tools.ToolRuleBroken as refusal:
                    # Another submission of theirs got in first and reached the limit.
                    status, problem = 429, str(refusal)
                else:
                    messages.success(
                        request,
                        _(
                            "Thank you: “%(name)s” is with our curators. We'll tell you when "
                            "it is in the registry."
                        )
                        % {"name": tool.name},
                    )
                    return redirect("platform:tool", public_id=tool.public_id)
    return render(
        request,
        "platform/tool_form.html",
        {"form": form, "tool": None, "problem": problem},
        status=status,
    )


@login_required
def tool_submitted(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "platform/tool_submitted.html")


@login_required
def edit_tool(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    tool = tools.access_tool(request.user, public_id, "edit")
    posted = request.method == "POST"
    form = ToolForm(request.POST if posted else None, user=request.user, tool=tool)
    if posted and form.is_valid():
        tool = tools.do_edit_tool(
            actor=request.user,
            tool=tool,
            details=form.details(),
            groups=form.groups,
            maintains=bool(form.cleaned_data.get("maintains")),
        )
        messages.success(
            request,
            _("Your changes are saved and back with our curators.")
            if tool.review == Tool.Review.PENDING
            else _("Your changes are saved."),
        )
        if tools.tool_policy.allows(request.user, "read", tool):
            return redirect("platform:tool", public_id=tool.public_id)
        return redirect("platform:tools")
    return render(
        request,
        "platform/tool_form.html",
        {"form": form, "tool": tool, "problem": None},
        status=400 if posted else 200,
    )


# --- Groups that use it --------------------------------------------------------------------


@login_required
@require_POST
def used_by(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """An organiser says their group uses the tool (uses=on), or no longer does (off)."""
    tool = tools.access_tool(request.user, public_id, "read")
    if tool.review != Tool.Review.PUBLISHED:
        raise Http404("No such tool.")
    form = UsedByForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("platform:tool", public_id=tool.public_id)
    group = (
        group_policy.groups_for(request.user, "organise")
        .filter(pk=form.cleaned_data["group"])
        .first()
    )
    if group is None:
        # The same for a group that doesn't exist and one they don't organise.
        raise Http404("No such group.")
    if form.cleaned_data["uses"] == "on":
        tools.do_mark_used_by(actor=request.user, tool=tool, group=group)
        messages.success(
            request, _("%(group)s is listed as using this tool.") % {"group": group.name}
        )
    else:
        tools.do_unmark_used_by(actor=request.user, tool=tool, group=group)
        messages.success(
            request, _("%(group)s is no longer listed as using it.") % {"group": group.name}
        )
    return redirect("platform:tool", public_id=tool.public_id)


# --- Help wanted ---------------------------------------------------------------------------


@login_required
def help_need(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """ "Help wanted": a draft need of a group the maintainer organises."""
    tool = tools.access_tool(request.user, public_id, "read")
    if not tools.tool_policy.allows(request.user, "ask_for_help", tool):
        if tools.tool_policy.allows(request.user, "edit", tool):
            messages.error(
                request, _("Once the tool is published you can ask for help with it here.")
            )
            return redirect("platform:tool", public_id=tool.public_id)
        raise PermissionDenied
    groups = tools.groups_for_help(request.user)
    if not groups:
        # Nothing is written, so a POST gets the same explanation.
        return render(
            request,
            "platform/tool_help_nobody.html",
            {"tool": tool},
            status=200 if request.method == "GET" else 400,
        )
    form = HelpNeedForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        try:
            help_row = tools.do_open_tool_help_need(
                actor=request.user, tool=tool, group=form.chosen_group, ask=form.ask
            )
        except (NeedRuleBroken, tools.ToolRuleBroken) as refusal:
            form.add_error(None, str(refusal))
        else:
            need = help_row.need
            messages.success(
                request,
                _(
                    "“%(title)s” is saved as a draft. Check it here, then publish it from "
                    "your group's needs: it shows on the tool's page once it is open."
                )
                % {"title": need.title},
            )
            if need_policy.allows(request.user, "manage", need):
                return redirect(
                    "needs:edit", public_id=need.group.public_id, need_id=need.public_id
                )
            return redirect("platform:tool", public_id=tool.public_id)
    return render(
        request,
        "platform/tool_help_form.html",
        {"tool": tool, "form": form},
        status=400 if form.is_bound else 200,
    )


# --- Curators ------------------------------------------------------------------------------


def _require_curator(user: Any) -> None:
    if not curates_stories(user):
        raise PermissionDenied


@login_required
def queue(request: AuthenticatedRequest) -> HttpResponse:
    _require_curator(request.user)
    waiting = Tool.objects.filter(tools.waiting_for_curators()).count()
    return render(
        request,
        "platform/tool_queue.html",
        {
            "tools": list(tools.curators_queue()[:QUEUE_SIZE]),
            "waiting": waiting,
            "queue_size": QUEUE_SIZE,
        },
    )


@login_required
def review(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    tool = tools.access_tool(request.user, public_id, "curate")
    form = ReviewForm(request.POST or None)
    problem = None
    if request.method == "POST" and form.is_valid():
        try:
            tools.check_can_review(tool, publish=form.publish, note=form.cleaned_data["note"])
            recheck = tool.review == Tool.Review.PUBLISHED
            tool = tools.do_review_tool(
                actor=request.user,
                tool=tool,
                publish=form.publish,
                note=form.cleaned_data["note"],
            )
        except tools.ToolRuleBroken as refusal:
            problem = str(refusal)
        else:
            if form.publish and recheck:
                done = _("“%(name)s” is checked and stays published.")
            elif form.publish:
                done = _("“%(name)s” is published; the person who sent it has been told.")
            else:
                done = _("“%(name)s” is rejected; the person who sent it has been told why.")
            messages.success(request, done % {"name": tool.name})
            return redirect("platform:tool_queue")
    return render(
        request,
        "platform/tool_review.html",
        {
            "tool": tool,
            "form": form,
            "problem": problem,
            "description_html": markdown_to_html(tool.description),
            "maintainer_groups": list(tool.maintainer_groups.order_by("name")),
            "maintainer_count": tool.maintainers.count(),
        },
        status=400 if form.is_bound else 200,
    )
