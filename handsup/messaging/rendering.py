"""Turn what organisers write (a small Markdown subset) into safe email bodies.

Three layers, each for its own reason:

* `markdown_problems` reads the Markdown *before* anything is stored and names what we
  refuse (script tags, raw HTML, images, links we won't send): the composer shows these
  next to the field, so nothing an organiser wrote disappears without them knowing.
* `markdown_to_html` renders with raw HTML off and then cleans with `nh3` against an
  allow-list, so even Markdown that skipped the check can only ever produce paragraphs,
  emphasis, lists, links, h2–h4 headings, quotes and code.
* `build_email` wraps the body in our own email template (no remote images, fonts or
  stylesheets: they track readers and many clients block them), inlines its CSS with
  `css_inline` (remote stylesheets off), and adds the plain-text alternative and the
  footer saying why the person got it and how to stop it.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import css_inline
import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from handsup.messaging.models import Kind, Message

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "em",
        "strong",
        "ul",
        "ol",
        "li",
        "a",
        "h2",
        "h3",
        "h4",
        "blockquote",
        "code",
        "pre",
        "hr",
    }
)
ALLOWED_ATTRIBUTES = {"a": frozenset({"href"}), "ol": frozenset({"start"})}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener"
# Markdown's `#` is the top level, but an email's top heading is its subject: a `#`
# heading becomes h2, and h5/h6 become h4, instead of being dropped.
HIGHEST_HEADING, LOWEST_HEADING = 2, 4

# Stands in for the per-recipient unsubscribe link while the shared part of an email is
# rendered and inlined once per message; `PreparedEmail.for_recipient` swaps it in.
UNSUBSCRIBE_PLACEHOLDER = "https://handsup-unsubscribe-placeholder.invalid/"
TEXT_WIDTH = 72


# --- Markdown -----------------------------------------------------------------------------


def _clamp_headings(state: object) -> None:
    tokens: list[Token] = state.tokens  # type: ignore[attr-defined]
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(max(int(token.tag[1]), HIGHEST_HEADING), LOWEST_HEADING)
            token.tag = f"h{level}"


@cache
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.core.ruler.push("handsup_clamp_headings", _clamp_headings)
    return md


@cache
def _inspector(*, html: bool) -> MarkdownIt:
    """A parser that keeps everything as tokens, so the check can name what it refuses.

    With `html` on it finds raw HTML; with it off, the images and links, including any
    written inside a block of raw HTML (which the HTML-on parse takes as one opaque block).
    """
    md = MarkdownIt("commonmark", {"html": html})
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        # A relative link means nothing in someone's inbox.
        url_relative="deny",
    )


def _link_scheme(url: str) -> str:
    return urlsplit(url.strip()).scheme.lower()


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)|<[!?]")


def _html_tag_names(fragment: str) -> list[str]:
    """The tag names in a piece of raw HTML ("" for a comment or declaration)."""
    return [
        match.group(2).lower() if match.group(2) else "" for match in HTML_TAG.finditer(fragment)
    ]


def markdown_problems(markdown: str) -> list[str]:
    """What in `markdown` we would not send, each as a sentence the writer can act on.

    Empty when the Markdown is fine. Script tags, images (remote or not) and other raw
    HTML are reported rather than silently dropped; so are links to anything but web
    and email addresses.
    """
    problems: list[str] = []
    seen: set[str] = set()

    def report(problem: str) -> None:
        if problem not in seen:
            seen.add(problem)
            problems.append(problem)

    def check_html(fragment: str) -> None:
        for name in _html_tag_names(fragment):
            if name in ("script", "noscript"):
                report(
                    _(
                        "Remove the <script> tag: messages can't run scripts, "
                        "and we won't send one that tries."
                    )
                )
            elif name == "img" or name == "picture":
                report(
                    _(
                        "Remove the image (<img>): our emails don't load pictures from "
                        "other sites, because they tell the sender who opened the email."
                    )
                )
            elif name == "style":
                report(_("Remove the <style> tag: our emails use their own styles."))
            elif name:
                report(
                    _(
                        "Remove the HTML tag <%(tag)s>: write formatting in Markdown "
                        "instead (for example **bold**, *italic*, ## Heading, - list item)."
                    )
                    % {"tag": name}
                )
            else:
                report(_("Remove the HTML comment or declaration (“<!…>”)."))

    for token in _inspector(html=True).parse(markdown):
        if token.type == "html_block":
            check_html(token.content)
        for child in token.children or ():
            if child.type == "html_inline":
                check_html(child.content)
    for token in _inspector(html=False).parse(markdown):
        for child in token.children or ():
            if child.type == "image":
                source = str(child.attrs.get("src", ""))
                if _link_scheme(source) in ("http", "https") or source.startswith("//"):
                    report(
                        _(
                            "Remove the image %(src)s: our emails don't load pictures "
                            "from other sites, because they tell the sender who opened "
                            "the email. Link to it instead: [description](address)."
                        )
                        % {"src": _shorten(source)}
                    )
                else:
                    report(
                        _("Remove the image %(src)s: messages can't include pictures.")
                        % {"src": _shorten(source) or "![…]"}
                    )
            elif child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                scheme = _link_scheme(href)
                if not scheme:
                    report(
                        _(
                            "The link “%(href)s” needs a full address, starting with "
                            "https:// (or mailto: for an email address)."
                        )
                        % {"href": _shorten(href)}
                    )
                elif scheme not in LINK_SCHEMES:
                    report(
                        _(
                            "The link “%(href)s” isn't allowed: links must start with "
                            "https://, http:// or mailto:."
                        )
                        % {"href": _shorten(href)}
                    )
    return problems


def check_markdown(markdown: str) -> None:
    """Raise `ValidationError` listing every problem `markdown_problems` finds."""
    problems = markdown_problems(markdown)
    if problems:
        raise ValidationError([ValidationError(p, code="unsafe_markdown") for p in problems])


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment down to the allow-list (tags, attributes, link schemes)."""
    return _cleaner().clean(fragment)


