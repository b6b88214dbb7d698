"""Form pieces more than one app uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    # What gettext_lazy gives: text translated when it is shown.
    from django.utils.functional import _StrPromise as Text


class DecisionWithReasonForm(forms.Form):
    """One of two decisions, where the second must say why (publish or reject a tool,
    approve or decline a support request).

    A subclass names the two choices and its wording; `decided_yes` tells which was
    chosen. The note is optional for the first choice and required for the second.
    """

    yes: ClassVar[tuple[str, Text]]
    no: ClassVar[tuple[str, Text]]
    choose: ClassVar[Text]  # "Choose publish or reject."
    note_label: ClassVar[Text]
    note_hint: ClassVar[Text]
    say_why: ClassVar[Text]  # the note's error when the second choice has none

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision"] = forms.ChoiceField(
            label=gettext_lazy("Decision"),
            choices=[self.yes, self.no],
            widget=forms.RadioSelect,
            error_messages={"required": self.choose, "invalid_choice": self.choose},
        )
        self.fields["note"] = forms.CharField(
            label=self.note_label,
            max_length=2000,
            required=False,
            widget=forms.Textarea(attrs={"rows": 4}),
            help_text=self.note_hint,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == self.no[0] and not data.get("note", "").strip():
            self.add_error("note", self.say_why)
        return data

    @property
    def decided_yes(self) -> bool:
        return bool(self.cleaned_data["decision"] == self.yes[0])
