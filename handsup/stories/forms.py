"""The forms for telling a story, revising it, curating it and managing tags.

`Submission` bundles the story form with its two small formsets (the people named and
the pictures) so a page can validate them together: a name held back in the people
formset is an error only because of what the story form's text says.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Q, QuerySet
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.rendering import markdown_problems
from handsup.places.geo import geocode
from handsup.places.postcodes import PlaceError, area_of, parse_place
from handsup.stories.actions import (
    NamedPerson,
    NewImage,
    PictureChanges,
    StoryDetails,
    StoryPlace,
    held_back_message,
    names_held_back,
)
from handsup.stories.images import clean_image
from handsup.stories.models import (
    BODY_MAX,
    MAX_IMAGES,
    MAX_LINKS,
    MAX_PEOPLE_NAMED,
    TITLE_MAX,
    Region,
    Story,
    StoryImage,
    Tag,
)

# Great Britain's postcode areas by nation and English region (each area by its main
# post town; a few straddle a border). Northern Ireland and the Crown dependencies are
# not in the postcode data, so a story there is placed by region only.
_AREAS_BY_REGION: dict[Region, str] = {
    Region.SCOTLAND: "AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE",
    Region.WALES: "CF LD LL NP SA",
    Region.NORTH_EAST: "DH DL NE SR TS",
    Region.NORTH_WEST: "BB BL CA CH CW FY L LA M OL PR SK WA WN",
    Region.YORKSHIRE: "BD DN HD HG HU HX LS S WF YO",
    Region.EAST_MIDLANDS: "DE LE LN NG NN",
    Region.WEST_MIDLANDS: "B CV DY HR ST SY TF WR WS WV",
    Region.EAST: "AL CB CM CO HP IP LU NR PE SG SS WD",
    Region.LONDON: "BR CR E EC EN HA IG KT N NW RM SE SM SW TW UB W WC",
    Region.SOUTH_EAST: "BN CT DA GU ME MK OX PO RG RH SL SO TN",
    Region.SOUTH_WEST: "BA BH BS DT EX GL PL SN SP TA TQ TR",
}
REGION_OF_AREA: dict[str, str] = {
    area: region.value for region, areas in _AREAS_BY_REGION.items() for area in areas.split()
}
EARLIEST_STORY = date(1900, 1, 1)


def region_of_district(district: str) -> str:
    return REGION_OF_AREA.get(area_of(district), "")


def _tags(kind: str, keep: Any = None) -> QuerySet[Tag]:
    """Tags people may choose: not retired, plus those the story already has."""
    chosen = Q(retired=False)
    if keep is not None:
        chosen |= Q(pk__in=keep)
    return Tag.objects.filter(chosen, kind=kind).order_by("name")


class StoryForm(forms.Form):
    """A story's words, place, date, tags and links; `mode` says which fields show.

    - "submit": everything, plus which group it is for and the honeypot;
    - "revise": the author's edit (no group, no honeypot);
    - "curate": a curator's edit (title, text, tags, type and place).
    """

    title = forms.CharField(label=gettext_lazy("Title"), max_length=TITLE_MAX)
    body = forms.CharField(
        label=gettext_lazy("What happened"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy(
            "Who did what, why it mattered, what changed. You can use simple formatting: "
            "**bold**, *italic*, ## a heading, - a list, [a link](https://…). No HTML."
        ),
    )
    district = forms.CharField(
        label=gettext_lazy("Where: postcode district"),
        max_length=20,
        required=False,
        help_text=gettext_lazy(
            "The first part of a postcode, like M1 or CF14. Never a full address: we only "
            "show the area."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "input--short"}),
    )
    region = forms.ChoiceField(
        label=gettext_lazy("Or just the region"),
        choices=[("", gettext_lazy("Choose a region")), *Region.choices],
        required=False,
        help_text=gettext_lazy("If you'd rather not say the district, or it covers a wider area."),
    )
    happened_on = forms.DateField(
        label=gettext_lazy("When it happened"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("The day, or the first day if it went on for a while."),
    )
    issues = forms.ModelMultipleChoiceField(
        label=gettext_lazy("What it is about"),
        queryset=Tag.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    action_type = forms.ModelChoiceField(
        label=gettext_lazy("Type of action"),
        queryset=Tag.objects.none(),
        widget=forms.RadioSelect,
        required=False,
        empty_label=None,
    )
    links = forms.CharField(
        label=gettext_lazy("Links to media"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=ngettext_lazy(
            "News reports, videos, posts: one web address a line, at most %(n)d.",
            "News reports, videos, posts: one web address a line, at most %(n)d.",
            MAX_LINKS,
        )
        % {"n": MAX_LINKS},
    )
    group = forms.ModelChoiceField(
        label=gettext_lazy("Is it a story of one of your groups?"),
        queryset=Group.objects.none(),
        required=False,
        empty_label=gettext_lazy("No, not for a group"),
    )
    # The honeypot: hidden off-screen by CSS; people using a screen reader hear its label.
    website = forms.CharField(
        label=gettext_lazy("Leave this empty: it is here to catch automated spam."),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(
        self,
        *args: Any,
        mode: str = "submit",
        user: User | None = None,
        story: Story | None = None,
        extra_group: Group | None = None,
        **kwargs: Any,
    ) -> None:
        if story is not None and kwargs.get("initial") is None:
            kwargs["initial"] = initial_for(story)
        super().__init__(*args, **kwargs)
        self.mode = mode
        current_issues = story.issues.values("pk") if story is not None else None
        current_type = (
            [story.action_type_id] if story is not None and story.action_type_id else None
        )
        self.fields["issues"].queryset = _tags(Tag.Kind.ISSUE, current_issues)  # type: ignore[attr-defined]
        self.fields["action_type"].queryset = _tags(Tag.Kind.ACTION, current_type)  # type: ignore[attr-defined]
        if mode == "submit" and user is not None:
            groups = Q(memberships__user=user)
            if extra_group is not None:
                groups |= Q(pk=extra_group.pk)
            self.fields["group"].queryset = Group.objects.filter(groups).distinct().order_by("name")  # type: ignore[attr-defined]
        else:
            del self.fields["group"], self.fields["website"]
        if mode == "curate":
            del self.fields["happened_on"], self.fields["links"]
        self.place: StoryPlace | None = None

    @property
    def is_spam(self) -> bool:
        """The honeypot was filled in: a robot, most likely. Read before validating."""
        return "website" in self.fields and bool(self.data.get(self.add_prefix("website"), ""))

    def clean_title(self) -> str:
        title: str = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise ValidationError(_("Give your story a title."))
        return title

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"].strip()
        if not body:
            raise ValidationError(_("Say what happened."))
        problems = markdown_problems(body)
        if problems:
            raise ValidationError(problems)
        return body

    def clean_district(self) -> str:
        raw: str = self.cleaned_data.get("district", "").strip()
        if not raw:
            return ""
        try:
            # A full postcode is more than we keep: only its district is used.
            district = parse_place(raw).district
            location = geocode(district)
        except PlaceError as error:
            raise ValidationError(error.message, code=error.code) from error
        self.place = StoryPlace(
            region=region_of_district(location.district),
            district=location.district,
            eastings=location.point.eastings,
            northings=location.point.northings,
        )
        return location.district

    def clean_happened_on(self) -> date:
        day: date = self.cleaned_data["happened_on"]
        if day > timezone.localdate():
            raise ValidationError(_("The day it happened can't be in the future."))
        if day < EARLIEST_STORY:
            raise ValidationError(_("Check the year: that is a very long time ago."))
        return day

    def clean_links(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data.get("links", "").splitlines()]
        links = [line for line in lines if line]
        if len(links) > MAX_LINKS:
            raise ValidationError(
                _("Add at most %(n)d links (you gave %(given)d).")
                % {"n": MAX_LINKS, "given": len(links)}
            )
        check = URLValidator(schemes=["http", "https"])
        for link in links:
            try:
                if len(link) > 500:
                    raise ValidationError("too long")
                check(link)
            except ValidationError:
                raise ValidationError(
                    _(
                        "“%(link)s” isn't a web address we can link to: each link must start "
                        "with https:// or http://."
                    )
                    % {"link": link[:80]}
                ) from None
        return list(dict.fromkeys(links))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors.get("district"):
            return cleaned
        if self.place is None:
            region = cleaned.get("region", "")
            if not region:
                self.add_error(
                    "district", _("Say where it happened: a postcode district, or a region.")
                )
            else:
                self.place = StoryPlace(region=region)
        return cleaned

    def details(self) -> StoryDetails:
        """The cleaned story, for the actions. Call after `is_valid()`."""
        assert self.place is not None
        data = self.cleaned_data
        return StoryDetails(
            title=data["title"],
            body=data["body"],
            place=self.place,
            issues=tuple(data.get("issues", ())),
            action_type=data.get("action_type"),
            happened_on=data.get("happened_on"),
            links=tuple(data["links"]) if "links" in data else None,
        )


def initial_for(story: Story) -> dict[str, Any]:
    return {
        "title": story.title,
        "body": story.body,
        "district": story.district,
        "region": "" if story.district else story.region,
        "happened_on": story.happened_on,
        "issues": list(story.issues.all()),
        "action_type": story.action_type,
        "links": "\n".join(story.links or []),
    }


class PersonForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    role = forms.CharField(
        label=gettext_lazy("Who they are"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("For example: tenant, nurse, local councillor."),
    )
    consented = forms.BooleanField(
        label=gettext_lazy("They agreed to be named or quoted"), required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name = " ".join(cleaned.get("name", "").split())
        cleaned["name"] = name
        if not name and (cleaned.get("role") or cleaned.get("consented")):
            self.add_error("name", _("Give their name, or clear this row."))
        return cleaned


class BasePeopleFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "Name at most %(num)d person.", "Name at most %(num)d people.", "num"
        ),
    }

    def people(self) -> list[NamedPerson]:
        return [
            NamedPerson(
                name=form.cleaned_data["name"],
                role=form.cleaned_data.get("role", ""),
                consented=bool(form.cleaned_data.get("consented")),
            )
            for form in self.forms
            if form.cleaned_data.get("name")
        ]


PeopleFormSet = formset_factory(
    PersonForm,
    formset=BasePeopleFormSet,
    extra=3,
    max_num=MAX_PEOPLE_NAMED,
    validate_max=True,
    # However many rows are claimed, no more than this are ever built.
    absolute_max=MAX_PEOPLE_NAMED + 5,
)


class ImageForm(forms.Form):
    image = forms.FileField(
        label=gettext_lazy("Picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    alt_text = forms.CharField(
        label=gettext_lazy("What the picture shows"),
        max_length=300,
        required=False,
        help_text=gettext_lazy(
            "For people who can't see it, for example: “Tenants outside the town hall "
            "with a banner”."
        ),
    )

    def clean_image(self) -> Any:
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        return clean_image(upload)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        alt = " ".join(cleaned.get("alt_text", "").split())
        cleaned["alt_text"] = alt
        if self.errors.get("image"):
            return cleaned
        if cleaned.get("image") and not alt:
            self.add_error("alt_text", _("Describe the picture for people who can't see it."))
        elif alt and not cleaned.get("image"):
            self.add_error(
                "image",
                _(
                    "Choose the picture for this description (pictures aren't kept when the "
                    "form shows a problem), or clear the description."
                ),
            )
        return cleaned


class BaseImagesFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "Add at most %(num)d picture.", "Add at most %(num)d pictures.", "num"
        ),
    }

    def images(self) -> list[NewImage]:
        return [
            NewImage(image=form.cleaned_data["image"], alt_text=form.cleaned_data["alt_text"])
            for form in self.forms
            if form.cleaned_data.get("image")
        ]


class CurrentImageForm(forms.Form):
    """A picture the story already has, on the author's edit page: describe it again or
    remove it. Built from the story's own pictures, never from ids in the request."""

    alt_text = forms.CharField(
        label=gettext_lazy("What the picture shows"),
        max_length=300,
        required=False,
    )
    remove = forms.BooleanField(label=gettext_lazy("Remove this picture"), required=False)

    def __init__(self, data: Any = None, *, image: StoryImage) -> None:
        self.image = image
        super().__init__(data, prefix=f"current-{image.pk}", initial={"alt_text": image.alt_text})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["alt_text"] = " ".join(cleaned.get("alt_text", "").split())
        if not cleaned.get("remove") and not cleaned["alt_text"] and "alt_text" not in self.errors:
            self.add_error(
                "alt_text",
                _("Describe the picture for people who can't see it, or remove it."),
            )
        return cleaned


