"""Forms for the tools registry: submitting and editing a tool, reviewing it, marking it
used, and asking for help with it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handsup.accounts.models import User
from handsup.core.forms import DecisionWithReasonForm
from handsup.groups.models import Group
from handsup.messaging.rendering import markdown_problems
from handsup.needs.actions import MAX_DAYS_OPEN
from handsup.needs.models import MAX_HOURS
from handsup.people.models import Skill
from handsup.platform.models import Tool
from handsup.platform.tools import (
    MAX_HELP_SKILLS,
    MAX_HELPERS,
    MAX_TAGS,
    MIN_HELPERS,
    TAG_MAX_LENGTH,
    TAG_PATTERN,
    HelpRequest,
    ToolDetails,
    default_closing_date,
    help_skills,
)


def _plain_line(value: str, *, empty: str) -> str:
    """One line of plain text: spaces collapsed, no markup."""
    text = " ".join(value.split())
    if not text:
        raise ValidationError(empty, code="required")
    if "<" in text or ">" in text:
        raise ValidationError(
            _("Use plain words here, without < or >: this is shown as text, not HTML."),
            code="markup",
        )
    return text


def parse_tags(raw: str) -> list[str]:
    """Comma-separated tags, lower-cased and each checked; repeats dropped."""
    tags = [part.strip().lower() for part in raw.split(",")]
    tags = list(dict.fromkeys(tag for tag in tags if tag))
    for tag in tags:
        if len(tag) > TAG_MAX_LENGTH or not TAG_PATTERN.match(tag):
            raise ValidationError(
                _(
                    "“%(tag)s” isn't a tag we can use: each tag is one short word of at most "
                    "%(n)d letters, numbers or hyphens, like “maps” or “door-knocking”."
                )
                % {"tag": tag[:40], "n": TAG_MAX_LENGTH},
                code="bad_tag",
            )
    if len(tags) > MAX_TAGS:
        raise ValidationError(
            _("Use at most %(n)d tags (you gave %(given)d).") % {"n": MAX_TAGS, "given": len(tags)},
            code="too_many_tags",
        )
    return tags


class ToolForm(forms.Form):
    """A tool's page and who maintains it. With `submitting`, also the honeypot."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    summary = forms.CharField(
        label=gettext_lazy("What it does, in a line"),
        max_length=200,
        help_text=gettext_lazy("For example: “Plan a canvassing session on a shared map.”"),
    )
    description = forms.CharField(
        label=gettext_lazy("What it does"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy(
            "Who it is for, what it does, how to start. Simple formatting works: **bold**, "
            "*italic*, ## a heading, - a list, [a link](https://…). No HTML."
        ),
    )
    licence = forms.CharField(
        label=gettext_lazy("Licence"),
        max_length=100,
        help_text=gettext_lazy("For example: AGPL-3.0, MIT, or “not decided yet”."),
    )
    source_url = forms.CharField(
        label=gettext_lazy("Where its source code is"),
        max_length=500,
        help_text=gettext_lazy("A web address starting with https:// (or http://)."),
        widget=forms.URLInput(),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("How far along it is"),
        choices=Tool.Status.choices,
        widget=forms.RadioSelect,
        initial=Tool.Status.BUILDING,
        error_messages={
            "required": gettext_lazy("Say how far along it is."),
            "invalid_choice": gettext_lazy("Choose one of the stages listed."),
        },
    )
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        max_length=400,
        required=False,
        help_text=gettext_lazy(
            "Up to 10 short words, separated by commas, so people can find it: "
            "“maps, canvassing, data”."
        ),
    )
    maintainer_groups = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Groups that maintain it"),
        queryset=Group.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Only groups you are a member of."),
        error_messages={
            "invalid_choice": gettext_lazy(
                "You can only name groups you are a member of as its maintainers."
            ),
            "invalid_pk_value": gettext_lazy("Choose groups from the list."),
        },
    )
    maintains = forms.BooleanField(
        label=gettext_lazy("I maintain it: show my name on its page"),
        required=False,
        help_text=gettext_lazy(
            "Your name is shown to people signed in to Hands Up; others only see how many "
            "people maintain it."
        ),
    )
    # The honeypot: hidden off-screen by CSS; people using a screen reader hear its label.
    website = forms.CharField(
        label=gettext_lazy("Leave this empty: it is here to catch automated spam."),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, user: User, tool: Tool | None = None, **kwargs: Any) -> None:
        if tool is not None and kwargs.get("initial") is None:
            kwargs["initial"] = initial_for(tool, user)
        super().__init__(*args, **kwargs)
        self.user = user
        self.tool = tool
        self.member_group_ids = set(
            Group.objects.filter(memberships__user=user, status=Group.Status.ACTIVE).values_list(
                "pk", flat=True
            )
        )
        choosable = Q(pk__in=self.member_group_ids)
        if tool is not None:
            # Groups already maintaining it stay listed, so an edit doesn't drop them.
            choosable |= Q(pk__in=tool.maintainer_groups.values("pk"))
            del self.fields["website"]
        groups: QuerySet[Group] = Group.objects.filter(choosable).order_by("name")
        self.fields["maintainer_groups"].queryset = groups  # type: ignore[attr-defined]

    @property
    def is_spam(self) -> bool:
        """The honeypot was filled in: a robot, most likely. Read before validating."""
        return "website" in self.fields and bool(self.data.get(self.add_prefix("website"), ""))

    def clean_name(self) -> str:
        return _plain_line(self.cleaned_data["name"], empty=_("Give the tool's name."))

    def clean_summary(self) -> str:
        return _plain_line(self.cleaned_data["summary"], empty=_("Say in a line what it does."))

    def clean_licence(self) -> str:
        return _plain_line(
            self.cleaned_data["licence"], empty=_("Say its licence, or “not decided yet”.")
        )

    def clean_description(self) -> str:
        text: str = self.cleaned_data["description"].strip()
        if not text:
            raise ValidationError(_("Say what it does."), code="required")
        problems = markdown_problems(text)
        if problems:
            raise ValidationError(problems)
        return text

    def clean_source_url(self) -> str:
        url: str = self.cleaned_data["source_url"].strip()
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ValidationError(
                _("Enter the web address of its source, starting with https:// or http://."),
                code="invalid",
            ) from None
        return url

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags", ""))

    def clean_maintainer_groups(self) -> list[Group]:
        chosen: list[Group] = list(self.cleaned_data.get("maintainer_groups") or [])
        kept = (
            set(self.tool.maintainer_groups.values_list("pk", flat=True))
            if self.tool is not None
            else set()
        )
        for group in chosen:
            if group.pk not in self.member_group_ids and group.pk not in kept:
                raise ValidationError(
                    _("You can only name groups you are a member of as its maintainers."),
                    code="not_member",
                )
        return chosen

    def details(self) -> ToolDetails:
        data = self.cleaned_data
        return ToolDetails(
            name=data["name"],
            summary=data["summary"],
            description=data["description"],
            licence=data["licence"],
            source_url=data["source_url"],
            status=data["status"],
            tags=tuple(data["tags"]),
        )

    @property
    def groups(self) -> list[Group]:
        return list(self.cleaned_data.get("maintainer_groups") or [])


