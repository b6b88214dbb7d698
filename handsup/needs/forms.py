"""The need form: one page, with rows for skills and times. Problems with the need as a
whole are checked by `actions.need_problems`, so the form and the actions can't disagree."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from handsup.needs.actions import NeedDetails, SkillWanted, TimeWindow, need_problems
from handsup.needs.matching import ShortlistFilters
from handsup.needs.models import MAX_RADIUS_KM, MIN_RADIUS_KM, Need
from handsup.people.forms import WEEKLY_SLOT_CHOICES, weekly_grid
from handsup.people.models import PersonSkill, Skill
from handsup.places.geo import Location, geocode
from handsup.places.postcodes import PlaceError

SKILL_ROWS = 6
WINDOW_ROWS = 4
REQUIRED_CHOICES = (("must", _("Must have")), ("nice", _("Nice to have")))
DATETIME_INPUT = "%Y-%m-%dT%H:%M"

# Where each problem from `need_problems` is shown.
PROBLEM_FIELD = {"skills": "skill_0", "windows": "window_0_start", "weekly_slots": "slots"}


def skill_choices() -> list[tuple[str, Any]]:
    """The taxonomy grouped by category, read once for every row of the form."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for skill in Skill.objects.select_related("category").order_by("category__position", "name"):
        groups.setdefault(skill.category.name, []).append((skill.pk, skill.name))
    return [("", _("Choose a skill")), *groups.items()]


class NeedForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("What the help is"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What people will do, and anything they should know first."),
    )
    location_kind = forms.ChoiceField(
        label=_("Where"), choices=Need.LocationKind.choices, widget=forms.RadioSelect
    )
    place = forms.CharField(
        label=_("Postcode, or just its first part (on site only)"),
        max_length=10,
        required=False,
        help_text=_("Volunteers see only the area, like “Manchester (M1)”, never the postcode."),
    )
    radius_km = forms.IntegerField(
        label=_("From how far may people come? (km, on site only)"),
        required=False,
        help_text=_("From %(low)d to %(high)d km.") % {"low": MIN_RADIUS_KM, "high": MAX_RADIUS_KM},
    )
    schedule_kind = forms.ChoiceField(
        label=_("When"), choices=Need.ScheduleKind.choices, widget=forms.RadioSelect
    )
    slots = forms.TypedMultipleChoiceField(
        label=_("Weekly slots (ongoing only)"),
        choices=WEEKLY_SLOT_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    hours = forms.DecimalField(
        label=_("Hours of effort for each person"),
        max_digits=4,
        decimal_places=1,
        help_text=_("For ongoing help, hours a week."),
    )
    people_needed = forms.IntegerField(label=_("People needed"))
    closes_on = forms.DateField(
        label=_("Closing date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The last day people can say yes."),
    )
    visibility = forms.ChoiceField(
        label=_("Who can see it"),
        choices=Need.Visibility.choices,
        widget=forms.RadioSelect,
        initial=Need.Visibility.MOVEMENT,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.filled_count: int = kwargs.pop("filled_count", 0)
        super().__init__(*args, **kwargs)
        choices = skill_choices()
        for row in range(SKILL_ROWS):
            self.fields[f"skill_{row}"] = forms.TypedChoiceField(
                label=_("Skill %(n)d") % {"n": row + 1},
                choices=choices,
                coerce=int,
                required=False,
                empty_value=None,
            )
            self.fields[f"level_{row}"] = forms.TypedChoiceField(
                label=_("Lowest level for skill %(n)d") % {"n": row + 1},
                choices=PersonSkill.Level.choices,
                coerce=int,
                initial=PersonSkill.Level.CAPABLE,
                required=False,
            )
            self.fields[f"must_{row}"] = forms.ChoiceField(
                label=_("Must have or nice to have, skill %(n)d") % {"n": row + 1},
                choices=REQUIRED_CHOICES,
                initial="must",
                required=False,
            )
        for row in range(WINDOW_ROWS):
            for end in ("start", "end"):
                self.fields[f"window_{row}_{end}"] = forms.DateTimeField(
                    label=(_("Time %(n)d starts") if end == "start" else _("Time %(n)d ends"))
                    % {"n": row + 1},
                    required=False,
                    input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M"],
                    widget=forms.DateTimeInput(
                        attrs={"type": "datetime-local"}, format=DATETIME_INPUT
                    ),
                )
        self.details: NeedDetails | None = None

    @classmethod
    def for_need(cls, need: Need, data: Any = None) -> NeedForm:
        initial: dict[str, Any] = {
            "title": need.title,
            "description": need.description,
            "location_kind": need.location_kind,
            "place": need.postcode,
            "radius_km": need.radius_km,
            "schedule_kind": need.schedule_kind,
            "slots": [bit for bit in range(21) if need.weekly_slots & (1 << bit)],
            "hours": need.hours,
            "people_needed": need.people_needed,
            "closes_on": need.closes_on,
            "visibility": need.visibility,
        }
        for row, wanted in enumerate(need.skills.all()[:SKILL_ROWS]):
            initial[f"skill_{row}"] = wanted.skill_id
            initial[f"level_{row}"] = wanted.min_level
            initial[f"must_{row}"] = "must" if wanted.required else "nice"
        for row, window in enumerate(need.windows.all()[:WINDOW_ROWS]):
            initial[f"window_{row}_start"] = window.starts_at
            initial[f"window_{row}_end"] = window.ends_at
        return cls(data, initial=initial, filled_count=need.filled_count)

    # --- Rows for the template -----------------------------------------------------------

    def skill_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"skill_{row}"], self[f"level_{row}"], self[f"must_{row}"])
            for row in range(SKILL_ROWS)
        ]

    def window_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"window_{row}_start"], self[f"window_{row}_end"]) for row in range(WINDOW_ROWS)
        ]

    def grid(self) -> list[tuple[str, list[tuple[int, str, bool]]]]:
        """Rows of (day, [(bit, label, checked)]), as on the volunteer's availability page."""
        return weekly_grid(self["slots"].value())

    # --- Checking ------------------------------------------------------------------------

    def _skills(self) -> tuple[SkillWanted, ...]:
        rows = []
        for row in range(SKILL_ROWS):
            skill_id = self.cleaned_data.get(f"skill_{row}")
            if skill_id is None:
                continue
            level = self.cleaned_data.get(f"level_{row}") or PersonSkill.Level.CAPABLE
            required = self.cleaned_data.get(f"must_{row}", "must") != "nice"
            rows.append((skill_id, level, required))
        skills = Skill.objects.in_bulk([skill_id for skill_id, _level, _required in rows])
        return tuple(
            SkillWanted(skill=skills[skill_id], min_level=level, required=required)
            for skill_id, level, required in rows
            if skill_id in skills
        )

    def _windows(self) -> tuple[TimeWindow, ...]:
        windows = []
        for row in range(WINDOW_ROWS):
            start = self.cleaned_data.get(f"window_{row}_start")
            end = self.cleaned_data.get(f"window_{row}_end")
            if start is None and end is None:
                continue
            if start is None or end is None:
                missing = f"window_{row}_start" if start is None else f"window_{row}_end"
                if missing not in self.errors:
                    self.add_error(missing, _("Give both a start and an end, or neither."))
                continue
            windows.append(TimeWindow(start, end))
        return tuple(windows)

    def _place(self) -> Location | None:
        raw = (self.cleaned_data.get("place") or "").strip()
        if self.cleaned_data.get("location_kind") != Need.LocationKind.ON_SITE or not raw:
            return None
        try:
            return geocode(raw, fall_back_to_district=True)
        except PlaceError as error:
            self.add_error("place", forms.ValidationError(error.message, code=error.code))
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        required = ("hours", "people_needed", "closes_on", "location_kind", "schedule_kind")
        if any(cleaned.get(name) is None for name in required):
            return cleaned  # each missing or malformed field already has its message
        windows = self._windows()
        place = self._place()
        details = NeedDetails(
            title=cleaned.get("title", ""),
            description=cleaned.get("description", ""),
            skills=self._skills(),
            location_kind=cleaned["location_kind"],
            place=place,
            radius_km=cleaned.get("radius_km"),
            schedule_kind=cleaned["schedule_kind"],
            windows=windows,
            weekly_slots=sum(1 << bit for bit in cleaned.get("slots", [])),
            hours=Decimal(cleaned["hours"]),
            people_needed=cleaned["people_needed"],
            closes_on=cleaned["closes_on"],
            visibility=cleaned.get("visibility", ""),
            skip=frozenset(self.errors)
            | ({"windows"} if any(name.startswith("window_") for name in self.errors) else set()),
        )
        for name, message in need_problems(details, filled_count=self.filled_count).items():
            self.add_error(PROBLEM_FIELD.get(name, name), message)
        if not self.errors:
            self.details = details
        return cleaned


class ShortlistFilterForm(forms.Form):
    """The shortlist's filters, from the query string. Anything malformed gets a message
    beside its field and the shortlist is shown unfiltered by it."""

    min_level = forms.TypedChoiceField(
        label=_("Lowest level for the must-have skills"),
        choices=[("", _("As the need asks")), *PersonSkill.Level.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    max_km = forms.IntegerField(
        label=_("Furthest away (km)"),
        min_value=MIN_RADIUS_KM,
        max_value=MAX_RADIUS_KM,
        required=False,
        help_text=_("For needs on site; remote needs ignore it."),
    )
    members_only = forms.BooleanField(label=_("Only our members"), required=False)

    def filters(self) -> ShortlistFilters:
        """The valid filters (call after `is_valid`); a field in error is left out."""
        cleaned = getattr(self, "cleaned_data", {})
        return ShortlistFilters(
            min_level=None if "min_level" in self.errors else cleaned.get("min_level"),
            max_km=None if "max_km" in self.errors else cleaned.get("max_km"),
            members_only=bool(cleaned.get("members_only")),
        )
