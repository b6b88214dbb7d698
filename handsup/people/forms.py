"""Forms for putting your hand up and keeping your profile. Validation lives here;
the `do_*` actions in `actions.py` assume what they receive is valid."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from typing import Any

from allauth.account.adapter import get_adapter
from django import forms
from django.utils.translation import gettext_lazy as _

from handsup.people.actions import CONTACT_FIELDS
from handsup.people.models import DateAway, PersonSkill, Profile, Skill
from handsup.places.geo import Location, geocode
from handsup.places.postcodes import PlaceError
from handsup.privacy.register import PurposeCode

DAYS = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)
SLOTS = (_("morning"), _("afternoon"), _("evening"))
# The weekly grid as checkbox choices: bit `day * 3 + slot` of an availability number.
WEEKLY_SLOT_CHOICES = [
    (day * 3 + slot, f"{d} {s}") for day, d in enumerate(DAYS) for slot, s in enumerate(SLOTS)
]


def weekly_grid(values: Iterable[object] | None) -> list[tuple[str, list[tuple[int, str, bool]]]]:
    """A weekly-slots checkbox field's value as rows of (day, [(bit, label, checked)]),
    for the grid tables of the availability and needs forms."""
    chosen = {int(str(value)) for value in (values or [])}
    return [
        (
            str(day_name),
            [
                (day * 3 + slot, f"{day_name} {slot_name}", day * 3 + slot in chosen)
                for slot, slot_name in enumerate(SLOTS)
            ],
        )
        for day, day_name in enumerate(DAYS)
    ]


def availability_grid(availability: int) -> list[tuple[str, list[bool]]]:
    """The weekly grid as rows of (day, [free in the morning, afternoon, evening])."""
    return [
        (str(day), [bool(availability & (1 << (index * 3 + slot))) for slot in range(3)])
        for index, day in enumerate(DAYS)
    ]


# Languages people are asked about; anything else goes in "other talents".
LANGUAGES = (
    ("en", _("English")),
    ("cy", _("Welsh")),
    ("bfi", _("British Sign Language")),
    ("gd", _("Scottish Gaelic")),
    ("ga", _("Irish")),
    ("pl", _("Polish")),
    ("ro", _("Romanian")),
    ("ur", _("Urdu")),
    ("pa", _("Punjabi")),
    ("bn", _("Bengali")),
    ("gu", _("Gujarati")),
    ("ar", _("Arabic")),
    ("so", _("Somali")),
    ("ta", _("Tamil")),
    ("tr", _("Turkish")),
    ("yue", _("Cantonese")),
    ("zh", _("Mandarin")),
    ("fr", _("French")),
    ("es", _("Spanish")),
    ("pt", _("Portuguese")),
)


class Discoverability:
    """Who can find me, as one choice stored as consent events (never a profile field)."""

    MOVEMENT = "movement"
    MY_GROUPS = "my_groups"
    NOBODY = "nobody"

    # Which "be found" purposes each choice gives; the rest are withdrawn.
    GIVES: dict[str, frozenset[str]] = {
        MOVEMENT: frozenset({PurposeCode.FOUND_MOVEMENT}),
        MY_GROUPS: frozenset({PurposeCode.FOUND_MY_GROUPS}),
        NOBODY: frozenset(),
    }
    PURPOSES = (PurposeCode.FOUND_MOVEMENT, PurposeCode.FOUND_MY_GROUPS)


DISCOVERABILITY_CHOICES = (
    (
        Discoverability.MOVEMENT,
        _(
            "Any group in the movement: any group may find me when it needs help that fits "
            "my skills, my free time and where I am. Until I say yes to an invitation a group "
            "sees only my skills, roughly how far away I am and when I am free, never my name "
            "or how to contact me."
        ),
    ),
    (
        Discoverability.MY_GROUPS,
        _("Only my groups: only the groups I have joined may find me. Other groups never see me."),
    ),
    (
        Discoverability.NOBODY,
        _(
            "Nobody: no group can find me. I will only hear about help that is needed if I "
            "look for it myself."
        ),
    ),
)


def place_field() -> forms.CharField:
    return forms.CharField(
        label=_("Postcode, or just its first part"),
        max_length=10,
        help_text=_(
            "Like M1 1AE, or just M1. We use it only to suggest help near you, and never show "
            "it to groups."
        ),
    )


class PlaceMixin(forms.Form):
    """A postcode or district, with "I'll help remotely only" when it can't be placed."""

    remote_only = forms.BooleanField(
        label=_("I'll help remotely only"),
        required=False,
        help_text=_("Carry on without a location: groups can ask you for help done online."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"] = place_field()
        # Put the remote-only choice straight after the postcode it stands in for.
        self.order_fields([*(name for name in self.fields if name != "remote_only"), "remote_only"])
        if self.data.get(self.add_prefix("remote_only")):
            self.fields["place"].required = False
        self.offer_remote_only = bool(self.data.get(self.add_prefix("remote_only")))

    def clean_place(self) -> Location | None:
        raw = self.cleaned_data.get("place", "").strip()
        remote_only = bool(self.data.get(self.add_prefix("remote_only")))
        if not raw:
            return None
        try:
            return geocode(raw, fall_back_to_district=True)
        except PlaceError as error:
            if remote_only:
                return None
            self.offer_remote_only = True
            raise forms.ValidationError(error.message, code=error.code) from error


class StartForm(PlaceMixin):
    """Step 1: who you are and roughly where. Creates the account."""

    full_name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We'll send you a link to confirm it. You can do that later."),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters. A few words you'll remember work well."),
        required=False,
    )
    sign_in_by_code = forms.BooleanField(
        label=_("No password: email me a sign-in code instead"),
        required=False,
        help_text=_(
            "Leave the password empty and tick this. Each time you log in, we email you a "
            "short code to type in. You can set a password later."
        ),
    )

    field_order = ("full_name", "email", "password", "sign_in_by_code")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["place"].widget.attrs["autocomplete"] = "postal-code"

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not password:
            if self.data.get(self.add_prefix("sign_in_by_code")):
                return ""
            raise forms.ValidationError(
                _("Choose a password, or tick “email me a sign-in code” below."),
                code="required",
            )
        # allauth's adapter runs Django's password validators.
        return str(get_adapter().clean_password(password))


class PersonDetailsForm(PlaceMixin):
    """Step 1 for someone who already has an account but no volunteer profile yet."""

    full_name = forms.CharField(label=_("Your name"), max_length=200)
    field_order = ("full_name",)


LEVEL_CHOICES = PersonSkill.Level.choices
DEFAULT_LEVEL = PersonSkill.Level.CAPABLE


class SkillChoice:
    """One row of the skill picker: a skill, whether it is chosen, its level and remote."""

    def __init__(self, skill: Skill, *, chosen: bool, level: int, remote: bool) -> None:
        self.skill = skill
        self.chosen = chosen
        self.level = level
        self.remote = remote


class SkillsForm:
    """The skill picker, read straight from POST data so nothing ticked is lost between
    searches: `skill` (ticked ids), and per skill `level_<id>` and `remote_<id>`."""

    error: str = ""

    def __init__(self, data: Any, *, initial: list[PersonSkill] | None = None) -> None:
        self.data = data
        self.rows: dict[int, SkillChoice] = {}
        if data is None:
            for held in initial or []:
                self.rows[held.skill_id] = SkillChoice(
                    held.skill, chosen=True, level=held.level, remote=held.remote
                )
            return
        ids = {int(v) for v in data.getlist("skill") + data.getlist("shown") if v.isdigit()}
        ticked = {int(v) for v in data.getlist("skill") if v.isdigit()}
        for skill in Skill.objects.filter(pk__in=ids).order_by("name"):
            level = data.get(f"level_{skill.pk}", "")
            self.rows[skill.pk] = SkillChoice(
                skill,
                chosen=skill.pk in ticked,
                level=int(level)
                if level.isdigit() and int(level) in PersonSkill.Level.values
                else DEFAULT_LEVEL,
                remote=bool(data.get(f"remote_{skill.pk}")),
            )

    def add_results(self, skills: list[Skill]) -> list[SkillChoice]:
        """Search results not already shown, as unticked rows."""
        added = []
        for skill in skills:
            if skill.pk not in self.rows:
                self.rows[skill.pk] = SkillChoice(
                    skill, chosen=False, level=DEFAULT_LEVEL, remote=False
                )
                added.append(self.rows[skill.pk])
        return added

    @property
    def chosen(self) -> list[SkillChoice]:
        return [row for row in self.rows.values() if row.chosen]

    @property
    def others(self) -> list[SkillChoice]:
        return [row for row in self.rows.values() if not row.chosen]

    def is_valid(self) -> bool:
        if not self.chosen:
            self.error = str(_("Choose at least one skill. Search for what you can do."))
            return False
        return True

    def cleaned(self) -> list[tuple[Skill, int, bool]]:
        return [(row.skill, row.level, row.remote) for row in self.chosen]


class AvailabilityForm(forms.Form):
    """Step 3: a weekly grid of 7 days × 3 parts of the day, and hours a week."""

    slots = forms.TypedMultipleChoiceField(
        label=_("When can you usually help?"),
        choices=WEEKLY_SLOT_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    hours_normal = forms.IntegerField(
        label=_("Hours a week, normally"), min_value=0, max_value=80, initial=2
    )
    hours_campaign = forms.IntegerField(
        label=_("Hours a week, during campaigns"),
        min_value=0,
        max_value=80,
        initial=4,
        help_text=_("Before an election or a big push, when you might give a bit more."),
    )

    @classmethod
    def for_profile(cls, profile: Profile, data: Any = None) -> AvailabilityForm:
        slots = [bit for bit in range(21) if profile.availability & (1 << bit)]
        return cls(
            data,
            initial={
                "slots": slots,
                "hours_normal": profile.hours_normal,
                "hours_campaign": profile.hours_campaign,
            },
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        normal, campaign = cleaned.get("hours_normal"), cleaned.get("hours_campaign")
        if normal is not None and campaign is not None and campaign < normal:
            self.add_error(
                "hours_campaign",
                _("Hours during campaigns can't be fewer than your normal %(hours)d hours a week.")
                % {"hours": normal},
            )
        return cleaned

    @property
    def availability(self) -> int:
        return sum(1 << bit for bit in self.cleaned_data.get("slots", []))

    def grid(self) -> list[tuple[str, list[tuple[int, str, bool]]]]:
        """Rows of (day, [(bit, label, checked)]) for the template's table."""
        return weekly_grid(self["slots"].value())


class ContactForm(forms.ModelForm):
    """Step 4: how to be asked, and who can find me (stored as consent)."""

    discoverability = forms.ChoiceField(
        label=_("Who can find you when they need help?"),
        choices=DISCOVERABILITY_CHOICES,
        widget=forms.RadioSelect,
        help_text=_("You can change this at any time. We keep a record of each choice."),
    )

    class Meta:
        model = Profile
        fields = list(CONTACT_FIELDS)
        labels = {
            "contact_by_email": _("Email me"),
            "contact_by_phone": _("Phone or text me"),
            "contact_by_post": _("Write to me"),
        }
        help_texts = {
            "phone": _("Only if you want to be phoned or texted."),
            "postal_address": _("Only if you want letters."),
            "asks_per_week_normal": _("Groups stop asking you once you reach it."),
            "quiet_from": _("No texts or calls between these times. Like 21:00."),
            "quiet_until": _("Like 08:00."),
            "time_zone": _("Europe/London unless you live elsewhere."),
        }
        widgets = {
            "postal_address": forms.Textarea(attrs={"rows": 3}),
            "quiet_from": forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
            "quiet_until": forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        }

    def preference_fields(self) -> list[forms.BoundField]:
        """Everything but who can find you and the channels, which have their own groups."""
        return [self[name] for name in self.Meta.fields if not name.startswith("contact_by_")]

    def clean_time_zone(self) -> str:
        value = str(self.cleaned_data["time_zone"]).strip()
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(
                _("“%(value)s” isn't a time zone we know. Use a name like Europe/London.")
                % {"value": value},
                code="time_zone",
            ) from None
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The model's check constraints repeat these rules; the messages here are better.
        self._validate_constraints = False
        quiet_from, quiet_until = cleaned.get("quiet_from"), cleaned.get("quiet_until")
        if quiet_from is not None and quiet_from == quiet_until:
            self.add_error(
                "quiet_until",
                _(
                    "Quiet hours can't cover the whole day: choose a different end time, or "
                    "we could never contact you."
                ),
            )
        normal, campaign = (
            cleaned.get("asks_per_week_normal"),
            cleaned.get("asks_per_week_campaign"),
        )
        if normal is not None and campaign is not None and campaign < normal:
            self.add_error(
                "asks_per_week_campaign",
                _("Asks during campaigns can't be fewer than your normal %(n)d a week.")
                % {"n": normal},
            )
        if normal is not None and campaign is not None:
            # A person may ask for fewer than the movement's hard limits, never more.
            from handsup.messaging.actions import check_personal_limits

            problems = check_personal_limits(
                asks_per_week_normal=normal, asks_per_week_campaign=campaign
            )
            for field, problem in problems.items():
                if field not in self.errors:
                    self.add_error(field, problem)
        if cleaned.get("contact_by_phone") and not cleaned.get("phone", "").strip():
            self.add_error("phone", _("Enter a phone number, or untick “Phone or text me”."))
        if cleaned.get("contact_by_post") and not cleaned.get("postal_address", "").strip():
            self.add_error("postal_address", _("Enter a postal address, or untick “Write to me”."))
        if not any(cleaned.get(f"contact_by_{channel}") for channel in ("email", "phone", "post")):
            self.add_error("contact_by_email", _("Choose at least one way to contact you."))
        return cleaned


class AboutForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages you speak or sign"),
        choices=LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Profile
        fields = ["talents", "languages", "accessibility_needs"]
        labels = {"accessibility_needs": _("Anything groups should know to include you")}
        help_texts = {
            "accessibility_needs": _(
                "For example step-free access, a quiet space, or written instructions. Only "
                "groups that invite you see this."
            )
        }
        widgets = {"accessibility_needs": forms.Textarea(attrs={"rows": 3})}


class DateAwayForm(forms.ModelForm):
    class Meta:
        model = DateAway
        fields = ["starts_on", "ends_on"]
        labels = {"starts_on": _("Away from"), "ends_on": _("Back on")}
        help_texts = {"starts_on": _("Like 2026-12-24.")}
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._validate_constraints = False
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The day you're back must be on or after the day you go."))
        return cleaned


class TravelForm(forms.Form):
    travel_radius_km = forms.IntegerField(
        label=_("How far will you travel to help, in kilometres?"),
        help_text=_("From 1 to 500 km. 10 km is about a 30 minute bus ride in a city."),
    )

    def clean_travel_radius_km(self) -> int:
        km: int = self.cleaned_data["travel_radius_km"]
        if not 1 <= km <= 500:
            raise forms.ValidationError(
                _("Enter a distance from 1 to 500 km (you entered %(km)d)."),
                params={"km": km},
                code="range",
            )
        return km


# The web sign-up's forms in step order: the printable paper form is drawn from these
# (see `offline_forms.web_signup_forms`). Step 2's skill picker is not a Django form.
ONBOARDING_FORMS: tuple[type[forms.BaseForm], ...] = (StartForm, AvailabilityForm, ContactForm)
