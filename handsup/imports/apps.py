from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "handsup.imports"
    label = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        # Registers the retention job with the schedule.
        from handsup.imports import retention  # noqa: F401
