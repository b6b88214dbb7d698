"""Demo-mode email: printed to the console and kept for the demo "sent mail" page."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.message import EmailMessage


class DemoEmailBackend(ConsoleBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from handsup.core.models import DemoMail

        sent = super().send_messages(email_messages)
        DemoMail.objects.bulk_create(
            DemoMail(
                to=", ".join(message.to),
                subject=str(message.subject)[:500],
                body=str(message.body),
            )
            for message in email_messages
        )
        return sent
