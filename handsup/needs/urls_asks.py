"""Routes of the needs app: see the module of the same name without `urls_`."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
