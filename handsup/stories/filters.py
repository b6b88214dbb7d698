"""The readers' filters on published stories: issue tag, type of action, region.

The index and the Atom feeds take the same three query parameters (`?issue=<slug>`,
`?action=<slug>`, `?region=<code>`), combined. A value we don't know is a problem to
tell the reader about ("there is no issue tag called …"), never a 500 and never a
silently unfiltered list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from handsup.stories.models import Region, Tag
from handsup.stories.querysets import StoryQuerySet

# Longer than any slug or region code: not worth looking up, and not worth echoing.
LONGEST_VALUE = 60


@dataclass
class StoryFilters:
    issue: Tag | None = None
    action: Tag | None = None
    region: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.issue or self.action or self.region)

    @property
    def region_name(self) -> str:
        return str(Region(self.region).label) if self.region else ""

    def apply(self, stories: StoryQuerySet) -> StoryQuerySet:
        if self.issue is not None:
            stories = stories.filter(issues=self.issue)
        if self.action is not None:
            stories = stories.filter(action_type=self.action)
        if self.region:
            stories = stories.filter(region=self.region)
        return stories

    def query_string(self) -> str:
        """The filters as `?issue=…&action=…&region=…` (or "" when there are none)."""
        params = {
            "issue": self.issue.slug if self.issue else "",
            "action": self.action.slug if self.action else "",
            "region": self.region,
        }
        encoded = urlencode({key: value for key, value in params.items() if value})
        return f"?{encoded}" if encoded else ""

    def describe(self) -> str:
        """ "Housing · Mutual aid · Wales": the filters in words, for titles."""
        parts = [
            self.issue.name if self.issue else "",
            self.action.name if self.action else "",
            self.region_name,
        ]
        return " · ".join(part for part in parts if part)


def _shown(value: str) -> str:
    return value if len(value) <= 30 else value[:29] + "…"


def parse_filters(params: Mapping[str, str]) -> StoryFilters:
    """Read the filters from query parameters; unknown values end up in `problems`.

    At most one query (the tags named), none when no tag is asked for.
    """
    filters = StoryFilters()
    issue = (params.get("issue") or "").strip().lower()
    action = (params.get("action") or "").strip().lower()
    region = (params.get("region") or "").strip().lower()
    wanted = [(kind, slug) for kind, slug in (("issue", issue), ("action", action)) if slug]
    found: dict[tuple[str, str], Tag] = {}
    if any(len(slug) <= LONGEST_VALUE for _kind, slug in wanted):
        for tag in Tag.objects.filter(slug__in=[slug for _kind, slug in wanted]):
            found[(tag.kind, tag.slug)] = tag
    if issue:
        filters.issue = found.get((Tag.Kind.ISSUE, issue))
        if filters.issue is None:
            filters.problems.append(
                _("There is no issue tag called “%(value)s”.") % {"value": _shown(issue)}
            )
    if action:
        filters.action = found.get((Tag.Kind.ACTION, action))
        if filters.action is None:
            filters.problems.append(
                _("There is no type of action called “%(value)s”.") % {"value": _shown(action)}
            )
    if region:
        if region in Region.values:
            filters.region = region
        else:
            filters.problems.append(
                _("There is no region called “%(value)s”.") % {"value": _shown(region)}
            )
    return filters
