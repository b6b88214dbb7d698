"""The REST API root. Operations arrive with the open-platform issue."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest
from ninja import NinjaAPI, Schema

api = NinjaAPI(
    title="Hands Up API",
    version="1",
    urls_namespace="api",
    description="The Hands Up REST API. Group-scoped tokens and resources are documented here.",
)


class Health(Schema):
    status: str
    database: str


@api.get("/health", response=Health, auth=None, tags=["meta"])
def health(request: HttpRequest) -> Health:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Health(status="ok", database=connection.vendor)
