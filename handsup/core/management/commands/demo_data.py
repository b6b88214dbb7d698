"""Load the demo movement: groups, one login per persona, a few needs and stories. Safe
to run twice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from handsup.core.personas import DEMO_PASSWORD, PERSONAS, build_demo_groups, build_personas
from handsup.needs.demo import build_demo_needs
from handsup.platform.tools_demo import build_demo_tools
from handsup.stories.demo import build_demo_stories


class Command(BaseCommand):
    help = "Create the demo groups and personas (idempotent) and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        groups = build_demo_groups()
        users = build_personas(groups)
        build_demo_needs(groups, users)
        build_demo_stories(groups, users)
        build_demo_tools(groups, users)
        self.stdout.write(
            self.style.SUCCESS("Demo logins (password for all: " + DEMO_PASSWORD + ")")
        )
        for spec in PERSONAS:
            mfa = f"  TOTP secret: {spec.totp_secret}" if spec.has_mfa else ""
            self.stdout.write(f"  {spec.label:<40} {spec.email}{mfa}")
