from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "handsup.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from handsup.messaging import jobs  # noqa: F401 (registers the delivery schedule)
