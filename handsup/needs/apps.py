from django.apps import AppConfig


class NeedsConfig(AppConfig):
    name = "handsup.needs"
    label = "needs"
    verbose_name = "Needs"
