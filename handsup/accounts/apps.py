from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "handsup.accounts"
    label = "accounts"
    verbose_name = "Accounts"
