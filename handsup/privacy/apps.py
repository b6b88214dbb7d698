from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules


class PrivacyConfig(AppConfig):
    name = "handsup.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from handsup.privacy import (
            inventory_fields,  # noqa: F401  (this app's own fields)
            notice,  # noqa: F401  (the sign-in check for fresh consent)
            retention,  # noqa: F401  (the daily job and the sign-in receiver)
            tasks,  # noqa: F401  (registers the periodic job)
        )
        from handsup.privacy.register import restore_standard_register_after_migrate

        # Every app's `inventory.py` declares its fields in the field inventory.
        autodiscover_modules("inventory")
        # Put back any standard purpose missing after `migrate`, or after a test
        # database flush (which emits the same signal): see register.py.
        post_migrate.connect(
            restore_standard_register_after_migrate,
            sender=self,
            dispatch_uid="privacy.restore_standard_register",
        )
