from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "handsup.groups"
    label = "groups"
    verbose_name = "Groups"