def initial_for(tool: Tool, user: User) -> dict[str, Any]:
    return {
        "name": tool.name,
        "summary": tool.summary,
        "description": tool.description,
        "licence": tool.licence,
        "source_url": tool.source_url,
        "status": tool.status,
        "tags": ", ".join(tool.tags or []),
        "maintainer_groups": list(tool.maintainer_groups.all()),
        "maintains": tool.maintainers.filter(user=user).exists(),
    }


class ReviewForm(DecisionWithReasonForm):
    yes = ("publish", gettext_lazy("Publish"))
    no = ("reject", gettext_lazy("Reject"))
    choose = gettext_lazy("Choose publish or reject.")
    note_label = gettext_lazy("Note to the person who sent it")
    note_hint = gettext_lazy("Required when rejecting: say why.")
    say_why = gettext_lazy("Say why the tool is rejected.")

    @property
    def publish(self) -> bool:
        return self.decided_yes


class UsedByForm(forms.Form):
    uses = forms.ChoiceField(
        choices=[("on", gettext_lazy("We use it")), ("off", gettext_lazy("We don't use it"))],
        error_messages={
            "required": gettext_lazy("Say whether your group uses it."),
            "invalid_choice": gettext_lazy("Say whether your group uses it."),
        },
    )
    group = forms.IntegerField(
        error_messages={
            "required": gettext_lazy("Choose your group."),
            "invalid": gettext_lazy("Choose your group."),
        }
    )


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HelpNeedForm(forms.Form):
    skills = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Skills wanted"),
        queryset=Skill.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Up to 3. With one, only people with it are asked; with several, people with "
            "any of them."
        ),
        error_messages={
            "required": gettext_lazy("Choose at least one skill."),
            "invalid_choice": gettext_lazy("Choose skills from the list."),
            "invalid_pk_value": gettext_lazy("Choose skills from the list."),
        },
    )
    words = forms.CharField(
        label=gettext_lazy("What the help is"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("What someone would work on, and how to get started."),
        error_messages={"required": gettext_lazy("Say what the help is.")},
    )
    people_needed = forms.IntegerField(
        label=gettext_lazy("How many people"),
        help_text=gettext_lazy("From 1 to 5."),
        error_messages={
            "required": gettext_lazy("Say how many people."),
            "invalid": gettext_lazy("Enter a number."),
        },
    )
    hours = forms.DecimalField(
        label=gettext_lazy("Hours of effort for each person"),
        max_digits=4,
        decimal_places=1,
        help_text=gettext_lazy("Roughly, in hours a week while it is open."),
        error_messages={
            "required": gettext_lazy("Say roughly how many hours."),
            "invalid": gettext_lazy("Enter a number of hours, like 2 or 3.5."),
        },
    )
    closes_on = forms.DateField(
        label=gettext_lazy("Closing date"),
        widget=DATE_INPUT,
        error_messages={
            "required": gettext_lazy("Choose a closing date."),
            "invalid": gettext_lazy("Enter a date, like 2026-12-31."),
        },
    )
    group = forms.ChoiceField(
        label=gettext_lazy("Which group it belongs to"),
        widget=forms.RadioSelect,
        help_text=gettext_lazy("A need always belongs to a group; you organise these."),
        error_messages={
            "required": gettext_lazy("Choose the group."),
            "invalid_choice": gettext_lazy("Choose one of the groups you organise."),
        },
    )

    def __init__(self, *args: Any, groups: list[Group], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"closes_on": default_closing_date(), "people_needed": 1, "hours": Decimal(2)},
        )
        super().__init__(*args, **kwargs)
        self.fields["skills"].queryset = help_skills().select_related("category")  # type: ignore[attr-defined]
        self._groups = {group.public_id: group for group in groups}
        group_field = self.fields["group"]
        assert isinstance(group_field, forms.ChoiceField)
        group_field.choices = [(group.public_id, group.name) for group in groups]
        if len(groups) == 1:
            group_field.initial = groups[0].public_id

    def clean_skills(self) -> list[Any]:
        skills = list(self.cleaned_data["skills"])
        if len(skills) > MAX_HELP_SKILLS:
            raise ValidationError(
                _("Choose at most %(n)d skills.") % {"n": MAX_HELP_SKILLS}, code="too_many"
            )
        return skills

    def clean_words(self) -> str:
        words: str = self.cleaned_data["words"].strip()
        if not words:
            raise ValidationError(_("Say what the help is."), code="required")
        problems = markdown_problems(words)
        if problems:
            raise ValidationError(problems)
        return words

    def clean_people_needed(self) -> int:
        people: int = self.cleaned_data["people_needed"]
        if not MIN_HELPERS <= people <= MAX_HELPERS:
            raise ValidationError(
                _("Ask for at least %(low)d and at most %(high)d people.")
                % {"low": MIN_HELPERS, "high": MAX_HELPERS},
                code="out_of_range",
            )
        return people

    def clean_hours(self) -> Decimal:
        hours: Decimal = self.cleaned_data["hours"]
        if not Decimal(0) < hours <= MAX_HOURS:
            raise ValidationError(
                _("Hours of effort must be more than 0 and at most %(n)d.") % {"n": MAX_HOURS},
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
            skills=tuple(data["skills"]),
            people_needed=data["people_needed"],
            hours=data["hours"],
            closes_on=data["closes_on"],
            words=data["words"],
        )
