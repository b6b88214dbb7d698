"""What people does when something happens elsewhere (connected in `PeopleConfig.ready`)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from handsup.people.actions import do_mark_verified


@receiver(email_confirmed, dispatch_uid="people.mark_verified")
def mark_verified_on_confirmation(*, email_address: EmailAddress, **kwargs: Any) -> None:
    user = email_address.user
    # Confirming a second address proves nothing about the one we use.
    if email_address.email.lower() == user.email.lower():
        do_mark_verified(user=user)
