"""Putting your hand up (four short steps) and keeping your own profile.

Every page here is about the signed-in person, so no URL carries an id. The profile's
edit pages reuse the onboarding steps' forms and actions; only where they go next, and
the words around them, differ.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.account.utils import complete_signup
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.core.http import AuthenticatedRequest
from handsup.people import actions
from handsup.people.forms import (
    DISCOVERABILITY_CHOICES,
    LANGUAGES,
    SLOTS,
    AboutForm,
    AvailabilityForm,
    ContactForm,
    DateAwayForm,
    Discoverability,
    PersonDetailsForm,
    SkillsForm,
    StartForm,
    TravelForm,
    availability_grid,
)
from handsup.people.models import DateAway, Person, PersonSkill, Profile
from handsup.privacy.consent import has_consent
from handsup.privacy.register import PurposeCode

STEP_COUNT = 4
PersonView = Callable[..., HttpResponse]


def _status(form_is_bound: bool) -> int:
    # A form sent back with problems is a 400, as on every other form of ours.
    return 400 if form_is_bound else 200


def with_person(view: PersonView) -> Callable[..., HttpResponse]:
    """Signed in, with a volunteer profile; anyone without one starts at step 1."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        person = Person.objects.filter(user=request.user).select_related("profile", "user").first()
        if person is None or not hasattr(person, "profile"):
            return redirect("people:hand_up")
        return view(request, person, *args, **kwargs)

    return wrapper


def _step_context(step: int, editing: bool) -> dict[str, Any]:
    return {"step": step, "step_count": STEP_COUNT, "editing": editing}


def _done(editing: bool, next_step: str, message: str, request: HttpRequest) -> HttpResponse:
    if editing:
        messages.success(request, message)
        return redirect("people:profile")
    return redirect(next_step)


# --- Step 1: who you are and roughly where ----------------------------------------------


def hand_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return _hand_up_signed_in(request)  # type: ignore[arg-type]
    form = StartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if User.objects.filter(email__iexact=email).exists():
            # As allauth's own sign-up does: tell the address's owner by email, and show
            # the same page as for a new account, so addresses can't be probed here.
            get_adapter().send_account_already_exists_mail(email)
            return redirect("account_email_verification_sent")
        person = actions.do_start_hand_up(
            full_name=form.cleaned_data["full_name"].strip(),
            place=form.cleaned_data["place"],
            email=email,
            password=form.cleaned_data["password"],
        )
        assert person.user is not None  # just created, with an account
        # allauth logs them in and sends the verification email (answerable later).
        return complete_signup(
            request,
            person.user,
            account_settings.EMAIL_VERIFICATION,
            reverse("people:skills"),
        )
    return render(
        request,
        "people/onboarding/start.html",
        {"form": form, **_step_context(1, False)},
        status=_status(form.is_bound),
    )


def _hand_up_signed_in(request: AuthenticatedRequest) -> HttpResponse:
    person = Person.objects.filter(user=request.user).first()
    if person is not None:
        if not PersonSkill.objects.filter(person=person).exists():
            return redirect("people:skills")
        return redirect("people:profile")
    form = PersonDetailsForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        actions.do_start_hand_up(
            full_name=form.cleaned_data["full_name"].strip(),
            place=form.cleaned_data["place"],
            user=request.user,
        )
        return redirect("people:skills")
    return render(
        request,
        "people/onboarding/start.html",
        {"form": form, **_step_context(1, False)},
        status=_status(form.is_bound),
    )


# --- Step 2: skills ---------------------------------------------------------------------


@with_person
def skills(request: AuthenticatedRequest, person: Person, editing: bool = False) -> HttpResponse:
    from handsup.people.taxonomy import search_skills

    held = list(PersonSkill.objects.filter(person=person).select_related("skill"))
    if request.method == "POST":
        form = SkillsForm(request.POST)
        query = request.POST.get("q", "").strip()
        searching = "search" in request.POST
    else:
        form = SkillsForm(None, initial=held)
        query = request.GET.get("q", "").strip()
        searching = bool(query)
    results = form.add_results(search_skills(query)) if query else []
    if request.headers.get("HX-Request") and request.method == "GET":
        # The type-ahead asks for the results list only.
        return render(
            request,
            "people/onboarding/_skill_results.html",
            {"results": results, "query": query, "level_choices": PersonSkill.Level.choices},
        )
    if request.method == "POST" and not searching and form.is_valid():
        actions.do_set_skills(person=person, actor=request.user, skills=form.cleaned())
        return _done(editing, "people:when", _("Your skills are saved."), request)
    invalid = request.method == "POST" and not searching
    return render(
        request,
        "people/onboarding/skills.html",
        {
            "form": form,
            "query": query,
            "results": results,
            "searched": bool(query),
            "level_choices": PersonSkill.Level.choices,
            **_step_context(2, editing),
        },
        status=400 if invalid else 200,
    )


# --- Step 3: when -----------------------------------------------------------------------


