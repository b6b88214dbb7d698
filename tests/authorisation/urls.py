"""Every URL pattern the project serves, read from the resolver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    pattern: str  # the full route, e.g. "groups/<str:public_id>/organise/"
    name: str | None  # namespaced name, e.g. "groups:organise"


def all_routes() -> list[Route]:
    def walk(patterns: list, prefix: str, namespace: str) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name}" if entry.name else None
                yield Route(prefix + str(entry.pattern), name)

    return list(walk(get_resolver().url_patterns, "", ""))
