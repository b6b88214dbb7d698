from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "handsup.platform"
    label = "platform"
    verbose_name = "Open platform"

    def ready(self) -> None:
        # Registers the API's routers on handsup.core.api.api (the import is the point).
        import handsup.platform.webhook_jobs  # noqa: F401  (registers the webhook sender)
        from handsup.platform import api  # noqa: F401
