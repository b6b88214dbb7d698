from django.apps import AppConfig


class NeedsConfig(AppConfig):
    name = "handsup.needs"
    label = "needs"
    verbose_name = "Needs"

    def ready(self) -> None:
        from handsup.core.seeding import SeedStep, register_seed_step
        from handsup.needs import digest, index_changes, jobs  # noqa: F401 (section and job)
        from handsup.needs.seeding import build_needs, reset_needs

        index_changes.connect()
        register_seed_step(
            SeedStep(name="needs", build=build_needs, reset=reset_needs, after=("groups", "talent"))
        )
