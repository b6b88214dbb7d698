from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "handsup.messaging"
    label = "messaging"
    verbose_name = "Messaging"
