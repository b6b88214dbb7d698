"""Deliver the outbox: claim due rows with an expiring lease, send them, mark them.

A worker claims a batch (`claim_due`): the rows become `sending`, with `lease_until` a
few minutes ahead and `attempts` counted up. It sends each on one connection of the
configured mailer (`deliver_batch`): with Django's own SMTP backend as the message's
pre-built MIME filled in for the person (`fastmail`: the same bytes, headers and all, as
the normal path writes, without building an email object per person), with any other
backend (a provider through django-anymail, locmem in tests) as an
`EmailMultiAlternatives`. It records what happened every `mark_every` sends — the sent
rows in one statement that also counts them on their message (`_mark_sent`), anything
else in one short transaction. Every write back is fenced by the lease it claimed with
(`status = sending AND lease_until = <our lease>`), so a worker that was too slow, whose
rows another worker has since re-claimed, changes nothing.

What can go wrong, and what happens:

* The worker dies mid-batch: its rows stay `sending` until the lease runs out, then any
  worker re-claims them. Nothing is lost. A message the SMTP server accepted in the last
  moments before the crash, before its row was marked, goes again: at most
  `HANDSUP_DELIVERY_MARK_EVERY` messages (100), and no more than
  `HANDSUP_DELIVERY_MARK_SECONDS` (0.25 s) of sending; 1 makes it one message, at the
  cost of a database write per message. Its Message-ID is derived from the per-recipient
  idempotency key, so the second copy carries the same id and downstream de-duplication
  (and our own tests) can recognise it.
* A temporary failure (the server is down, a 4xx reply, a dropped connection): the row
  goes back as `failed`, due again after an exponential backoff, until the attempts run
  out (`HANDSUP_DELIVERY_MAX_ATTEMPTS`); then `dead`, with the reason kept.
* A permanent refusal of the address (5xx to RCPT TO, or an address we can't even
  format): `dead` at once. SMTP says a 5xx must not be retried as it is, and retrying a
  closed mailbox for an hour helps nobody.
* A worker that keeps dying on one row (a poison message) uses up its attempts too,
  because attempts are counted when a row is claimed, not when it fails.
"""

from __future__ import annotations

import email.policy
import functools
import hashlib
import hmac
import logging
import re
import smtplib
import time as clock
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import F
from django.urls import get_script_prefix
from django.utils import timezone

from handsup.accounts.models import User
from handsup.messaging import fastmail
from handsup.messaging.digests import digest_emails
from handsup.messaging.models import AddressSuppression, Kind, Message, OutboxItem, Unsubscribe
from handsup.messaging.rendering import PreparedEmail, build_email
from handsup.messaging.unsubscribe import (
    ONE_CLICK_BODY,
    scope_for,
    unsubscribe_token,
    unsubscribe_url,
)

logger = logging.getLogger("handsup.messaging.delivery")

Status = OutboxItem.Status


# --- Settings, with their defaults ------------------------------------------------------


def max_attempts() -> int:
    return int(getattr(settings, "HANDSUP_DELIVERY_MAX_ATTEMPTS", 5))


def default_batch_size() -> int:
    return int(getattr(settings, "HANDSUP_DELIVERY_BATCH_SIZE", 200))


