"""The messaging pages: an organiser's composer and history, campaign periods, and each
volunteer's own contact ledger with its unsubscribe controls.

Permissions come from the group policy (`access_group`); what is decided for whom comes
from `pacing` alone. The composer shows `pacing.preview` before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.internal.flows.email_verification import send_verification_email_for_user
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group, Membership
from handsup.groups.permissions import is_platform_admin
from handsup.messaging import actions
from handsup.messaging.models import (
    CampaignPeriod,
    ContactLimits,
    Decision,
    Kind,
    LedgerEntry,
    Message,
    OutboxItem,
    Reason,
    Unsubscribe,
)
from handsup.messaging.pacing import PacingCounts, preview
from handsup.messaging.rendering import markdown_problems, markdown_to_html, markdown_to_text
from handsup.messaging.tracking import active_suppression
from handsup.people.models import Profile, Skill

LEDGER_ROWS = 100
EMAIL_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")
HISTORY_ROWS = 50


# --- Composing a group update -------------------------------------------------------------


class ComposeForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Message"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy(
            "Plain text, with **bold**, *italic*, lists, headings (#) and links "
            "(https://…). No pictures or HTML: every email stays light and safe."
        ),
    )
    audience = forms.ChoiceField(
        label=gettext_lazy("Who it goes to"),
        choices=[
            ("all", gettext_lazy("Every member of the group")),
            ("skill", gettext_lazy("Members with a skill")),
            ("area", gettext_lazy("Members in a postcode area or district")),
        ],
        initial="all",
        widget=forms.RadioSelect,
    )
    skill = forms.ModelChoiceField(
        label=gettext_lazy("Skill"),
        queryset=Skill.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("Choose a skill"),
    )
    area = forms.CharField(
        label=gettext_lazy("Postcode area or district"),
        max_length=4,
        required=False,
        help_text=gettext_lazy("Like M for all of Manchester, or M14 for one district."),
    )

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        problems = markdown_problems(body)
        if problems:
            raise ValidationError(problems)
        return body

    def clean_area(self) -> str:
        area = str(self.cleaned_data.get("area", "")).strip().upper().replace(" ", "")
        if area and not (area[:1].isalpha() and area.isalnum()):
            raise ValidationError(_("Type a postcode area (like M) or district (like M14)."))
        return area

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("audience") == "skill" and not data.get("skill"):
            self.add_error("skill", _("Choose the skill the members should have."))
        if data.get("audience") == "area" and not data.get("area"):
            self.add_error("area", _("Type the postcode area or district."))
        return data

    def audience_for(self, group: Group) -> QuerySet[Any, Any]:
        """The chosen members, as a queryset of user ids (what pacing takes)."""
        members = Membership.objects.filter(group=group)
        choice = self.cleaned_data["audience"]
        if choice == "skill":
            members = members.filter(user__person__skills__skill=self.cleaned_data["skill"])
        elif choice == "area":
            area = self.cleaned_data["area"]
            if area.isalpha():  # "M" is M1…M99, never ML (another area)
                members = members.filter(user__person__district__regex=rf"^{area}[0-9]")
            else:
                members = members.filter(user__person__district=area)
        return members.values("user_id").distinct()

    def describe(self) -> str:
        choice = self.cleaned_data["audience"]
        if choice == "skill":
            return _("Members with the skill %(skill)s") % {"skill": self.cleaned_data["skill"]}
        if choice == "area":
            return _("Members in %(area)s") % {"area": self.cleaned_data["area"]}
        return _("Every member")


@dataclass(frozen=True)
class CountRow:
    decision: str
    label: str
    count: int
    reasons: list[tuple[str, int]]


DECISION_LABELS = {
    Decision.SENT: gettext_lazy("Sent now"),
    Decision.HELD: gettext_lazy("Held until their quiet hours end"),
    Decision.FOLDED: gettext_lazy("Folded into their next digest (over their budget)"),
    Decision.SUPPRESSED: gettext_lazy("Not sent"),
}


def count_rows(counts: PacingCounts) -> list[CountRow]:
    reason_labels = dict(Reason.choices)
    return [
        CountRow(
            decision=decision,
            label=str(label),
            count=counts.count(decision),
            reasons=[
                (str(reason_labels.get(reason, reason)), n)
                for reason, n in sorted(counts.reasons(decision).items())
                if decision != Decision.SENT
            ],
        )
        for decision, label in DECISION_LABELS.items()
    ]


def _draft(group: Group, form: ComposeForm, author: Any) -> Message:
    body = form.cleaned_data["body"]
    return Message(
        kind=Kind.GROUP_UPDATE,
        group=group,
        author=author,
        subject=form.cleaned_data["subject"].strip(),
        body_markdown=body,
        body_html=markdown_to_html(body),
        body_text=markdown_to_text(body),
        audience_description=form.describe(),
    )


@login_required
def compose(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    form = ComposeForm(request.POST or None)
    counts: PacingCounts | None = None
    draft: Message | None = None
    problem = ""
    if request.method == "POST" and form.is_valid():
        audience = form.audience_for(group)
        draft = _draft(group, form, request.user)
        if not audience.exists():
            problem = _("Nobody is in this audience: choose who the message goes to.")
        elif request.POST.get("action") == "send":
            with transaction.atomic():
                message = actions.do_create_message(
                    author=request.user,
                    kind=draft.kind,
                    group=group,
                    subject=draft.subject,
                    body_markdown=draft.body_markdown,
                    body_html=draft.body_html,
                    body_text=draft.body_text,
                    audience_description=draft.audience_description,
                )
                sent = actions.do_send_message(
                    actor=request.user, message=message, audience=audience
                )
            messages.success(
                request,
                _(
                    "Sent to %(sent)d now; %(held)d held for quiet hours, %(folded)d folded "
                    "into digests, %(suppressed)d not sent."
                )
                % {
                    "sent": sent.sent,
                    "held": sent.held,
                    "folded": sent.folded,
                    "suppressed": sent.suppressed,
                },
            )
            return redirect("messaging:history", public_id=group.public_id)
        else:
            counts = preview(draft, audience)
    status = 400 if (form.is_bound and (form.errors or problem)) else 200
    return render(
        request,
        "messaging/compose.html",
        {
            "group": group,
            "form": form,
            "draft": draft,
            "problem": problem,
            "counts": counts,
            "rows": count_rows(counts) if counts else [],
        },
        status=status,
    )


@login_required
def history(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    sent = list(
        Message.objects.filter(group=group, sent_at__isnull=False)
        .select_related("author")
        .order_by("-sent_at")[:HISTORY_ROWS]
    )
    delivering = any(m.delivered_count + m.failed_count < m.sent_count + m.held_count for m in sent)
    template = "messaging/_history_table.html" if request.htmx else "messaging/history.html"  # type: ignore[attr-defined]
    return render(request, template, {"group": group, "sent": sent, "delivering": delivering})


# --- Campaign periods ---------------------------------------------------------------------


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
            self.add_error("ends_at", _("A campaign period must end after it starts."))
        return data


def _campaigns(request: AuthenticatedRequest, group: Group | None) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.do_declare_campaign_period(
            actor=request.user,
            name=form.cleaned_data["name"],
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            group=group,
        )
        messages.success(request, _("Campaign period declared."))
        return redirect(request.path)
    periods = CampaignPeriod.objects.filter(group=group).order_by("-starts_at")[:50]
    return render(
        request,
        "messaging/campaigns.html",
        {"group": group, "form": form, "periods": periods, "now": timezone.now()},
        status=400 if form.is_bound else 200,
    )


@login_required
def group_campaigns(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    return _campaigns(request, group)


@login_required
def movement_campaigns(request: AuthenticatedRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise Http404("No such page.")
    return _campaigns(request, None)


# --- The volunteer's own ledger -----------------------------------------------------------


class UnsubscribeForm(forms.Form):
    scope = forms.ChoiceField(choices=Unsubscribe.Scope.choices)
    group = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=[("", ""), *Kind.choices], required=False)


@login_required
def my_messages(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        return _change_subscription(request)
    entries = list(
        LedgerEntry.objects.filter(user=user)
        .select_related("message", "group")
        .order_by("-at", "-pk")[:LEDGER_ROWS]
    )
    my_groups = list(
        Group.objects.filter(memberships__user=user)
        .select_related("parent__parent__parent")  # the whole tree is four levels deep
        .order_by("name")
        .distinct()
    )
    # Periods covering any of my groups: declared for it or an ancestor, or movement-wide.
    chain = {group.pk for group in my_groups}
    chain.update(ancestor.pk for group in my_groups for ancestor in group.ancestors())
    campaigns = list(
        CampaignPeriod.objects.active_at(timezone.now())
        .filter(Q(group__isnull=True) | Q(group_id__in=chain))
        .select_related("group")
        .order_by("starts_at", "pk")
    )
    profile = Profile.objects.filter(person__user=user).first()
    return render(
        request,
        "messaging/my_messages.html",
        {
            "suppression": active_suppression(user),
            "entries": entries,
            "groups": my_groups,
            "campaigns": campaigns,
            "profile": profile,
            "unsubscribes": Unsubscribe.objects.filter(user=user).select_related("group"),
            "kinds": [(value, label) for value, label in Kind.choices if value != Kind.SERVICE],
        },
    )


def _change_subscription(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if "confirm_address" in request.POST:
        # The link's click (allauth's `email_confirmed`) lifts the suppression: proof
        # that mail reaches the address again. allauth rate-limits these emails.
        send_verification_email_for_user(request, user)
        return redirect("messaging:mine")
    if "resubscribe" in request.POST:
        found = Unsubscribe.objects.filter(user=user, pk=request.POST["resubscribe"]).first()
        if found is not None:
            actions.do_resubscribe(user=user, unsubscribe=found)
            messages.success(request, _("You will get those messages again."))
        return redirect("messaging:mine")
    form = UnsubscribeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what to stop."))
        return redirect("messaging:mine")
    scope = form.cleaned_data["scope"]
    group = None
    if scope == Unsubscribe.Scope.GROUP:
        group = Group.objects.filter(
            public_id=form.cleaned_data["group"], memberships__user=user
        ).first()
        if group is None:
            messages.error(request, _("Choose one of your groups."))
            return redirect("messaging:mine")
    kind = form.cleaned_data["kind"] if scope == Unsubscribe.Scope.KIND else ""
    if scope == Unsubscribe.Scope.KIND and not kind:
        messages.error(request, _("Choose the kind of message to stop."))
        return redirect("messaging:mine")
    actions.do_unsubscribe(user=user, scope=scope, group=group, kind=kind, via="web")
    messages.success(request, _("Done: you will not get those messages any more."))
    return redirect("messaging:mine")


# --- The movement's hard limits -----------------------------------------------------------


class ContactLimitsForm(forms.ModelForm[ContactLimits]):
    class Meta:
        model = ContactLimits
        fields = [
            "group_updates_per_day",
            "group_updates_per_week_normal",
            "group_updates_per_week_campaign",
            "asks_per_day",
            "asks_per_week_normal",
            "asks_per_week_campaign",
            "news_per_day",
            "news_per_week_normal",
            "news_per_week_campaign",
        ]


@login_required
def contact_limits(request: AuthenticatedRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise Http404("No such page.")
    form = ContactLimitsForm(request.POST or None, instance=ContactLimits.current())
    if request.method == "POST" and form.is_valid():
        actions.do_set_contact_limits(
            actor=request.user, **{name: form.cleaned_data[name] for name in form.fields}
        )
        messages.success(request, _("Contact limits saved."))
        return redirect("messaging:contact_limits")
    return render(
        request,
        "messaging/contact_limits.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


# --- Dead letters (platform admins) -------------------------------------------------------


@dataclass(frozen=True)
class DeadLetters:
    message: Message
    count: int
    reasons: list[tuple[str, int]]


@login_required
def dead_letters(request: AuthenticatedRequest) -> HttpResponse:
    """Messages some of whose mail was given up on, with why; nobody is named here."""
    if not is_platform_admin(request.user):
        raise Http404("No such page.")
    if request.method == "POST":
        message = Message.objects.filter(public_id=request.POST.get("message", "")).first()
        if message is None:
            raise Http404("No such message.")
        retried = actions.do_retry_dead_letters(actor=request.user, message=message)
        messages.success(request, _("%(n)d emails will be tried again from now.") % {"n": retried})
        return redirect("messaging:dead_letters")
    rows = (
        OutboxItem.objects.filter(status=OutboxItem.Status.DEAD)
        .values("message_id", "last_error")
        .annotate(count=Count("id"))
        .order_by("message_id", "-count")
    )
    by_message: dict[int, list[tuple[str, int]]] = {}
    for row in rows:
        # Mail servers often quote the address they refused: nobody is named here.
        reason = EMAIL_ADDRESS.sub(_("[an address]"), row["last_error"])
        by_message.setdefault(row["message_id"], []).append((reason, row["count"]))
    found = Message.objects.filter(pk__in=by_message).select_related("group").order_by("-sent_at")
    letters = [
        DeadLetters(message=m, count=sum(n for _r, n in by_message[m.pk]), reasons=by_message[m.pk])
        for m in found[:100]
    ]
    return render(request, "messaging/dead_letters.html", {"letters": letters})
