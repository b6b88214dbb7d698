from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "handsup.people"
    label = "people"
    verbose_name = "People"

    def ready(self) -> None:
        from handsup.core.seeding import SeedStep, register_seed_step
        from handsup.people import signals  # noqa: F401 (connects the receivers)
        from handsup.people.seeding import build_people, reset_people
        from handsup.people.seeding_talent import build_talent, reset_talent

        register_seed_step(SeedStep(name="people", build=build_people, reset=reset_people))
        register_seed_step(
            SeedStep(name="talent", build=build_talent, reset=reset_talent, after=("people",))
        )
