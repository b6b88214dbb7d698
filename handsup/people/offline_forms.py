"""Forms for registering someone offline and for claiming the account afterwards."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from handsup.accounts.models import User
from handsup.people.models import ClaimCode
from handsup.people.offline import OfflineDetails, hash_claim_code
from handsup.places.geo import Location, geocode
from handsup.places.postcodes import PlaceError, PostcodeOutsideGreatBritain
from handsup.privacy.models import ConsentEvent

CHANNEL_CHOICES = [
    ("email", _("Email")),
    ("phone", _("Phone")),
    ("post", _("Post")),
]


def email_taken(email: str, *, except_user: User | None = None) -> bool:
    """Whether another account already uses `email` (as its login or an added address)."""
    users = User.objects.filter(email__iexact=email)
    addresses = EmailAddress.objects.filter(email__iexact=email)
    if except_user is not None:
        users = users.exclude(pk=except_user.pk)
        addresses = addresses.exclude(user=except_user)
    return users.exists() or addresses.exists()


class OfflinePersonForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    agreed_by = forms.ChoiceField(
        label=_("How they agreed"),
        choices=[
            (ConsentEvent.Source.PAPER, _("On a paper form they signed")),
            (ConsentEvent.Source.PHONE, _("By phone, to me")),
        ],
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        help_text=_("Optional. With an email address we send them a code to claim their account."),
    )
    phone = forms.CharField(label=_("Phone number"), max_length=30, required=False)
    postal_address = forms.CharField(
        label=_("Postal address"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    channels = forms.MultipleChoiceField(
        label=_("How they agreed to be contacted by this group"),
        choices=CHANNEL_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one way they agreed to be contacted.")},
    )
    share_contact = forms.BooleanField(
        label=_("They agreed that this group's organisers may see their contact details"),
        required=False,
        initial=True,
    )
    place = forms.CharField(
        label=_("Postcode or district"),
        max_length=10,
        required=False,
        help_text=_(
            "A full postcode, like M1 1AE, or just the first part, like M1. Leave it blank "
            "if they only want to help remotely."
        ),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email and email_taken(email):
            raise forms.ValidationError(
                _(
                    "Someone already has an account with this email address. Ask them to "
                    "join the group themselves, or leave the email blank."
                ),
                code="email_taken",
            )
        return email

    def clean_place(self) -> Location | None:
        raw = self.cleaned_data["place"].strip()
        if not raw:
            return None
        try:
            return geocode(raw, fall_back_to_district=True)
        except PostcodeOutsideGreatBritain as error:
            raise forms.ValidationError(
                _(
                    "We can't place postcodes in Northern Ireland or the Crown Dependencies "
                    "yet. Leave this blank: they can still help remotely."
                ),
                code=error.code,
            ) from error
        except PlaceError as error:
            raise forms.ValidationError(
                _(
                    "%(problem)s Enter just the district (like M1), or leave it blank for "
                    "remote only."
                )
                % {"problem": error.message},
                code=error.code,
            ) from error

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        needs = {"email": "email", "phone": "phone", "post": "postal_address"}
        for channel in data.get("channels", []):
            field = needs[channel]
            if field in data and not data[field]:
                self.add_error(
                    field,
                    forms.ValidationError(
                        _("They agreed to be contacted this way: fill this in, or untick it."),
                        code="channel_without_detail",
                    ),
                )
        if not any(data.get(field) for field in needs.values()):
            raise forms.ValidationError(
                _("Give at least one way to reach them: email, phone or postal address."),
                code="unreachable",
            )
        return data

    def details(self) -> OfflineDetails:
        data = self.cleaned_data
        return OfflineDetails(
            name=data["name"].strip(),
            agreed_by=data["agreed_by"],
            email=data["email"],
            phone=data["phone"].strip(),
            postal_address=data["postal_address"].strip(),
            channels=tuple(data["channels"]),
            share_contact=data["share_contact"],
            place=data["place"],
        )


class ClaimForm(forms.Form):
    code = forms.CharField(
        label=_("Your code"),
        max_length=20,
        help_text=_("From your letter or email, like ABCDE-FGH23."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("You will log in with this."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claim: ClaimCode | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        code, email, password = data.get("code"), data.get("email"), data.get("password")
        if code:
            self.claim = (
                ClaimCode.objects.select_related("person__user")
                .filter(code_hash=hash_claim_code(code))
                .first()
            )
        owner = self.claim.person.user if self.claim else None
        if email:
            data["email"] = email = email.strip().lower()
            # Only once the code is known to be real: a wrong code must not reveal
            # which addresses have accounts.
            if owner is not None and email_taken(email, except_user=owner):
                self.add_error(
                    "email",
                    forms.ValidationError(
                        _("Another account uses this email address. Use a different one."),
                        code="email_taken",
                    ),
                )
        if password:
            candidate = User(email=email or "", full_name=owner.full_name if owner else "")
            try:
                validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


# --- The printable sign-up form -----------------------------------------------------------


def web_signup_forms() -> list[type[forms.BaseForm]]:
    """The web sign-up's form classes, in the order the steps ask them.

    The printable form is drawn from these, so paper and web can't drift apart. The
    onboarding journey's forms (`handsup.people.forms`) declare them as `ONBOARDING_FORMS`;
    until that module exists, the offline registration form is the web form.
    """
    try:
        from handsup.people import forms as onboarding  # type: ignore[attr-defined]
    except ImportError:
        return [OfflinePersonForm]
    declared = getattr(onboarding, "ONBOARDING_FORMS", None)
    if declared:
        return [*declared]
    defined_there = [
        value
        for value in vars(onboarding).values()
        if isinstance(value, type)
        and issubclass(value, forms.BaseForm)
        and value.__module__ == onboarding.__name__
    ]
    fallback: list[type[forms.BaseForm]] = [OfflinePersonForm]
    return defined_there or fallback
