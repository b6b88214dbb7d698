"""The safe Markdown subset, the check that names what we refuse, and the email body."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from handsup.messaging.models import Kind, Message
from handsup.messaging.rendering import (
    ALLOWED_TAGS,
    UNSUBSCRIBE_PLACEHOLDER,
    _inliner,
    build_email,
    check_markdown,
    markdown_problems,
    markdown_to_html,
    markdown_to_text,
)

TAG = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)")
ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\s([a-zA-Z-]+)=")

# --- The check: what we refuse, said plainly -----------------------------------------------


def test_plain_markdown_has_no_problems():
    text = (
        "## Saturday\n\nMeet at **10am**, *rain or shine*.\n\n- water\n- [map](https://x.example)"
        "\n\n> quoted\n\n`code`\n\nEmail [us](mailto:team@x.example)."
    )
    assert markdown_problems(text) == []
    check_markdown(text)  # does not raise


def test_a_script_tag_is_refused_by_name():
    problems = markdown_problems("Hello <script>alert('x')</script> there")
    assert len(problems) == 1
    assert "<script>" in problems[0]
    assert "can't run scripts" in problems[0]


def test_a_script_block_is_refused_too():
    assert any("<script>" in p for p in markdown_problems("<script>\nalert(1)\n</script>\n"))


def test_a_remote_image_is_refused_with_its_address_and_the_reason():
    [problem] = markdown_problems("Look: ![our stall](https://cdn.example/stall.png)")
    assert "https://cdn.example/stall.png" in problem
    assert "tell the sender who opened the email" in problem


def test_an_html_image_is_refused():
    [problem] = markdown_problems('<img src="https://t.example/pixel.gif">')
    assert "<img>" in problem


def test_raw_html_is_refused_with_the_tag_named():
    problems = markdown_problems('<div style="color:red">hi</div> and <b>bold</b>')
    assert any("<div>" in p for p in problems)
    assert any("<b>" in p and "**bold**" in p for p in problems)


def test_links_must_be_web_or_email_addresses():
    problems = markdown_problems("[a](javascript:alert(1)) [b](/needs/) [c](data:text/html,x)")
    assert any("javascript:alert(1)" in p and "https://" in p for p in problems)
    assert any("/needs/" in p and "full address" in p for p in problems)
    assert any("data:text/html" in p for p in problems)


def test_html_inside_code_is_just_code():
    assert markdown_problems("Type `<script>` to see it.\n\n```\n<b>x</b>\n```") == []


def test_check_markdown_raises_every_problem_at_once():
    with pytest.raises(ValidationError) as raised:
        check_markdown("<script>x</script> ![p](http://x.example/p.png)")
    assert len(raised.value.messages) == 2
    assert raised.value.error_list[0].code == "unsafe_markdown"


# --- Rendering: only the allow-list comes out -----------------------------------------------


def test_markdown_renders_to_the_allowed_subset():
    html = markdown_to_html(
        "# Title\n\n##### Small\n\n**b** *i* [l](https://x.example)\n\n1. one\n2. two"
    )
    assert "<h2>Title</h2>" in html  # a `#` heading steps down: the subject is the h1
    assert "<h4>Small</h4>" in html
    assert "<strong>b</strong> <em>i</em>" in html
    assert '<a href="https://x.example" rel="noopener">l</a>' in html
    assert "<ol>" in html and "<li>one</li>" in html


def test_raw_html_that_skipped_the_check_is_shown_as_text_not_run():
    html = markdown_to_html("<script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_images_and_bad_links_never_render():
    html = markdown_to_html("![x](https://t.example/p.gif) [a](javascript:alert(1)) [b](/rel)")
    assert "<img" not in html
    assert 'href="/rel"' not in html
    assert "href=" not in html


SUSPICIOUS = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "![x](https://t.example/p.gif)",
        '<p style="color:red">x</p>',
        "<iframe src=https://x.example></iframe>",
        "<style>body{}</style>",
        "**bold**",
        "# heading",
        "- item",
        "[ok](https://ok.example)",
        "\n\n",
        "`<b>`",
        "> quote",
    ]
)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(SUSPICIOUS, st.text(max_size=20)), max_size=12).map("".join))
def test_whatever_is_written_only_allowed_tags_and_attributes_come_out(markdown):
    html = markdown_to_html(markdown)
    assert {tag.lower() for tag in TAG.findall(html)} <= ALLOWED_TAGS
    assert set(ATTRIBUTE.findall(html)) <= {"href", "rel", "start"}
    for href in re.findall(r'<a\s[^>]*href="([^"]*)"', html):
        assert href.split(":", 1)[0].lower() in {"http", "https", "mailto"}


def test_plain_text_spells_out_links_and_keeps_structure():
    text = markdown_to_text(
        "## When\n\nSaturday at **10am**, see [the map](https://maps.example/a).\n\n"
        "- water\n- a hat\n\n1. first\n2. second\n\n> Bring a friend"
    )
    assert "When\n====" in text
    assert "Saturday at 10am, see the map (https://maps.example/a)." in text
    assert "- water\n- a hat" in text
    assert "1. first\n2. second" in text
    assert "> Bring a friend" in text
    assert "**" not in text


def test_plain_text_wraps_long_paragraphs_without_breaking_links():
    url = "https://example.org/" + "a" * 90
    text = markdown_to_text(("word " * 30) + f"[x]({url})")
    assert all(len(line) <= 72 for line in text.splitlines() if url not in line)
    assert url in text


# --- The email ------------------------------------------------------------------------------


def make_message(**fields) -> Message:
    fields.setdefault("kind", Kind.GROUP_UPDATE)
    fields.setdefault("subject", "Fish & chips <Friday>")
    fields.setdefault("body_markdown", "Hello **all**.\n\n- one\n- two")
    return Message(**fields)


def test_the_email_has_inlined_css_and_nothing_remote():
    email = build_email(make_message())
    assert "<style" not in email.html
    assert '<li style="' in email.html
    assert re.search(r"<img|<link|@import|url\(|@font-face", email.html) is None
    assert "Fish &amp; chips &lt;Friday&gt;" in email.html  # the subject is escaped
    assert "Fish & chips <Friday>" in email.text  # and plain in the text part


def test_each_recipient_gets_their_link_in_both_parts():
    email = build_email(make_message())
    assert email.has_unsubscribe
    html, text = email.for_recipient("https://x.example/unsubscribe/a1:b2/")
    assert UNSUBSCRIBE_PLACEHOLDER not in html and UNSUBSCRIBE_PLACEHOLDER not in text
    assert 'href="https://x.example/unsubscribe/a1:b2/"' in html
    assert "https://x.example/unsubscribe/a1:b2/" in text
    assert "Stop emails like this (Group update)" in text


def test_service_mail_says_why_and_has_no_link():
    email = build_email(make_message(kind=Kind.SERVICE))
    assert not email.has_unsubscribe
    assert UNSUBSCRIBE_PLACEHOLDER not in email.html
    assert "whatever your email settings are" in email.text


def test_a_stored_html_body_is_cleaned_again_before_it_is_sent():
    message = make_message(
        body_markdown="", body_html='<p onclick="x()">Hi<script>y()</script></p>'
    )
    email = build_email(message)
    assert "onclick" not in email.html and "y()" not in email.html
    assert "Hi" in email.text


def test_the_inliner_never_fetches_a_remote_stylesheet():
    # A fetch of this (unroutable) stylesheet would fail and raise: it must be ignored.
    page = (
        '<html><head><link rel="stylesheet" href="http://192.0.2.1/x.css">'
        "<style>p { color: red }</style></head><body><p>x</p></body></html>"
    )
    inlined = _inliner().inline(page)
    assert '<p style="color: red;">x</p>' in inlined
