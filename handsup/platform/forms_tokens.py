"""The form a group admin fills in to create an API token."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from handsup.platform.models import Scope
from handsup.platform.tokens import MAX_DAYS, MIN_DAYS


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, so you recognise it later."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What it may do"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one thing the token may do.")},
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=MIN_DAYS,
        max_value=MAX_DAYS,
        initial=90,
        help_text=_("From 1 to 365 days."),
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the token a name."))
        return name
