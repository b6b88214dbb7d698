"""What a story looks like away from its page: summary, share text, Open Graph values.

Everything here is plain text or HTML we built ourselves: the author's Markdown reaches
a page only through `story_body_html` (the messaging renderer, raw HTML off, cleaned),
and reaches feeds, share text and meta tags only as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, urlencode

import nh3
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from handsup.messaging.rendering import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    LINK_SCHEMES,
    markdown_to_html,
    markdown_to_text,
)
from handsup.places.areas import display_area
from handsup.stories.models import Region, Story, StoryImage

SUMMARY_LENGTH = 200
# Long enough that a share sentence and the link fit a short post.
SHARE_TITLE_LENGTH = 100


@cache
def _story_cleaner() -> nh3.Cleaner:
    # The messaging allow-list, with links marked as not ours to vouch for.
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        link_rel="nofollow noopener",
    )


def story_body_html(story: Story) -> str:
    """The story's Markdown as safe HTML; its links get rel="nofollow noopener"."""
    return _story_cleaner().clean(markdown_to_html(story.body))


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:–-") + "…"


_LINK_TARGET = re.compile(r" \((?:https?|mailto):[^)\s]*\)")


def story_summary(story: Story, limit: int = SUMMARY_LENGTH) -> str:
    """The opening of the story as plain text (no Markdown, no link addresses)."""
    text = _LINK_TARGET.sub("", markdown_to_text(story.body, width=10_000))
    return shorten(text, limit)


def story_place(story: Story) -> str:
    """Where it happened, never finer than the district: "Manchester (M1)" or "Wales"."""
    if story.district:
        return display_area(story.district)
    if story.region:
        return str(Region(story.region).label)
    return ""


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def story_url(story: Story) -> str:
    return absolute(reverse("stories:story", args=[story.public_id]))


def image_url(story: Story, image: StoryImage) -> str:
    return absolute(reverse("stories:image", args=[story.public_id, image.pk]))


def share_text(story: Story) -> str:
    """A sentence and the link, ready to paste anywhere."""
    title = shorten(story.title, SHARE_TITLE_LENGTH)
    if story.group is not None:
        sentence = _("%(group)s: “%(title)s”. Read their story on Hands Up:") % {
            "group": story.group.name,
            "title": title,
        }
    else:
        sentence = _("“%(title)s”: a story from Hands Up.") % {"title": title}
    return f"{sentence} {story_url(story)}"


@dataclass(frozen=True)
class ShareLink:
    label: str
    href: str
    new_tab: bool = True


def share_links(story: Story) -> list[ShareLink]:
    """Plain links to share the story: no third-party script runs on our page."""
    url = story_url(story)
    text = share_text(story)
    return [
        ShareLink(
            _("email"),
            "mailto:?" + urlencode({"subject": story.title, "body": text}, quote_via=quote),
            new_tab=False,
        ),
        ShareLink("WhatsApp", "https://wa.me/?" + urlencode({"text": text}, quote_via=quote)),
        ShareLink(
            "Bluesky",
            "https://bsky.app/intent/compose?" + urlencode({"text": text}, quote_via=quote),
        ),
        ShareLink(
            "Facebook",
            "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}, quote_via=quote),
        ),
    ]


@dataclass(frozen=True)
class OpenGraph:
    title: str
    description: str
    url: str
    image: str = ""
    image_alt: str = ""
    type: str = "article"


def open_graph(story: Story, first_image: StoryImage | None) -> OpenGraph:
    return OpenGraph(
        title=story.title,
        description=story_summary(story),
        url=story_url(story),
        image=image_url(story, first_image) if first_image is not None else "",
        image_alt=first_image.alt_text if first_image is not None else "",
    )
