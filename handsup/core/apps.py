from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "handsup.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Registers the periodic jobs with the schedule.
        from handsup.core import jobs  # noqa: F401
