from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "handsup.stories"
    label = "stories"
    verbose_name = "Stories"

    def ready(self) -> None:
        from handsup.stories import digest  # noqa: F401 (the digest's featured stories)