@with_person
def when(request: AuthenticatedRequest, person: Person, editing: bool = False) -> HttpResponse:
    form = AvailabilityForm.for_profile(person.profile, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.do_set_availability(
            person=person,
            actor=request.user,
            availability=form.availability,
            hours_normal=form.cleaned_data["hours_normal"],
            hours_campaign=form.cleaned_data["hours_campaign"],
        )
        return _done(editing, "people:contact", _("Your availability is saved."), request)
    return render(
        request,
        "people/onboarding/when.html",
        {"form": form, "slots": SLOTS, **_step_context(3, editing)},
        status=_status(form.is_bound),
    )


# --- Step 4: how to be asked, and who can find you --------------------------------------


def current_discoverability(user: User) -> str | None:
    if has_consent(user, PurposeCode.FOUND_MOVEMENT):
        return Discoverability.MOVEMENT
    if has_consent(user, PurposeCode.FOUND_MY_GROUPS):
        return Discoverability.MY_GROUPS
    from handsup.privacy.models import ConsentEvent

    recorded = ConsentEvent.objects.filter(
        user=user, purpose__code__in=Discoverability.PURPOSES
    ).exists()
    return Discoverability.NOBODY if recorded else None


@with_person
def contact(request: AuthenticatedRequest, person: Person, editing: bool = False) -> HttpResponse:
    form = ContactForm(
        request.POST or None,
        instance=person.profile,
        initial={"discoverability": current_discoverability(request.user)},
    )
    if request.method == "POST" and form.is_valid():
        choice = form.cleaned_data["discoverability"]
        explained = dict(DISCOVERABILITY_CHOICES)
        values = {name: form.cleaned_data[name] for name in actions.CONTACT_FIELDS}
        actions.do_set_contact_preferences(
            person=person,
            actor=request.user,
            found_by={
                purpose: purpose in Discoverability.GIVES[choice]
                for purpose in Discoverability.PURPOSES
            },
            wording={purpose: str(explained[choice]) for purpose in Discoverability.PURPOSES},
            **values,
        )
        if editing:
            return _done(editing, "", _("Your contact preferences are saved."), request)
        messages.success(
            request,
            _("Thank you: your hand is up. Groups can now ask you for help that fits."),
        )
        return redirect("people:profile")
    return render(
        request,
        "people/onboarding/contact.html",
        {"form": form, **_step_context(4, editing)},
        status=_status(form.is_bound),
    )


# --- The profile ------------------------------------------------------------------------


def missing_hints(
    person: Person, profile: Profile, *, has_skills: bool, verified: bool
) -> list[str]:
    """What would make this profile more useful, most important first."""
    hints = []
    if not verified:
        hints.append(_("Confirm your email address: groups can find you only once you have."))
    if not has_skills:
        hints.append(_("Add your skills so groups know what to ask you."))
    if not profile.availability:
        hints.append(_("Add your availability so groups know when to ask."))
    if person.point is None:
        hints.append(_("Add your postcode so groups near you can ask for help in person."))
    if not profile.languages:
        hints.append(_("Add the languages you speak or sign."))
    return hints


@with_person
def profile(request: AuthenticatedRequest, person: Person) -> HttpResponse:
    profile = person.profile
    held = list(
        PersonSkill.objects.filter(person=person).select_related("skill").order_by("skill__name")
    )
    verified = person.verified
    grid = availability_grid(profile.availability)
    language_names = dict(LANGUAGES)
    discoverability = current_discoverability(request.user)
    return render(
        request,
        "people/profile/profile.html",
        {
            "person": person,
            "profile": profile,
            "held": held,
            "verified": verified,
            "grid": grid,
            "slots": SLOTS,
            "languages": [str(language_names.get(code, code)) for code in profile.languages],
            "dates_away": DateAway.objects.filter(person=person),
            "discoverability": dict(DISCOVERABILITY_CHOICES).get(discoverability or ""),
            "hints": missing_hints(person, profile, has_skills=bool(held), verified=verified),
        },
    )


@with_person
def about(request: AuthenticatedRequest, person: Person) -> HttpResponse:
    form = AboutForm(request.POST or None, instance=person.profile)
    if request.method == "POST" and form.is_valid():
        actions.do_set_about(
            person=person,
            actor=request.user,
            talents=form.cleaned_data["talents"],
            languages=list(form.cleaned_data["languages"]),
            accessibility_needs=form.cleaned_data["accessibility_needs"],
        )
        return _done(True, "", _("Your talents, languages and needs are saved."), request)
    return render(
        request, "people/profile/about.html", {"form": form}, status=_status(form.is_bound)
    )


@with_person
def travel(request: AuthenticatedRequest, person: Person) -> HttpResponse:
    form = TravelForm(
        request.POST or None, initial={"travel_radius_km": person.profile.travel_radius_km}
    )
    if request.method == "POST" and form.is_valid():
        actions.do_set_travel_radius(
            person=person, actor=request.user, km=form.cleaned_data["travel_radius_km"]
        )
        return _done(True, "", _("How far you'll travel is saved."), request)
    return render(
        request, "people/profile/travel.html", {"form": form}, status=_status(form.is_bound)
    )


@with_person
def dates_away(request: AuthenticatedRequest, person: Person) -> HttpResponse:
    form = DateAwayForm(request.POST or None if "remove" not in request.POST else None)
    if request.method == "POST" and "remove" in request.POST:
        raw = request.POST["remove"]
        away = DateAway.objects.filter(person=person, pk=raw).first() if raw.isdigit() else None
        if away is None:
            raise Http404
        actions.do_remove_date_away(actor=request.user, date_away=away)
        messages.success(request, _("Those dates are removed."))
        return redirect("people:dates_away")
    if request.method == "POST" and form.is_valid():
        actions.do_add_date_away(
            person=person,
            actor=request.user,
            starts_on=form.cleaned_data["starts_on"],
            ends_on=form.cleaned_data["ends_on"],
        )
        messages.success(request, _("Those dates are saved: nobody will ask you then."))
        return redirect("people:dates_away")
    return render(
        request,
        "people/profile/dates_away.html",
        {"form": form, "dates_away": DateAway.objects.filter(person=person)},
        status=_status(form.is_bound),
    )
