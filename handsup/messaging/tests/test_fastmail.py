"""The pre-built MIME fast path writes the same email as the normal path, to a real server.

Each test sends one outbox row both ways to a local aiosmtpd server: the normal path
(`build_outgoing`, an `EmailMultiAlternatives` through Django's SMTP backend) and the
fast path (`send_prebuilt`, the message's template filled in, on the same connection),
then compares what arrived: the envelope, every header, the MIME structure, the decoded
bodies, and the raw bytes but for the multipart boundary and the Date.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import pytest
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone

from handsup.messaging import fastmail
from handsup.messaging.delivery import (
    EmailCache,
    build_outgoing,
    claim_due,
    deliver_due,
    message_id_header,
    send_prebuilt,
)
from handsup.messaging.models import Kind, Message, OutboxItem
from handsup.messaging.smtp_sink import CollectingHandler, ReceivedMail, start_sink, text_of
from handsup.messaging.tests.helpers import make_group, make_person
from handsup.messaging.unsubscribe import SALT

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"/unsubscribe/([^/<>\s]+)/")
DATE = re.compile(rb"^Date: ([^\r\n]+)\r\n", re.MULTILINE)


@pytest.fixture
def sink(settings):
    controller, handler = start_sink(CollectingHandler())
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
        }
    }
    settings.SITE_URL = "https://handsup.example"
    yield handler
    controller.stop()


def queue_one(message: Message, user, address: str = "") -> None:
    OutboxItem.objects.create(
        message=message,
        user=user,
        address=address or user.email,
        due_at=timezone.now() - timedelta(seconds=1),
    )


def both_ways(message: Message, user) -> None:
    """The row for (message, user), sent by the normal path, then by the fast path."""
    [item] = claim_due(10, "t", timedelta(minutes=5)).items
    emails = EmailCache()
    emails.load([item.message_id], using="default")
    loaded = emails.get(item.message_id)
    assert loaded is not None
    _message, prepared = loaded
    mailer = mailers["default"]
    assert isinstance(mailer, SMTPBackend) and fastmail.uses_smtp_connection(mailer)
    mailer.open()
    try:
        assert mailer.send_messages([build_outgoing(item, message, prepared, user)]) == 1
        assert send_prebuilt(item, message, prepared, user, mailer=mailer, emails=emails)
    finally:
        mailer.close()


def assert_same_email(normal: ReceivedMail, fast: ReceivedMail) -> None:
    # The envelope.
    assert (fast.mail_from, fast.rcpt_tos) == (normal.mail_from, normal.rcpt_tos)
    a, b = normal.parsed(), fast.parsed()
    # The unsubscribe tokens are signed with a timestamp, so two sends a second apart
    # differ there: they must name the same person and scope, and are then set aside.
    token_a, token_b = unsubscribe_token_in(a), unsubscribe_token_in(b)
    assert (token_a is None) == (token_b is None)
    if token_a is not None and token_b is not None:
        assert signing.loads(token_a, salt=SALT) == signing.loads(token_b, salt=SALT)
    # Every header, in order, with its value (the boundary and the Date aside).
    boundary_a, boundary_b = a.get_boundary(), b.get_boundary()
    assert boundary_a and boundary_b
    assert [(n, same(str(v), token_b)) for n, v in b.items() if n != "Date"] == [
        (n, same(str(v).replace(boundary_a, boundary_b), token_a))
        for n, v in a.items()
        if n != "Date"
    ]
    # The Date written the same way, a moment apart.
    date_a, date_b = DATE.search(normal.raw), DATE.search(fast.raw)
    assert date_a and date_b
    difference = parsedate_to_datetime(date_b.group(1).decode()) - parsedate_to_datetime(
        date_a.group(1).decode()
    )
    assert timedelta(0) <= difference <= timedelta(seconds=5)
    assert date_a.group(1)[-5:] == date_b.group(1)[-5:]  # the same zone
    # The same structure and the same decoded bodies, part by part.
    parts_a, parts_b = list(a.walk()), list(b.walk())
    assert [p.get_content_type() for p in parts_a] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    assert [p.get_content_type() for p in parts_b] == [p.get_content_type() for p in parts_a]
    for part_a, part_b in zip(parts_a[1:], parts_b[1:], strict=True):
        assert list(part_b.items()) == list(part_a.items())
        assert same(part_b.get_content(), token_b) == same(part_a.get_content(), token_a)
    # And written byte for byte alike: the header block (but for the Date, the boundary
    # and the token), then each part's headers and its body's line lengths.
    raw_a, raw_b = normal.raw, fast.raw
    head_a, _, body_a = raw_a.partition(b"\r\n\r\n")
    head_b, _, body_b = raw_b.partition(b"\r\n\r\n")
    assert same_bytes(head_b, boundary_b, token_b) == same_bytes(head_a, boundary_a, token_a)
    chunks_a = body_a.split(boundary_a.encode())
    chunks_b = body_b.split(boundary_b.encode())
    assert len(chunks_a) == len(chunks_b) == 4
    for chunk_a, chunk_b in zip(chunks_a, chunks_b, strict=True):
        part_head_a, _, lines_a = chunk_a.partition(b"\r\n\r\n")
        part_head_b, _, lines_b = chunk_b.partition(b"\r\n\r\n")
        assert part_head_b == part_head_a
        assert [len(line) for line in lines_b.split(b"\r\n")] == [
            len(line) for line in lines_a.split(b"\r\n")
        ]
        assert b"\n" not in lines_b.replace(b"\r\n", b"")


def unsubscribe_token_in(message) -> str | None:
    header = message.get("List-Unsubscribe")
    if header is None:
        return None
    found = TOKEN.search(str(header))
    assert found is not None
    return found.group(1)


def same(text: str, token: str | None) -> str:
    if token is None:
        return text
    return text.replace(quote(token), "TOKEN").replace(token, "TOKEN")


def same_bytes(raw: bytes, boundary: str, token: str | None) -> bytes:
    raw = DATE.sub(b"Date: -\r\n", raw.replace(boundary.encode(), b"BOUNDARY"))
    return same(raw.decode("ascii"), token).encode("ascii")


def send_both(
    sink: CollectingHandler, message: Message, user, address: str = ""
) -> tuple[ReceivedMail, ...]:
    queue_one(message, user, address)
    both_ways(message, user)
    normal, fast = sink.received
    return normal, fast


def test_a_group_update_is_the_same_both_ways(sink):
    group = make_group("Riverside")
    user = make_person()
    message = Message.objects.create(
        kind=Kind.GROUP_UPDATE,
        group=group,
        subject="Leafleting on Saturday",
        body_markdown="Meet at **10am** by the library.\n\n- [map](https://maps.example/x)",
    )
    normal, fast = send_both(sink, message, user)
    assert_same_email(normal, fast)
    parsed = fast.parsed()
    # The per-recipient values really are this person's.
    assert parsed["To"] == user.email
    assert parsed["Message-ID"] == message_id_header(message.pk, user.pk)
    link = parsed["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://handsup.example/")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text_of(parsed)
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None and link in html.get_content()


def test_non_ascii_subject_group_and_body_are_the_same_both_ways(sink):
    group = make_group('Ça Va Branch, "Nord" & Süd')
    message = Message.objects.create(
        kind=Kind.GROUP_UPDATE,
        group=group,
        subject="Café meet-up — Saturday, with a subject long enough to need folding "
        "across more than one line of the header block",
        body_markdown="Thé & café — ☕ " * 200,
    )
    normal, fast = send_both(sink, message, make_person())
    assert_same_email(normal, fast)
    assert fast.parsed()["Subject"].startswith("Café meet-up — Saturday")
    assert fast.parsed()["From"].addresses[0].display_name.startswith("Ça Va Branch")


def test_service_mail_is_the_same_both_ways_and_has_no_unsubscribe(sink):
    message = Message.objects.create(
        kind=Kind.SERVICE, subject="Your sign-in code", body_text="Your code is 123456."
    )
    normal, fast = send_both(sink, message, make_person())
    assert_same_email(normal, fast)
    assert "List-Unsubscribe" not in fast.parsed()
    assert "List-Unsubscribe-Post" not in fast.parsed()


def test_movement_news_with_a_mailto_alternative_is_the_same_both_ways(sink, settings):
    settings.HANDSUP_UNSUBSCRIBE_MAILTO = "unsubscribe@handsup.example"
    settings.EMAIL_USE_LOCALTIME = True
    message = Message.objects.create(
        kind=Kind.MOVEMENT_NEWS, subject="News", body_markdown="The *movement* grows."
    )
    # The address as the person typed it (the outbox keeps a copy): case and all.
    normal, fast = send_both(sink, message, make_person(), "Ana.Smith+news@Example.org")
    assert_same_email(normal, fast)
    https, mailto = fast.parsed()["List-Unsubscribe"].split(", ")
    assert https.startswith("<https://handsup.example/")
    assert mailto.startswith("<mailto:unsubscribe@handsup.example?subject=unsubscribe%20")
    assert fast.rcpt_tos == ("Ana.Smith+news@Example.org",)


def test_every_recipient_of_a_drain_gets_their_own_values_from_one_template(sink):
    group = make_group("Westend")
    message = Message.objects.create(
        kind=Kind.GROUP_UPDATE, group=group, subject="Saturday", body_markdown="Hello."
    )
    users = [make_person() for _ in range(5)]
    for user in users:
        queue_one(message, user)
    assert deliver_due(worker_id="t").sent == 5
    received = [mail.parsed() for mail in sink.received]
    # One template per message: the fast path wrote them all (the normal path draws a
    # fresh boundary for each email).
    assert len({m.get_boundary() for m in received}) == 1
    assert [m["To"] for m in received] == [u.email for u in users]
    assert [m["Message-ID"] for m in received] == [
        message_id_header(message.pk, u.pk) for u in users
    ]
    assert len({m["List-Unsubscribe"] for m in received}) == 5
    for m in received:
        link = m["List-Unsubscribe"].strip("<>")
        assert link in text_of(m)


def test_turned_off_every_email_takes_the_normal_path(sink, settings):
    settings.HANDSUP_DELIVERY_PREBUILT_MIME = False
    message = Message.objects.create(
        kind=Kind.GROUP_UPDATE, group=make_group("Off"), subject="Hi", body_markdown="Hello."
    )
    for user in [make_person() for _ in range(3)]:
        queue_one(message, user)
    assert deliver_due(worker_id="t").sent == 3
    assert len({mail.parsed().get_boundary() for mail in sink.received}) == 3


def test_an_address_django_must_parse_takes_the_normal_path_and_arrives(sink):
    user = make_person(email="ana@exämple.org")
    message = Message.objects.create(
        kind=Kind.GROUP_UPDATE, group=make_group("Global"), subject="Hi", body_markdown="Hi."
    )
    queue_one(message, user)
    assert deliver_due(worker_id="t").sent == 1
    [received] = sink.received
    assert received.rcpt_tos == ("ana@xn--exmple-cua.org",)


@pytest.mark.parametrize(
    "address",
    [
        "ana@example.org",
        "Ana.Smith+news@Example.ORG",
        "a_b-c%d@sub.domain-1.example.co.uk",
        "x@a.io",
    ],
)
def test_a_simple_address_is_what_djangos_parser_makes_of_it(sink, address):
    assert fastmail.is_simple_address(address)
    mailer = mailers["default"]
    assert isinstance(mailer, SMTPBackend)
    assert mailer.prep_address(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "two@at@signs.example",
        "ana@exämple.org",
        "ána@example.org",
        "Ana <ana@example.org>",
        "ana@localhost",
        ".ana@example.org",
        "ana..b@example.org",
        "ana@-example.org",
        '"quoted"@example.org',
        "ana@example.org\r\nBcc: x@example.org",
        "",
    ],
)
def test_anything_else_is_left_to_django(address):
    assert not fastmail.is_simple_address(address)


def test_other_backends_get_the_normal_email(settings):
    # locmem (as in tests), and a provider through django-anymail: Django's
    # EmailMultiAlternatives with every header, never pre-built bytes.
    backends = {
        "Local": "django.core.mail.backends.locmem.EmailBackend",
        "Provider": "anymail.backends.test.EmailBackend",
    }
    for name, backend in backends.items():
        settings.MAILERS = {"default": {"BACKEND": backend, "OPTIONS": {}}}
        settings.SITE_URL = "https://handsup.example"
        mail.outbox = []
        user = make_person()
        message = Message.objects.create(
            kind=Kind.GROUP_UPDATE, group=make_group(name), subject="Hi", body_markdown="Hi."
        )
        queue_one(message, user)
        assert not fastmail.uses_smtp_connection(mailers["default"])
        assert deliver_due(worker_id="t").sent == 1
        [sent] = mail.outbox
        assert isinstance(sent, EmailMultiAlternatives)
        assert sent.to == [user.email]
        assert sent.extra_headers["Message-ID"] == message_id_header(message.pk, user.pk)
        assert sent.extra_headers["List-Unsubscribe"].startswith("<https://handsup.example/")
        assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert sent.alternatives[0][1] == "text/html"
        if name == "Provider":
            # What anymail hands the provider's API: the same headers and both bodies.
            params = sent.anymail_test_params  # type: ignore[attr-defined]
            headers = params["extra_headers"]
            assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert headers["Message-ID"] == message_id_header(message.pk, user.pk)
            link = headers["List-Unsubscribe"].strip("<>")
            assert link in params["text_body"] and link in params["html_body"]
            assert params["to"][0].addr_spec == user.email
        OutboxItem.objects.all().delete()


def test_the_per_recipient_values_are_what_the_plain_functions_make(settings):
    from django.utils.crypto import salted_hmac

    from handsup.messaging.delivery import _unsubscribe_link
    from handsup.messaging.unsubscribe import unsubscribe_token, unsubscribe_url

    settings.SITE_URL = "https://handsup.example"
    user, group = make_person(), make_group("Links")
    for secret in ("one secret", "another secret"):
        settings.SECRET_KEY = secret
        digest = salted_hmac("handsup.messaging.message-id", "12.34", algorithm="sha256")
        assert message_id_header(12, 34) == f"<{digest.hexdigest()[:32]}@handsup.invalid>"
        token = unsubscribe_token(user, scope="group", group=group)
        assert _unsubscribe_link(token) == unsubscribe_url(token)
    # A token reverse() would quote is left to reverse().
    assert _unsubscribe_link("a b") == unsubscribe_url("a b")