def default_lease() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "HANDSUP_DELIVERY_LEASE_SECONDS", 300)))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: base × 2^(attempts − 1), capped.

    With the defaults (60 s, 5 attempts) a row is tried at 0, +1, +2, +4 and +8 minutes,
    so a relay that is down for a quarter of an hour loses nothing.
    """
    base = float(getattr(settings, "HANDSUP_DELIVERY_RETRY_SECONDS", 60))
    cap = float(getattr(settings, "HANDSUP_DELIVERY_RETRY_MAX_SECONDS", 6 * 60 * 60))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def default_mark_every() -> int:
    return int(getattr(settings, "HANDSUP_DELIVERY_MARK_EVERY", 100))


def default_mark_seconds() -> float:
    return float(getattr(settings, "HANDSUP_DELIVERY_MARK_SECONDS", 0.25))


def mailer_alias() -> str:
    return str(getattr(settings, "HANDSUP_DELIVERY_MAILER", "default"))


# --- Claiming -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedItem:
    id: int
    message_id: int
    user_id: int
    address: str
    attempts: int  # including this one


@dataclass(frozen=True)
class Claim:
    """Rows one worker holds until `lease_until`; writes back are fenced by that value."""

    worker_id: str
    lease_until: datetime
    items: list[ClaimedItem]

    def __len__(self) -> int:
        return len(self.items)


def claim_due(
    batch_size: int | None = None,
    worker_id: str = "",
    lease: timedelta | None = None,
    *,
    now: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> Claim:
    """Claim up to `batch_size` due rows for `worker_id` until `now + lease`.

    Due: queued or failed with `due_at <= now`, or `sending` with a lapsed lease (its
    worker died). Those come first, then retries, then new rows, oldest first. Each kind
    is one indexed statement that selects and updates together: `FOR UPDATE SKIP LOCKED`
    on PostgreSQL, so concurrent workers take different rows without waiting; on SQLite
    one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`, inside an IMMEDIATE
    transaction, so the writer lock covers the choice as well as the change.
    """
    batch_size = default_batch_size() if batch_size is None else batch_size
    now = now or timezone.now()
    lease_until = now + (lease or default_lease())
    connection = connections[using]
    ops = connection.ops
    table = ops.quote_name(OutboxItem._meta.db_table)
    postgresql = connection.vendor == "postgresql"
    sources = [
        ("status = %s AND lease_until < %s", [Status.SENDING, now], "lease_until"),
        ("status = %s AND due_at <= %s", [Status.FAILED, now], "due_at"),
        ("status = %s AND due_at <= %s", [Status.QUEUED, now], "due_at"),
    ]
    items: list[ClaimedItem] = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for condition, values, order in sources:
            wanted = batch_size - len(items)
            if wanted <= 0:
                break
            params: list[Any] = [
                ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in values
            ]
            if postgresql:
                sql = (
                    f"WITH picked AS (SELECT id FROM {table} WHERE {condition} "  # noqa: S608
                    f"ORDER BY {order} LIMIT %s FOR UPDATE SKIP LOCKED) "
                    f"UPDATE {table} AS o SET status = %s, lease_until = %s, "
                    f"attempts = o.attempts + 1 FROM picked WHERE o.id = picked.id "
                    f"RETURNING o.id, o.message_id, o.user_id, o.address, o.attempts"
                )
                args: list[Any] = [
                    *params,
                    wanted,
                    Status.SENDING,
                    ops.adapt_datetimefield_value(lease_until),
                ]
            else:
                sql = (
                    f"UPDATE {table} SET status = %s, lease_until = %s, "  # noqa: S608
                    f"attempts = attempts + 1 WHERE id IN (SELECT id FROM {table} "
                    f"WHERE {condition} ORDER BY {order} LIMIT %s) "
                    f"RETURNING id, message_id, user_id, address, attempts"
                )
                args = [Status.SENDING, ops.adapt_datetimefield_value(lease_until), *params, wanted]
            cursor.execute(sql, args)
            items.extend(
                ClaimedItem(
                    id=int(row[0]),
                    message_id=int(row[1]),
                    user_id=int(row[2]),
                    address=str(row[3]),
                    attempts=int(row[4]),
                )
                for row in cursor.fetchall()
            )
    items.sort(key=lambda item: item.id)
    return Claim(worker_id=worker_id, lease_until=lease_until, items=items)


# --- Sending ------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0  # handed back unsent, no attempt counted (the lease ran short)
    cancelled: int = 0  # unsubscribed while the row waited: never sent
    batches: int = 0
    seconds: float = 0.0
    batch_seconds: list[float] = field(default_factory=list)  # each batch's own time

    def add(self, other: DeliveryReport) -> None:
        for name in ("claimed", "sent", "retrying", "dead", "released", "cancelled", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.batch_seconds.extend(other.batch_seconds)

    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} to retry, {self.dead} gave up, "
            f"{self.released} released, in {self.batches} batches ({self.seconds:.2f} s)"
        )


@dataclass
class _Outcomes:
    """What happened to each row since the last write back."""

    sent: list[ClaimedItem] = field(default_factory=list)
    retry: list[tuple[ClaimedItem, str]] = field(default_factory=list)
    dead: list[tuple[ClaimedItem, str]] = field(default_factory=list)
    release: list[ClaimedItem] = field(default_factory=list)
    cancelled: list[ClaimedItem] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.sent)
            + len(self.retry)
            + len(self.dead)
            + len(self.release)
            + len(self.cancelled)
        )


class EmailCache:
    """Each message rendered once per worker run, however many batches it spans."""

    def __init__(self) -> None:
        self._emails: dict[int, tuple[Message, PreparedEmail]] = {}
        self._templates: dict[int, fastmail.MimeTemplate | None] = {}

    def load(self, message_ids: Iterable[int], *, using: str) -> None:
        missing = set(message_ids) - set(self._emails)
        if not missing:
            return
        for message in Message.objects.using(using).select_related("group").filter(pk__in=missing):
            self._emails[message.pk] = (message, build_email(message))

    def get(self, message_id: int) -> tuple[Message, PreparedEmail] | None:
        return self._emails.get(message_id)

    def template(self, message_id: int, mailer: SMTPBackend) -> fastmail.MimeTemplate | None:
        """The message's pre-built MIME (`fastmail`), written on first use; None if it
        can't be (its rows take the normal path)."""
        if message_id not in self._templates:
            loaded = self._emails.get(message_id)
            self._templates[message_id] = (
                None if loaded is None else _mime_template(loaded[0], loaded[1], mailer)
            )
        return self._templates[message_id]


def message_id_header(message_id: int, user_id: int) -> str:
    """A Message-ID fixed by the row's idempotency key, opaque to the recipient.

    Sending the same outbox row twice (after a crash) produces the same id, so a
    duplicate can be recognised for what it is.
    """
    key = f"{message_id}.{user_id}".encode()
    # salted_hmac("handsup.messaging.message-id", key, algorithm="sha256"), its key
    # derived once per secret rather than once per message.
    digest = hmac.new(_message_id_key(settings.SECRET_KEY), key, hashlib.sha256).hexdigest()
    return f"<{digest[:32]}@{message_id_domain()}>"


def message_id_domain() -> str:
    """The domain of our Message-IDs: the sender address's."""
    return _mail_domain(str(settings.DEFAULT_FROM_EMAIL))


@functools.lru_cache(maxsize=4)
def _message_id_key(secret: str) -> bytes:
    return hashlib.sha256(b"handsup.messaging.message-id" + secret.encode()).digest()


@functools.lru_cache(maxsize=4)
def _mail_domain(from_email: str) -> str:
    address = parseaddr(from_email)[1]
    return address.rpartition("@")[2] or "handsup.invalid"


# What `unsubscribe_url` makes of a token, whose characters (signing's URL-safe base64
# and ":") reverse() never quotes: the URL around the token, worked out once.
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_:-]+")
_LINK_PROBE = "handsupTokenProbe"


def _unsubscribe_link(token: str) -> str:
    if _TOKEN_CHARACTERS.fullmatch(token) is None:
        return unsubscribe_url(token)
    prefix, suffix = _around_token(
        str(getattr(settings, "SITE_URL", "")), str(settings.ROOT_URLCONF), get_script_prefix()
    )
    return f"{prefix}{token}{suffix}"


@functools.lru_cache(maxsize=8)
def _around_token(site_url: str, urlconf: str, script_prefix: str) -> tuple[str, str]:
    prefix, _, suffix = unsubscribe_url(_LINK_PROBE).partition(_LINK_PROBE)
    return prefix, suffix


def _from_address(message: Message) -> str:
    name, address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
    if message.group is not None:
        # Header-safe: a group name can't smuggle a line break into the From header.
        group_name = " ".join(message.group.name.split())
        name = f"{group_name} via {name or 'Hands Up'}"
    return formataddr((name, address)) if name else address


def unsubscribe_mailto(token: str) -> str | None:
    """The optional `mailto:` alternative, when an address that handles it is set."""
    address = str(getattr(settings, "HANDSUP_UNSUBSCRIBE_MAILTO", "") or "")
    if not address:
        return None
    return f"mailto:{address}?subject={quote('unsubscribe ' + token)}"


# The outbox sends thousands of messages a second. Django's `EmailMessage.message()`
# builds each with the stdlib's modern `policy.SMTP`, whose header registry parses and
# refolds every header: about 2 ms a message here, most of a worker's time. The outbox's
# messages are always the same shape (text, one HTML alternative, ASCII headers we
# built), so `OutboxEmail` writes them with the older, string-based `compat32` classes
# instead, which do the same job in a fraction of the time. Everything else (the
# backend, its connection, `recipients()`, the address checks) is Django's own; a
# message it can't write simply (a non-ASCII address) takes Django's path.
# Lines up to RFC 5322's 998 octets: our own headers are never that long, and folding
# the unsubscribe URL onto a line of its own only confuses simple parsers.
_WIRE_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)


class OutboxEmail(EmailMultiAlternatives):
    # The Date header's value; None: now. `fastmail` sets a placeholder here.
    date_header: str | None = None

    def message(self, *, policy: Any = email.policy.default) -> Any:
        address = self.to[0] if len(self.to) == 1 else ""
        if (
            not address.isascii()
            or self.cc
            or self.bcc
            or self.attachments
            or len(self.alternatives) != 1
        ):
            return super().message(policy=policy)
        html, mimetype = self.alternatives[0]
        if mimetype != "text/html":
            return super().message(policy=policy)
        parts = [
            MIMEText(str(self.body), "plain", "utf-8", policy=_WIRE_POLICY),
            MIMEText(str(html), "html", "utf-8", policy=_WIRE_POLICY),
        ]
        msg = MIMEMultipart("alternative", _subparts=parts, policy=_WIRE_POLICY)
        msg["Subject"] = _header_text(str(self.subject))
        msg["From"] = _header_address(str(self.from_email))
        msg["To"] = _header_address(address)
        msg["Date"] = self.date_header or formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        for name, value in self.extra_headers.items():
            if name.lower() in {"from", "to", "cc", "reply-to", "bcc", "subject", "date"}:
                raise ValueError(f"OutboxEmail sets {name} itself.")
            msg[name] = _header_text(str(value))
        return msg


def _no_line_breaks(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("A header may not contain a line break.")
    return value


def _header_text(value: str) -> str:
    _no_line_breaks(value)
    return value if value.isascii() else Header(value, "utf-8").encode()


def _header_address(value: str) -> str:
    """`Name <address>`, the name RFC 2047-encoded when it isn't ASCII."""
    name, address = parseaddr(_no_line_breaks(value))
    return formataddr((name, address), charset="utf-8")


@dataclass(frozen=True)
class RecipientHeaders:
    """What differs from one recipient of a message to the next, besides the address."""

    message_id: str
    list_unsubscribe: str | None  # the header's value (None: service mail)
    link: str | None  # the unsubscribe link the bodies carry


def recipient_headers(item: ClaimedItem, message: Message, user: User) -> RecipientHeaders:
    """Message-ID from the idempotency key; the person's own RFC 8058 link, if any."""
    scope = scope_for(message)
    if scope is None:
        return RecipientHeaders(message_id_header(item.message_id, item.user_id), None, None)
    name, group, kind = scope
    token = unsubscribe_token(user, scope=name, group=group, kind=kind)
    link = _unsubscribe_link(token)
    targets = [f"<{link}>"]
    mailto = unsubscribe_mailto(token)
    if mailto:
        targets.append(f"<{mailto}>")
    return RecipientHeaders(
        message_id=message_id_header(item.message_id, item.user_id),
        list_unsubscribe=", ".join(targets),
        link=link,
    )


def outbox_email(
    message: Message,
    prepared: PreparedEmail,
    *,
    to: str,
    message_id: str,
    list_unsubscribe: str | None,
    html: str,
    text: str,
) -> OutboxEmail:
    """The email as every path builds it; `fastmail` writes its skeleton from this too."""
    headers = {"Message-ID": message_id}
    if list_unsubscribe is not None:
        headers["List-Unsubscribe"] = list_unsubscribe
        headers["List-Unsubscribe-Post"] = ONE_CLICK_BODY
    outgoing = OutboxEmail(
        subject=" ".join(prepared.subject.split()),
        body=text,
        from_email=_from_address(message),
        to=[to],
        headers=headers,
    )
    outgoing.attach_alternative(html, "text/html")
    return outgoing


def build_outgoing(
    item: ClaimedItem, message: Message, prepared: PreparedEmail, user: User
) -> OutboxEmail:
    """The email for one outbox row: HTML and text, Message-ID, RFC 8058 headers."""
    personal = recipient_headers(item, message, user)
    html, text = prepared.for_recipient(personal.link)
    return outbox_email(
        message,
        prepared,
        to=item.address,
        message_id=personal.message_id,
        list_unsubscribe=personal.list_unsubscribe,
        html=html,
        text=text,
    )


def _mime_template(
    message: Message, prepared: PreparedEmail, mailer: SMTPBackend
) -> fastmail.MimeTemplate | None:
    """`message`'s email as the normal path writes it, placeholders where people differ."""
    slot = fastmail.placeholders()
    skeleton = outbox_email(
        message,
        prepared,
        to=slot["to"],
        message_id=slot["message_id"],
        list_unsubscribe=slot["list_unsubscribe"] if prepared.has_unsubscribe else None,
        html=slot["html"],
        text=slot["text"],
    )
    skeleton.date_header = slot["date"]
    try:
        envelope_from = mailer.prep_address(skeleton.from_email)
        written = skeleton.message(policy=email.policy.SMTP)
    except ValueError:
        return None
    if written.policy is not _WIRE_POLICY:
        return None  # Django's own path wrote it: not a shape we reproduce
    return fastmail.MimeTemplate.from_message(written, slot, envelope_from=envelope_from)


def send_prebuilt(
    item: ClaimedItem,
    message: Message,
    prepared: PreparedEmail,
    user: User,
    *,
    mailer: SMTPBackend,
    emails: EmailCache,
) -> bool:
    """Send the row as pre-built MIME on the mailer's connection; False if it can't go
    this way (nothing was sent: the caller takes the normal path)."""
    connection = mailer.connection
    if connection is None or not fastmail.is_simple_address(item.address):
        return False
    template = emails.template(item.message_id, mailer)
    if template is None:
        return False
    personal = recipient_headers(item, message, user)
    html, text = prepared.for_recipient(personal.link)
    data = template.fill(
        to=item.address,
        date=fastmail.wire_date(),
        message_id=personal.message_id,
        list_unsubscribe=personal.list_unsubscribe,
        text=text,
        html=html,
    )
    if data is None:
        return False
    connection.sendmail(template.envelope_from, [item.address], data)
    return True


def _refusal(error: smtplib.SMTPRecipientsRefused) -> tuple[int, str]:
    code, reply = next(iter(error.recipients.values()), (0, b""))
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return int(code), text


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{type(error).__name__}: {error.smtp_code} {text}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


def deliver_batch(
    claim: Claim,
    *,
    mailer: BaseEmailBackend | None = None,
    emails: EmailCache | None = None,
    mark_every: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> DeliveryReport:
    """Send every row of `claim` on one mailer connection and record each outcome.

    `mark_every` (default `HANDSUP_DELIVERY_MARK_EVERY`, 100) is how many sent rows may
    wait before they are written back, and `HANDSUP_DELIVERY_MARK_SECONDS` (0.25) how
    long the first of them may wait: the crash window (accepted by the SMTP server, not
    yet marked). 1 keeps it to a single message, at a database write per message.
    """
    started = clock.monotonic()
    report = DeliveryReport(claimed=len(claim), batches=1)
    if not claim.items:
        return report
    mark_every = mark_every or default_mark_every()
    mark_seconds = default_mark_seconds()
    emails = emails or EmailCache()
    emails.load({item.message_id for item in claim.items}, using=using)
    users = {
        user.pk: user
        for user in User.objects.using(using)
        .filter(pk__in={item.user_id for item in claim.items})
        .only("id", "public_id")
    }
    stopped = _unsubscribed_since(claim.items, emails, using=using) | _suppressed_since(
        claim.items, using=using
    )
    # Digests: each person's body is their own, rendered from their `Digest` row.
    digests = digest_emails(
        [
            (item.message_id, item.user_id)
            for item in claim.items
            if (found := emails.get(item.message_id)) is not None and found[0].kind == Kind.DIGEST
        ],
        using=using,
    )
    own_mailer = mailer is None
    mailer = mailer or mailers[mailer_alias()]
    # Django's own SMTP backend: rows go as pre-built MIME on its connection (fastmail).
    prebuilt = mailer if fastmail.uses_smtp_connection(mailer) else None
    assert prebuilt is None or isinstance(prebuilt, SMTPBackend)
    first_unmarked = 0.0
    # Stop sending while there's still time to mark what was sent before the lease
    # lapses and another worker could take the rows: the SMTP timeout plus a margin.
    timeout = float(getattr(mailer, "timeout", None) or 30)
    stop_at = claim.lease_until - timedelta(seconds=timeout + 10)
    outcomes = _Outcomes()
    connected = False
    relaxed = _commit_without_waiting(using)
    try:
        for index, item in enumerate(claim.items):
            if timezone.now() >= stop_at:
                outcomes.release.extend(claim.items[index:])
                break
            if item.attempts > max_attempts():
                outcomes.dead.append(
                    (item, f"Gave up after {item.attempts - 1} attempts that never finished.")
                )
                continue
            loaded = emails.get(item.message_id)
            user = users.get(item.user_id)
            if loaded is None or user is None:
                outcomes.dead.append((item, "The message or the person no longer exists."))
                continue
            message, prepared = loaded
            shared = prepared
            if message.kind == Kind.DIGEST:
                personal = digests.get((item.message_id, item.user_id))
                if personal is None:
                    outcomes.dead.append((item, "The digest's contents no longer exist."))
                    continue
                prepared = personal
            if (item.user_id, item.message_id) in stopped:
                outcomes.cancelled.append(item)
                continue
            if not connected:
                try:
                    mailer.open()
                    connected = True
                except OSError as error:
                    # The server is down or unreachable: every row left waits for the
                    # backoff, rather than each one waiting for its own timeout.
                    reason = f"Could not connect to the mail server: {_describe(error)}"
                    outcomes.retry.extend((left, reason) for left in claim.items[index:])
                    _reset(mailer)
                    break
            try:
                if (
                    prebuilt is not None
                    and prepared is shared
                    and send_prebuilt(item, message, prepared, user, mailer=prebuilt, emails=emails)
                ):
                    accepted = 1
                else:
                    accepted = mailer.send_messages([build_outgoing(item, message, prepared, user)])
            except smtplib.SMTPRecipientsRefused as error:
                code, text = _refusal(error)
                reason = f"Refused: {code} {text}"[:500]
                if code >= 500:
                    outcomes.dead.append((item, reason))
                else:
                    outcomes.retry.append((item, reason))
            except ValueError as error:
                # Django's address check: this address can never be sent to as it is.
                outcomes.dead.append((item, f"Unusable address: {error}"[:500]))
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as error:
                outcomes.retry.append((item, _describe(error)))
                connected = _reset(mailer)
            except smtplib.SMTPResponseException as error:
                outcomes.retry.append((item, _describe(error)))
            except OSError as error:
                # Can't connect, or the connection broke: this row waits, and the next
                # row tries a fresh connection (and fails fast if the server is down).
                outcomes.retry.append((item, _describe(error)))
                connected = _reset(mailer)
            except Exception as error:
                logger.exception("could not send outbox row %s", item.id)
                outcomes.retry.append((item, _describe(error)))
            else:
                if not accepted:
                    # A backend told to fail silently reports 0: not sent, so not marked.
                    outcomes.retry.append((item, "The mail backend did not send it."))
                    continue
                if not outcomes.sent:
                    first_unmarked = clock.monotonic()
                outcomes.sent.append(item)
                if (
                    len(outcomes.sent) >= mark_every
                    or clock.monotonic() - first_unmarked >= mark_seconds
                ):
                    _write_back(outcomes, claim, using=using, into=report)
                    outcomes = _Outcomes()
    finally:
        try:
            _write_back(outcomes, claim, using=using, into=report)
        finally:
            if relaxed:
                _commit_waiting_again(using)
            if own_mailer:
                _reset(mailer)
    report.seconds = clock.monotonic() - started
    report.batch_seconds.append(clock.monotonic() - started)
    return report


def _commit_without_waiting(using: str) -> bool:
    """On PostgreSQL, don't wait for the WAL flush at each mark while this batch sends.

    A worker that dies right after a mark still leaves the commit to PostgreSQL; only a
    crash of the database server itself could lose the last fraction of a second of
    marks, and those messages would go again, with the same Message-ID. Waiting would
    cost a flush per `mark_every` messages. Claims (between batches) wait as usual.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    return True


def _commit_waiting_again(using: str) -> None:
    try:
        with connections[using].cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    except DatabaseError:  # a broken connection is thrown away anyway
        logger.debug("could not reset synchronous_commit", exc_info=True)


def _unsubscribed_since(
    items: Sequence[ClaimedItem], emails: EmailCache, *, using: str
) -> set[tuple[int, int]]:
    """(user, message) pairs whose person has since stopped that message's mail: pacing
    checked unsubscribes when it decided, but a row held overnight waits for hours."""
    wanted: dict[int, Message] = {}
    for item in items:
        loaded = emails.get(item.message_id)
        if loaded is not None and loaded[0].kind != Kind.SERVICE:
            wanted[item.message_id] = loaded[0]
    if not wanted:
        return set()
    user_ids = {item.user_id for item in items if item.message_id in wanted}
    stops = list(
        Unsubscribe.objects.using(using)
        .filter(user_id__in=user_ids)
        .values_list("user_id", "scope", "group_id", "kind")
    )
    if not stops:
        return set()
    stopped: set[tuple[int, int]] = set()
    for item in items:
        message = wanted.get(item.message_id)
        if message is None:
            continue
        for user_id, scope, group_id, kind in stops:
            if user_id != item.user_id:
                continue
            if (
                scope == Unsubscribe.Scope.EVERYTHING
                or (scope == Unsubscribe.Scope.GROUP and group_id == message.group_id)
                or (scope == Unsubscribe.Scope.KIND and kind == message.kind)
            ):
                stopped.add((item.user_id, item.message_id))
    return stopped


def _suppressed_since(items: Sequence[ClaimedItem], *, using: str) -> set[tuple[int, int]]:
    """(user, message) pairs whose address the provider has since reported as bounced or
    complained about (an active `AddressSuppression`): pacing checked when it decided, but
    a row held for quiet hours, or queued behind a big send, may wait long after."""
    user_ids = {item.user_id for item in items}
    suppressed = set(
        AddressSuppression.objects.using(using)
        .filter(user_id__in=user_ids, cleared_at__isnull=True)
        .values_list("user_id", "address")
    )
    if not suppressed:
        return set()
    return {
        (item.user_id, item.message_id)
        for item in items
        if (item.user_id, item.address.lower()) in suppressed
    }


def _reset(mailer: BaseEmailBackend) -> bool:
    try:
        mailer.close()
    except Exception:  # a broken connection may fail to close, too
        logger.debug("closing the mailer failed", exc_info=True)
    return False


def _fenced(claim: Claim, ids: Sequence[int], *, using: str) -> Any:
    return OutboxItem.objects.using(using).filter(
        pk__in=ids, status=Status.SENDING, lease_until=claim.lease_until
    )


def _write_back(outcomes: _Outcomes, claim: Claim, *, using: str, into: DeliveryReport) -> None:
    """Record outcomes: the sent rows in one statement (`_mark_sent`), anything else in
    one transaction; each counted on its message, set-based."""
    if not len(outcomes):
        return
    if outcomes.sent:
        into.sent += _mark_sent(outcomes.sent, claim, using=using)
    if len(outcomes) == len(outcomes.sent):
        return
    now = timezone.now()
    failed: Counter[int] = Counter()
    with transaction.atomic(using=using):
        retries: dict[tuple[int, str], list[int]] = defaultdict(list)
        dead: dict[tuple[int, str], list[int]] = defaultdict(list)
        for item, reason in outcomes.retry:
            if item.attempts >= max_attempts():
                reason = f"Gave up after {item.attempts} attempts. Last: {reason}"[:500]
                dead[(item.message_id, reason)].append(item.id)
            else:
                retries[(item.attempts, reason)].append(item.id)
        for item, reason in outcomes.dead:
            dead[(item.message_id, reason)].append(item.id)
        for (attempts, reason), ids in retries.items():
            into.retrying += _fenced(claim, ids, using=using).update(
                status=Status.FAILED,
                due_at=now + retry_delay(attempts),
                lease_until=None,
                last_error=reason,
            )
        for (message_id, reason), ids in dead.items():
            count = _fenced(claim, ids, using=using).update(
                status=Status.DEAD, lease_until=None, last_error=reason
            )
            failed[message_id] += count
            into.dead += count
        if outcomes.cancelled:
            into.cancelled += _fenced(
                claim, [item.id for item in outcomes.cancelled], using=using
            ).update(
                status=Status.CANCELLED,
                lease_until=None,
                last_error="Unsubscribed before delivery: not sent.",
            )
        if outcomes.release:
            # Handed back untried: the attempt counted at claim time is given back.
            into.released += _fenced(
                claim, [item.id for item in outcomes.release], using=using
            ).update(status=Status.QUEUED, lease_until=None, attempts=F("attempts") - 1)
        for message_id, count in failed.items():
            if count:
                Message.objects.using(using).filter(pk=message_id).update(
                    failed_count=F("failed_count") + count
                )


def _mark_sent(items: Sequence[ClaimedItem], claim: Claim, *, using: str) -> int:
    """Mark `items` sent, fenced by the claim's lease, and add them to their messages'
    `delivered_count`, atomically; returns how many rows it marked.

    This runs after every `mark_every` sends, so it is one statement on PostgreSQL (a
    data-modifying CTE, committed on its own unless the caller holds a transaction) and
    one short IMMEDIATE transaction on SQLite: not the ORM's few round trips.
    """
    connection = connections[using]
    ops = connection.ops
    outbox = ops.quote_name(OutboxItem._meta.db_table)
    messages = ops.quote_name(Message._meta.db_table)
    ids = [item.id for item in items]
    now = ops.adapt_datetimefield_value(timezone.now())
    lease = ops.adapt_datetimefield_value(claim.lease_until)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH done AS (UPDATE {outbox} SET status = %s, sent_at = %s, "  # noqa: S608
                f"lease_until = NULL, last_error = '' WHERE id = ANY(%s) AND status = %s "
                f"AND lease_until = %s RETURNING message_id), "
                f"counted AS (SELECT message_id, COUNT(*) AS n FROM done GROUP BY message_id) "
                f"UPDATE {messages} AS m SET delivered_count = m.delivered_count + counted.n "
                f"FROM counted WHERE m.id = counted.message_id RETURNING counted.n",
                [Status.SENT, now, ids, Status.SENDING, lease],
            )
            return sum(int(row[0]) for row in cursor.fetchall())
    marks = ", ".join(["%s"] * len(ids))
    delivered: Counter[int] = Counter()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {outbox} SET status = %s, sent_at = %s, lease_until = NULL, "  # noqa: S608
            f"last_error = '' WHERE id IN ({marks}) AND status = %s AND lease_until = %s "
            f"RETURNING message_id",
            [Status.SENT, now, *ids, Status.SENDING, lease],
        )
        delivered.update(int(row[0]) for row in cursor.fetchall())
        for message_id, count in delivered.items():
            cursor.execute(
                f"UPDATE {messages} SET delivered_count = delivered_count + %s "  # noqa: S608
                f"WHERE id = %s",
                [count, message_id],
            )
    return sum(delivered.values())


def deliver_due(
    *,
    worker_id: str,
    batch_size: int | None = None,
    lease: timedelta | None = None,
    time_budget: float | None = None,
    mark_every: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> DeliveryReport:
    """Claim and send batches until nothing is due or `time_budget` seconds have passed.

    One mailer connection serves the whole run; each message is rendered once.
    """
    deadline = clock.monotonic() + (time_budget if time_budget is not None else 60.0)
    report = DeliveryReport()
    emails = EmailCache()
    mailer = mailers[mailer_alias()]
    try:
        while True:
            claim = claim_due(batch_size, worker_id, lease, using=using)
            if not claim.items:
                break
            report.add(
                deliver_batch(
                    claim, mailer=mailer, emails=emails, mark_every=mark_every, using=using
                )
            )
            if clock.monotonic() >= deadline:
                break
    finally:
        _reset(mailer)
    return report
