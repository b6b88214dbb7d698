from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "handsup.places"
    label = "places"
    verbose_name = "Places"

    def ready(self) -> None:
        from handsup.core.demo_steps import DEMO_STEPS
        from handsup.places.demo import load_postcodes_if_empty

        if load_postcodes_if_empty not in DEMO_STEPS:
            DEMO_STEPS.append(load_postcodes_if_empty)
