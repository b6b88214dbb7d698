"""What the author of a story is told when curators decide on it.

Each is a service message (`needs.notices.send_notice`), sent inside the action's
transaction so the note and the change it reports appear together or not at all. The
curator's note is the curator's own words; it goes into the Markdown as plain text.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.needs.notices import send_notice
from handsup.stories.models import Story

SUBJECT_MAX = 200


def plain_markdown(text: str) -> str:
    """Someone's words, safe to put in a notice's Markdown as plain text."""
    escaped = re.sub(r"([\\`*_{}\[\]()<>!|~&#])", r"\\\1", text.strip())
    return re.sub(r"^(\s*)([+=-]|\d+[.)])", r"\1\\\2", escaped, flags=re.MULTILINE)


def _quoted(text: str) -> str:
    return "\n".join(
        f"> {line}" if line.strip() else ">" for line in plain_markdown(text).splitlines()
    )


def _subject(text: str) -> str:
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…"


def tell_author_of_status(*, actor: User, story: Story, now: datetime | None = None) -> None:
    """Tell the author their story needs changes, was rejected, or is published."""
    title = plain_markdown(story.title)
    mine = settings.SITE_URL + reverse("stories:mine")
    if story.status == Story.Status.NEEDS_CHANGES:
        edit = settings.SITE_URL + reverse("stories:edit", args=[story.public_id])
        subject = _("Your story “%(title)s” needs a few changes") % {"title": story.title}
        body = "\n\n".join(
            [
                _(
                    "Thank you for your story “%(title)s”. Before we publish it, our "
                    "curators ask you to change this:"
                )
                % {"title": title},
                _quoted(story.status_note),
                _("[Change your story](%(url)s). When you save it, it comes back to us.")
                % {"url": edit},
            ]
        )
    elif story.status == Story.Status.REJECTED:
        subject = _("Your story “%(title)s”") % {"title": story.title}
        body = "\n\n".join(
            [
                _("Thank you for your story “%(title)s”. We're not able to publish it, because:")
                % {"title": title},
                _quoted(story.status_note),
                _("[See your stories](%(url)s).") % {"url": mine},
            ]
        )
    elif story.status == Story.Status.PUBLISHED:
        subject = _("Your story “%(title)s” is published") % {"title": story.title}
        body = "\n\n".join(
            [
                _("Your story “%(title)s” is published on Hands Up. Thank you for telling it.")
                % {"title": title},
                _("[See your stories](%(url)s).") % {"url": mine},
            ]
        )
    else:
        return
    send_notice(
        actor=actor,
        to=[story.author],
        group=None,
        subject=_subject(subject),
        body_markdown=body,
        now=now,
    )
