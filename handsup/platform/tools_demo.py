"""A few tools for the demo registry, so readers, maintainers and curators have something
to see.

`handsup demo_data` calls `build_demo_tools` after the personas. It adds tools only when
there are none, so running it twice adds nothing. Two are published (one maintained by
group A with the demo organiser listed, one with a group using it) and one waits in the
curators' queue.
"""

from __future__ import annotations

from django.db import transaction

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.platform.models import Tool, ToolMaintainer


@transaction.atomic
def build_demo_tools(groups: dict[str, Group], users: dict[str, User]) -> list[Tool]:
    if Tool.objects.exists():
        return []
    doorstep = Tool.objects.create(
        name="Doorstep",
        summary="Plan a canvassing session on a shared map, street by street.",
        description=(
            "Doorstep splits a ward's streets between canvassers, prints **walk sheets** and "
            "collects what people said at the door.\n\n- Works offline on a phone\n"
            "- Exports to CSV for your group's records"
        ),
        licence="AGPL-3.0",
        source_url="https://example.org/handsup/doorstep",
        status=Tool.Status.IN_USE,
        tags=["canvassing", "maps", "mobile"],
        review=Tool.Review.PUBLISHED,
        submitted_by=users["organiser_a"],
    )
    doorstep.maintainer_groups.set([groups["group_a"]])
    doorstep.used_by.set([groups["group_a"], groups["group_b"]])
    ToolMaintainer.objects.create(tool=doorstep, user=users["organiser_a"])
    rota = Tool.objects.create(
        name="Rota Board",
        summary="A shared rota for street stalls and phone banks.",
        description="Volunteers pick their own slots; organisers see the gaps at a glance.",
        licence="MIT",
        source_url="https://example.org/handsup/rota-board",
        status=Tool.Status.BUILDING,
        tags=["rotas", "volunteers"],
        review=Tool.Review.PUBLISHED,
        submitted_by=users["organiser_b"],
    )
    rota.maintainer_groups.set([groups["group_b"]])
    waiting = Tool.objects.create(
        name="Leaflet Counter",
        summary="Track which streets have had this month's leaflet.",
        description="A spreadsheet template with a map view. Ideas welcome.",
        licence="Not decided yet",
        source_url="https://example.org/handsup/leaflet-counter",
        status=Tool.Status.IDEA,
        tags=["leafleting", "data"],
        review=Tool.Review.PENDING,
        submitted_by=users["volunteer"],
    )
    return [doorstep, rota, waiting]
