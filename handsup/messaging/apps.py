from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "handsup.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Registers the delivery schedule, and connects the mail provider's tracking
        # events and allauth's address confirmations (`tracking.py`).
        from handsup.messaging import jobs, tracking  # noqa: F401
