from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "handsup.groups"
    label = "groups"
    verbose_name = "Groups"

    def ready(self) -> None:
        from handsup.core.seeding import SeedStep, register_seed_step
        from handsup.groups.seeding import build_groups, reset_groups

        register_seed_step(
            SeedStep(name="groups", build=build_groups, reset=reset_groups, after=("people",))
        )
