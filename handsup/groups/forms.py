"""Forms for finding, joining and running groups. Validation lives here and in views."""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from handsup.groups.actions import GroupRuleBroken, check_parent_allowed, check_policy_within_limits
from handsup.groups.models import Group, Membership, MovementLimits
from handsup.places.geo import Location, Point, geocode
from handsup.places.postcodes import PlaceError, PostcodeOutsideGreatBritain, normalise_district

LOGO_MAX_BYTES = 1_000_000
# Words the group URLs use for their own pages.
RESERVED_SLUGS = frozenset({"new", "approvals", "manage"})
LOGO_MAX_PIXELS = 1024


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label=_("Group name"), required=False, max_length=100)
    near = forms.CharField(
        label=_("Near a postcode"),
        required=False,
        max_length=10,
        help_text=_("A full postcode, like M1 1AE, or just its first part, like M1."),
    )

    def clean_near(self) -> Location | None:
        raw = self.cleaned_data["near"].strip()
        if not raw:
            return None
        try:
            return geocode(raw, fall_back_to_district=True)
        except PostcodeOutsideGreatBritain as error:
            raise forms.ValidationError(
                _(
                    "We can't place postcodes in Northern Ireland or the Crown Dependencies yet, "
                    "so we can't sort groups by distance from %(value)s. Search by name instead."
                )
                % {"value": raw},
                code=error.code,
            ) from error
        except PlaceError as error:
            raise forms.ValidationError(error.message, code=error.code) from error


class GroupSettingsForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = [
            "description",
            "public_contact",
            "join_policy",
            "area_districts",
            "area_centre",
            "area_radius_km",
            "colour",
            "updates_per_week_normal",
            "updates_per_week_campaign",
            "retention_months",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "colour": forms.TextInput(attrs={"type": "color"}),
        }

    def clean_area_districts(self) -> str:
        codes = []
        for raw in self.cleaned_data["area_districts"].split(","):
            if not raw.strip():
                continue
            try:
                location = geocode(raw.strip())
            except PlaceError as error:
                raise forms.ValidationError(error.message, code=error.code) from error
            codes.append(normalise_district(location.district))
        return ", ".join(dict.fromkeys(codes))

    def clean_area_centre(self) -> str:
        raw = self.cleaned_data["area_centre"].strip()
        if not raw:
            return ""
        try:
            self.centre_location = geocode(raw, fall_back_to_district=True)
        except PlaceError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        return self.centre_location.code

    def clean_retention_months(self) -> int:
        months = self.cleaned_data["retention_months"]
        if months is not None and months < 1:
            # 0 would end an ex-member's record the day they leave, before they could
            # change their mind; retention (privacy/retention.py) works in whole months.
            raise forms.ValidationError(
                _("Keep an ex-member's details for at least 1 month."), code="too_short"
            )
        return months

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("area_centre") and not cleaned.get("area_radius_km"):
            self.add_error("area_radius_km", _("Give a radius in kilometres for the centre."))
        if cleaned.get("area_radius_km") and not cleaned.get("area_centre"):
            self.add_error("area_centre", _("Give a centre postcode for the radius."))
        policy = {
            key: cleaned.get(key)
            for key in ("updates_per_week_normal", "updates_per_week_campaign", "retention_months")
        }
        if all(value is not None for value in policy.values()):
            for field, message in check_policy_within_limits(**policy).items():  # type: ignore[arg-type]
                self.add_error(field, message)
        return cleaned

    def centre(self) -> Point | None:
        """Where the group is, for "near me" searches: the centre, else its districts'."""
        location = getattr(self, "centre_location", None)
        if location is not None:
            return location.point
        points = []
        for code in self.cleaned_data.get("area_districts", "").split(","):
            if code.strip():
                points.append(geocode(code.strip()).point)
        if not points:
            return None
        return Point(
            round(sum(p.eastings for p in points) / len(points)),
            round(sum(p.northings for p in points) / len(points)),
        )


class LogoForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo"),
        help_text=_(
            "A PNG, JPEG or WebP image of at most 1 MB. We resize it and remove hidden data."
        ),
    )

    def clean_logo(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["logo"]
        if upload.size is not None and upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo must be 1 MB or smaller."), code="too_big")
        try:
            with Image.open(upload) as probe:
                probe.verify()
            upload.seek(0)
            image = Image.open(upload)
            if image.format not in {"PNG", "JPEG", "WEBP"}:
                raise forms.ValidationError(
                    _("The logo must be a PNG, JPEG or WebP image."), code="format"
                )
            if image.width * image.height > 40_000_000:
                raise forms.ValidationError(_("That image is far too large."), code="too_big")
            image.load()
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise forms.ValidationError(
                _("That file isn't an image we can read. Upload a PNG, JPEG or WebP."),
                code="not_image",
            ) from error
        # Re-encode: drops EXIF and any other metadata, and anything hiding in the file.
        clean = image.convert("RGBA")
        clean.thumbnail((LOGO_MAX_PIXELS, LOGO_MAX_PIXELS))
        out = io.BytesIO()
        clean.save(out, format="PNG", optimize=True)
        return SimpleUploadedFile("logo.png", out.getvalue(), content_type="image/png")


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("decline", _("Decline"))], widget=forms.RadioSelect
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=500)


class RequestGroupForm(forms.Form):
    name = forms.CharField(label=_("Name of the group"), max_length=200)
    slug = forms.SlugField(
        label=_("Short name for web addresses"),
        max_length=100,
        required=False,
        help_text=_("Letters, numbers and hyphens. Leave empty to make one from the name."),
    )
    kind = forms.ChoiceField(label=_("Kind of group"), choices=Group.Kind.choices)
    description = forms.CharField(
        label=_("What the group does"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, parent: Group | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parent = parent

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name = cleaned.get("name", "")
        slug = cleaned.get("slug") or slugify(name)[:100]
        if not slug:
            self.add_error("slug", _("Enter a short name using letters or numbers."))
        elif slug in RESERVED_SLUGS:
            self.add_error(
                "slug" if cleaned.get("slug") else "name",
                _("“%(slug)s” is reserved. Choose another short name.") % {"slug": slug},
            )
        elif Group.objects.filter(slug=slug).exists():
            self.add_error(
                "slug" if cleaned.get("slug") else "name",
                _("A group called “%(slug)s” already exists. Choose another short name.")
                % {"slug": slug},
            )
        cleaned["slug"] = slug
        try:
            check_parent_allowed(None, self.parent)
        except GroupRuleBroken as error:
            raise forms.ValidationError(str(error)) from error
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("Recorded with the decision and shown to those affected."),
    )


class MovementLimitsForm(forms.ModelForm):
    class Meta:
        model = MovementLimits
        fields = ["updates_per_week_normal", "updates_per_week_campaign", "max_retention_months"]

    def clean_max_retention_months(self) -> int:
        months = self.cleaned_data["max_retention_months"]
        if months is not None and months < 1:
            raise forms.ValidationError(
                _("Let groups keep an ex-member's details for at least 1 month."),
                code="too_short",
            )
        return months

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        normal = cleaned.get("updates_per_week_normal")
        campaign = cleaned.get("updates_per_week_campaign")
        if normal is not None and campaign is not None and campaign < normal:
            self.add_error(
                "updates_per_week_campaign",
                _("During campaigns the limit can be the same as normal or higher, not lower."),
            )
        return cleaned
