"""People who are not online: registering them, their claim letter, claiming, and paper.

Every page that shows an offline person's details to an organiser writes the access log
with the fields it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.cache import cache
from django.db.models import QuerySet
from django.forms.utils import pretty_name
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group
from handsup.people import offline
from handsup.people.models import Person
from handsup.people.offline_forms import ClaimForm, OfflinePersonForm, web_signup_forms
from handsup.privacy.access import log_access
from handsup.privacy.models import AuditEntry

# A person's details as the organiser's page shows them (access-log field names).
DETAIL_FIELDS = ["full_name", "email", "phone", "postal_address", "district"]
CLAIM_ATTEMPTS = 10  # wrong codes per address per window, before we ask them to wait
CLAIM_WINDOW_SECONDS = 15 * 60


def registered_offline_by(group: Group) -> QuerySet[Person]:
    """People `group` registered offline who have not claimed their account yet."""
    registered = AuditEntry.objects.filter(action=offline.REGISTERED_ACTION, group=group).values(
        "object_public_id"
    )
    return Person.objects.filter(
        public_id__in=registered,
        user__memberships__group=group,
        user__password__startswith=UNUSABLE_PASSWORD_PREFIX,
    )


def access_offline_person(group: Group, public_id: str) -> Person:
    """A person this group registered offline who has not claimed their account yet.

    Missing, in another group, or already claimed all look the same (404): once a person
    has their account, what the group sees of them is up to them.
    """
    person = (
        registered_offline_by(group)
        .filter(public_id=public_id)
        .select_related("user", "profile")
        .first()
    )
    if person is None or not offline.is_unclaimed(person):
        raise Http404("No such person.")
    return person


def _claim_link(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("people:claim"))


# --- Organisers ---------------------------------------------------------------------------


@login_required
def register_offline_person(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    form = OfflinePersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person, code = offline.do_register_offline_person(
            organiser=request.user,
            group=group,
            details=form.details(),
            claim_link=_claim_link(request),
        )
        if code:
            messages.success(
                request,
                _("%(name)s is registered. We have emailed them a code to claim their account.")
                % {"name": person.display_name},
            )
        else:
            messages.success(
                request,
                _("%(name)s is registered. Print a letter with their code to claim the account.")
                % {"name": person.display_name},
            )
        return redirect(
            "people:offline_person", public_id=group.public_id, person_id=person.public_id
        )
    waiting = list(registered_offline_by(group).order_by("display_name")[:50])
    log_access(
        actor=request.user,
        subjects=[person.user_id for person in waiting if person.user_id],
        purpose="offline_people",
        fields=["full_name"],
        group=group,
    )
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "people/offline/register.html",
        {"group": group, "form": form, "waiting": waiting},
        status=status,
    )


@login_required
def offline_person(request: AuthenticatedRequest, public_id: str, person_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    person = access_offline_person(group, person_id)
    assert person.user is not None
    has_email = not offline.has_placeholder_email(person.user)
    if request.method == "POST" and has_email:
        offline.do_issue_claim_code(
            organiser=request.user, person=person, group=group, email_link=_claim_link(request)
        )
        messages.success(
            request, _("We have emailed a new code. Any earlier code no longer works.")
        )
        return redirect("people:offline_person", public_id=group.public_id, person_id=person_id)
    log_access(
        actor=request.user,
        subjects=[person.user],
        purpose="offline_person",
        fields=DETAIL_FIELDS,
        group=group,
    )
    latest = person.claim_codes.order_by("-created_at", "-pk").first()
    return render(
        request,
        "people/offline/person.html",
        {
            "group": group,
            "person": person,
            "profile": getattr(person, "profile", None),
            "email": person.user.email if has_email else "",
            "latest_code": latest,
        },
    )


@login_required
def claim_letter(request: AuthenticatedRequest, public_id: str, person_id: str) -> HttpResponse:
    """GET explains; POST makes a new code and shows the letter to print."""
    group = access_group(request.user, public_id, "organise")
    person = access_offline_person(group, person_id)
    assert person.user is not None
    code = None
    if request.method == "POST":
        code = offline.do_issue_claim_code(organiser=request.user, person=person, group=group)
    fields = ["full_name", "postal_address"] if code else ["full_name"]
    log_access(
        actor=request.user,
        subjects=[person.user],
        purpose="offline_claim_letter",
        fields=fields,
        group=group,
    )
    template = "people/offline/letter.html" if code else "people/offline/letter_confirm.html"
    return render(
        request,
        template,
        {
            "group": group,
            "person": person,
            "profile": getattr(person, "profile", None),
            "code": code,
            "claim_link": _claim_link(request),
            "expires_days": offline.CLAIM_CODE_LIFETIME.days,
        },
    )


# --- The person ---------------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def claim_account(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        messages.info(request, _("You are already logged in."))
        return redirect("me")
    form = ClaimForm(request.POST or None)
    limit_key = f"handsup:claim-attempts:{_client_address(request)}"
    status = 200
    if request.method == "POST":
        status = 400
        if cache.get(limit_key, 0) >= CLAIM_ATTEMPTS:
            form.add_error(
                None,
                _("Too many wrong codes from here. Please wait 15 minutes and try again."),
            )
            status = 429
        elif form.is_valid():
            try:
                user = offline.do_claim_account(
                    code=form.cleaned_data["code"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                )
            except offline.ClaimRefused as refusal:
                cache.add(limit_key, 0, CLAIM_WINDOW_SECONDS)
                cache.incr(limit_key)
                form.add_error("code", str(refusal))
            else:
                login(request, user, backend="handsup.accounts.backends.RolesModelBackend")
                messages.success(request, _("Welcome to Hands Up. This account is yours now."))
                return redirect("me")
    return render(request, "people/offline/claim.html", {"form": form}, status=status)


@dataclass(frozen=True)
class PaperField:
    label: str
    help_text: str
    kind: str  # "line", "lines", "choices", "tick", "password"
    choices: list[str]


# Longer lists than this become write-in lines, so the form stays within two pages.
MAX_PRINTED_CHOICES = 24


def paper_fields(form_class: type[forms.BaseForm]) -> list[PaperField]:
    try:
        # Some forms add fields as they are made (the place field, for one).
        declared = form_class().fields
    except TypeError:
        declared = getattr(form_class, "base_fields", {})
    fields = []
    for name, field in declared.items():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        label = str(field.label) if field.label else pretty_name(name)
        choices = [str(text) for value, text in getattr(field, "choices", []) if value != ""]
        if isinstance(widget, forms.PasswordInput):
            kind = "password"
        elif isinstance(widget, forms.CheckboxInput):
            kind = "tick"
        elif choices and len(choices) <= MAX_PRINTED_CHOICES:
            kind = "choices"
        elif isinstance(widget, forms.Textarea) or choices:
            kind = "lines"
        else:
            kind = "line"
        fields.append(PaperField(label, str(field.help_text or ""), kind, choices))
    return fields


def printable_signup_form(request: HttpRequest) -> HttpResponse:
    sections = [paper_fields(form_class) for form_class in web_signup_forms()]
    return render(request, "people/offline/signup_form.html", {"sections": sections})


@login_required
def printable_profile(request: AuthenticatedRequest) -> HttpResponse:
    person = (
        Person.objects.filter(user=request.user)
        .select_related("profile")
        .prefetch_related("skills__skill", "dates_away")
        .first()
    )
    return render(
        request,
        "people/offline/profile_print.html",
        {"person": person, "profile": getattr(person, "profile", None) if person else None},
    )