def markdown_to_html(markdown: str) -> str:
    """The safe HTML fragment for `markdown` (raw HTML shown as text, then cleaned)."""
    return sanitize_html(_renderer().render(markdown))


def markdown_to_text(markdown: str, *, width: int = TEXT_WIDTH) -> str:
    """A plain-text rendering: wrapped paragraphs, "- " lists, links as "text (address)"."""
    tree = SyntaxTreeNode(_renderer().parse(markdown))
    blocks = _text_blocks(tree.children, width=width)
    return "\n\n".join(block for block in blocks if block.strip()).strip() + "\n"


def _inline_text(node: SyntaxTreeNode) -> str:
    parts: list[str] = []
    for child in node.children:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "link":
            label = _inline_text(child)
            href = str(child.attrs.get("href", ""))
            bare = label in (href, href.removeprefix("mailto:"))
            if bare or _link_scheme(href) not in LINK_SCHEMES:
                parts.append(label)
            else:
                parts.append(f"{label} ({href})")
        elif child.type == "image":
            continue  # refused by the check; never a remote fetch, even as text
        else:
            parts.append(_inline_text(child))
    return "".join(parts)


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> str:
    lines = []
    for index, line in enumerate(text.split("\n")):
        lines.append(
            textwrap.fill(
                line,
                width=width,
                initial_indent=first if index == 0 else rest,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or (first if index == 0 else rest).rstrip()
        )
    return "\n".join(lines)


def _text_blocks(nodes: list[SyntaxTreeNode], *, width: int) -> list[str]:
    blocks: list[str] = []
    for node in nodes:
        if node.type == "paragraph":
            blocks.append(_wrap(_inline_text(node.children[0]), width))
        elif node.type == "heading":
            title = _inline_text(node.children[0])
            underline = "=" if node.tag == "h2" else "-"
            blocks.append(f"{title}\n{underline * min(len(title), width)}")
        elif node.type in ("bullet_list", "ordered_list"):
            start = int(node.attrs.get("start", 1) or 1)
            items = []
            for number, item in enumerate(node.children, start=start):
                marker = "- " if node.type == "bullet_list" else f"{number}. "
                inner = "\n".join(_text_blocks(item.children, width=width - len(marker)))
                items.append(_indent_first(inner, marker))
            blocks.append("\n".join(items))
        elif node.type == "blockquote":
            inner = "\n\n".join(_text_blocks(node.children, width=width - 2))
            blocks.append("\n".join(f"> {line}".rstrip() for line in inner.split("\n")))
        elif node.type in ("fence", "code_block"):
            blocks.append(
                "\n".join("    " + line for line in node.content.rstrip("\n").split("\n"))
            )
        elif node.type == "hr":
            blocks.append("-" * 20)
        elif node.type == "html_block":
            blocks.append(node.content.strip())
        elif node.type == "inline":
            blocks.append(_wrap(_inline_text(node), width))
        else:
            blocks.extend(_text_blocks(node.children, width=width))
    return blocks


def _indent_first(text: str, marker: str) -> str:
    pad = " " * len(marker)
    lines = text.split("\n")
    return "\n".join([marker + lines[0], *((pad + line) if line else "" for line in lines[1:])])


# --- The email ---------------------------------------------------------------------------


def message_body_html(message: Message) -> str:
    """The message's body as a safe HTML fragment, whichever form it was written in."""
    if message.body_markdown.strip():
        return markdown_to_html(message.body_markdown)
    if message.body_html.strip():
        return sanitize_html(message.body_html)
    return str(linebreaks(escape(message.body_text)))


def message_body_text(message: Message) -> str:
    if message.body_text.strip():
        return message.body_text.strip() + "\n"
    if message.body_markdown.strip():
        return markdown_to_text(message.body_markdown)
    return nh3.clean_text(message.body_html).strip() + "\n"


def why_you_got_it(message: Message) -> str:
    """The footer's first sentence: why this person is getting this message."""
    group = message.group.name if message.group is not None else ""
    if message.kind == Kind.SERVICE:
        return _(
            "You're getting this because of something you did on Hands Up, or something "
            "about your account. We send these whatever your email settings are."
        )
    if message.kind == Kind.DIGEST:
        return _("You're getting this because you asked for a digest of your groups' news.")
    if message.kind == Kind.ASK and group:
        return _(
            "You're getting this because %(group)s is looking for help that fits your "
            "skills, and you said groups may find you and ask you. They don't have your "
            "name or address unless you say yes."
        ) % {"group": group}
    if group:
        return _(
            "You're getting this because you're a member of %(group)s and agreed that it "
            "may email you."
        ) % {"group": group}
    return _("You're getting this because you agreed to hear news from the movement.")


def what_the_link_stops(message: Message) -> str:
    if message.group is not None:
        return _("Stop emails from %(group)s") % {"group": message.group.name}
    return _("Stop emails like this (%(kind)s)") % {"kind": message.get_kind_display()}


@cache
def _inliner() -> css_inline.CSSInliner:
    # Remote stylesheets off: rendering must never fetch anything, and the template
    # only has its own <style> block anyway.
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


@dataclass(frozen=True)
class PreparedEmail:
    """One message's email, rendered and inlined once; each recipient gets their link."""

    subject: str
    html: str
    text: str
    has_unsubscribe: bool

    def for_recipient(self, unsubscribe_url: str | None) -> tuple[str, str]:
        """(HTML, text) for one person, with their own unsubscribe link swapped in."""
        if not self.has_unsubscribe or unsubscribe_url is None:
            return self.html, self.text
        return (
            self.html.replace(UNSUBSCRIBE_PLACEHOLDER, html.escape(unsubscribe_url, quote=True)),
            self.text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url),
        )


def build_email(message: Message) -> PreparedEmail:
    """Render `message` through the email templates, CSS inlined, ready per recipient."""
    has_unsubscribe = message.kind != Kind.SERVICE
    context = {
        "message": message,
        "subject": message.subject,
        "body_html": mark_safe(message_body_html(message)),  # noqa: S308 (cleaned by nh3)
        "body_text": message_body_text(message),
        "group_name": message.group.name if message.group is not None else "",
        "why": why_you_got_it(message),
        "stop_label": what_the_link_stops(message) if has_unsubscribe else "",
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER if has_unsubscribe else "",
        "site_url": settings.SITE_URL,
    }
    page = render_to_string("messaging/email/message.html", context)
    text = render_to_string("messaging/email/message.txt", context)
    return PreparedEmail(
        subject=message.subject,
        html=_inliner().inline(page),
        text=_tidy_text(text),
        has_unsubscribe=has_unsubscribe,
    )


def _tidy_text(text: str) -> str:
    """Collapse the blank lines template tags leave behind (at most one in a row)."""
    lines = [line.rstrip() for line in text.strip().split("\n")]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"
