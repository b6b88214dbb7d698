"""Forms for helping to tell a story and for asking the centre for support."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.forms import DecisionWithReasonForm
from handsup.groups.models import Group
from handsup.needs.actions import MAX_DAYS_OPEN
from handsup.needs.models import MAX_HOURS
from handsup.stories.help import (
    MAX_HELPERS,
    MAX_WORDS,
    MIN_HELPERS,
    HelpRequest,
    default_closing_date,
)
from handsup.stories.models import StoryHelpNeed, SupportRequest

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HelpNeedForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What kind of help"),
        choices=StoryHelpNeed.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the kind of help."),
            "invalid_choice": _("Choose one of the kinds of help listed."),
        },
    )
    people_needed = forms.IntegerField(
        label=_("How many people"),
        help_text=_("From %(low)d to %(high)d.") % {"low": MIN_HELPERS, "high": MAX_HELPERS},
        error_messages={"required": _("Say how many people."), "invalid": _("Enter a number.")},
    )
    hours = forms.DecimalField(
        label=_("Hours of effort for each person"),
        max_digits=4,
        decimal_places=1,
        help_text=_("Roughly, in hours a week while it is open: 4 for a short video edit."),
        error_messages={"required": _("Say roughly how many hours.")},
    )
    closes_on = forms.DateField(
        label=_("Closing date"),
        widget=DATE_INPUT,
        help_text=_("The last day people can say yes. Four weeks from today unless you change it."),
        error_messages={"required": _("Choose a closing date."), "invalid": _("Enter a date.")},
    )
    words = forms.CharField(
        label=_("What's wanted, in a few words"),
        max_length=MAX_WORDS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example: “Cut 40 minutes of phone footage into a 2-minute video.”"),
        error_messages={"required": _("Say in a few words what's wanted.")},
    )
    group = forms.ChoiceField(
        label=_("Which group asks"),
        widget=forms.RadioSelect,
        help_text=_("The need belongs to this group; its organisers run it."),
        error_messages={
            "required": _("Choose the group the need belongs to."),
            "invalid_choice": _("Choose one of the groups listed."),
        },
    )

    def __init__(self, *args: Any, groups: list[Group], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("closes_on", default_closing_date())
        kwargs["initial"].setdefault("people_needed", 1)
        if groups:
            kwargs["initial"].setdefault("group", groups[0].public_id)
        super().__init__(*args, **kwargs)
        self._groups = {group.public_id: group for group in groups}
        group_field = self.fields["group"]
        assert isinstance(group_field, forms.ChoiceField)
        group_field.choices = [(group.public_id, group.name) for group in groups]

    def clean_people_needed(self) -> int:
        people: int = self.cleaned_data["people_needed"]
        if not MIN_HELPERS <= people <= MAX_HELPERS:
            raise ValidationError(
                _("Ask for at least %(low)d and at most %(high)d people."),
                params={"low": MIN_HELPERS, "high": MAX_HELPERS},
                code="out_of_range",
            )
        return people

    def clean_hours(self) -> Decimal:
        hours: Decimal = self.cleaned_data["hours"]
        if not Decimal(0) < hours <= MAX_HOURS:
            raise ValidationError(
                _("Hours of effort must be more than 0 and at most %(n)d."),
                params={"n": MAX_HOURS},
                code="out_of_range",
            )
        return hours

    def clean_closes_on(self) -> Any:
        closes_on = self.cleaned_data["closes_on"]
        today = timezone.localdate()
        if closes_on <= today:
            raise ValidationError(_("Choose a closing date in the future."), code="past")
        if closes_on > today + timedelta(days=MAX_DAYS_OPEN):
            raise ValidationError(_("Choose a closing date within a year."), code="too_far")
        return closes_on

    @property
    def chosen_group(self) -> Group:
        return self._groups[self.cleaned_data["group"]]

    @property
    def ask(self) -> HelpRequest:
        data = self.cleaned_data
        return HelpRequest(
            kind=data["kind"],
            people_needed=data["people_needed"],
            hours=data["hours"],
            closes_on=data["closes_on"],
            words=data["words"],
        )


class CreditForm(forms.Form):
    credit = forms.ChoiceField(
        choices=[("on", _("Name me")), ("off", _("Don't name me"))],
        error_messages={
            "required": _("Say whether to name you."),
            "invalid_choice": _("Say whether to name you."),
        },
    )

    @property
    def credited(self) -> bool:
        return bool(self.cleaned_data["credit"] == "on")


class ResultForm(forms.Form):
    url = forms.CharField(
        label=_("Link to the finished video or article"),
        max_length=500,
        required=False,
        help_text=_("An address starting with https:// (or http://). Leave empty to remove it."),
        error_messages={"max_length": _("Use a link of at most 500 characters.")},
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        if not url:
            return ""
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ValidationError(
                _("Enter a web address starting with https:// or http://."), code="invalid"
            ) from None
        return url


class SupportRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What kind of support"),
        choices=SupportRequest.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the kind of support."),
            "invalid_choice": _("Choose one of the kinds of support listed."),
        },
    )
    what = forms.CharField(
        label=_("What exactly"),
        max_length=300,
        help_text=_("For example: “a day of a video producer's time”, “a portable PA system”."),
        error_messages={"required": _("Say what you are asking for.")},
    )
    how_much = forms.CharField(
        label=_("How much"),
        max_length=100,
        help_text=_("An amount (“£250”), a time (“2 days”) or a number of things."),
        error_messages={"required": _("Say how much.")},
    )
    why = forms.CharField(
        label=_("Why it would help"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Say why it would help.")},
    )


class SupportDecisionForm(DecisionWithReasonForm):
    yes = ("approve", _("Approve"))
    no = ("decline", _("Decline"))
    choose = _("Choose approve or decline.")
    note_label = _("Note to the group")
    note_hint = _("Required when declining: say why.")
    say_why = _("Say why the request is declined.")

    @property
    def approve(self) -> bool:
        return self.decided_yes