ImagesFormSet = formset_factory(
    ImageForm,
    formset=BaseImagesFormSet,
    extra=MAX_IMAGES,
    max_num=MAX_IMAGES,
    validate_max=True,
    absolute_max=MAX_IMAGES + 5,
)


class Submission:
    """The story form and its formsets, validated together."""

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        mode: str = "submit",
        user: User | None = None,
        story: Story | None = None,
        initial: dict[str, Any] | None = None,
        extra_group: Group | None = None,
    ) -> None:
        self.form = StoryForm(
            data, mode=mode, user=user, story=story, extra_group=extra_group, initial=initial
        )
        people_initial = (
            [{"name": p.name, "role": p.role, "consented": p.consented} for p in story.people.all()]
            if story is not None and data is None
            else None
        )
        self.people = cast(
            BasePeopleFormSet, PeopleFormSet(data, prefix="people", initial=people_initial)
        )
        # Revising: the story's pictures, each kept (and described) or removed, and room
        # for new ones up to the limit (at least one, to replace a picture in one go).
        self.current = (
            [CurrentImageForm(data, image=image) for image in story.images.all()]
            if mode == "revise" and story is not None
            else []
        )
        self.images = cast(BaseImagesFormSet, ImagesFormSet(data, files, prefix="images"))
        if mode == "revise":
            self.images.extra = max(1, MAX_IMAGES - len(self.current))

    @property
    def is_bound(self) -> bool:
        return self.form.is_bound

    @property
    def is_spam(self) -> bool:
        return self.form.is_spam

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        valid = self.people.is_valid() and valid
        valid = self.images.is_valid() and valid
        valid = all([form.is_valid() for form in self.current]) and valid
        if valid and self.current:
            kept = sum(not form.cleaned_data["remove"] for form in self.current)
            if kept + len(self.images.images()) > MAX_IMAGES:
                self.images_over_limit = True
                valid = False
        if self.people.is_valid():
            # Read the words as typed when they have problems of their own, so every
            # problem shows at once.
            words = {
                key: str(
                    self.form.cleaned_data.get(key)
                    or self.form.data.get(self.form.add_prefix(key))
                    or ""
                )
                for key in ("title", "body")
            }
            held_back = set(names_held_back(words["title"], words["body"], self.people.people()))
            for person_form in self.people.forms:
                name = person_form.cleaned_data.get("name")
                if name in held_back:
                    person_form.add_error("consented", held_back_message(name))
                    valid = False
        return valid

    images_over_limit = False

    def picture_errors(self) -> list[str]:
        """Problems with the pictures as a whole: the formset's, and too many in all."""
        errors = [str(error) for error in self.images.non_form_errors()]
        if self.images_over_limit:
            errors.append(
                ngettext(
                    "A story has at most %(n)d picture: remove one before you add another.",
                    "A story has at most %(n)d pictures: remove one before you add another.",
                    MAX_IMAGES,
                )
                % {"n": MAX_IMAGES}
            )
        return errors

    def picture_changes(self) -> PictureChanges:
        """What the author did to the pictures (valid revising submissions only)."""
        return PictureChanges(
            described={
                form.image.pk: form.cleaned_data["alt_text"]
                for form in self.current
                if not form.cleaned_data["remove"]
            },
            removed=frozenset(
                form.image.pk for form in self.current if form.cleaned_data["remove"]
            ),
            added=self.images.images(),
        )

    def all_forms(self) -> list[forms.Form]:
        return [self.form, *self.people.forms, *self.current, *self.images.forms]

    @property
    def has_errors(self) -> bool:
        return self.is_bound and (
            any(f.errors for f in self.all_forms())
            or bool(self.people.non_form_errors())
            or bool(self.picture_errors())
        )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Story.Status.choices)
    note = forms.CharField(
        label=gettext_lazy("Note to the author"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Needed for “needs changes” (what to change and why) and “rejected” (why). "
            "The author gets it by email."
        ),
    )

    def clean_note(self) -> str:
        note: str = self.cleaned_data.get("note", "").strip()
        return note


class TagForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Tag.Kind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=60)


class TagChangeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=60, required=False)
    retired = forms.ChoiceField(
        choices=[("", ""), ("1", "retire"), ("0", "restore")], required=False
    )
