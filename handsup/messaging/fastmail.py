"""The outbox's fast path: each message's MIME written once, then filled in per recipient.

Building an `EmailMessage` per recipient and letting Django's SMTP backend write it costs
about a millisecond a message (the MIME objects, the generator, Django's address parser
for sender and recipient), which caps a worker near 1,000 messages a second. Yet every
recipient of one message gets the same email but for six values: the To address, the
Date, the Message-ID, the List-Unsubscribe header and the two bodies (which carry the
person's unsubscribe link). So, for each message, `MimeTemplate.from_message` takes the
email the normal path writes (`delivery.outbox_email(...).message()`), with a random
placeholder in each of those six places, and keeps its bytes cut at the placeholders.
`MimeTemplate.fill` then joins the pieces with one person's values, encoded exactly as the
normal path encodes them (headers as they are — only ASCII values that need no folding
take this path —, bodies UTF-8 in base64, 76-character lines, CRLF), and `delivery` sends
the bytes with `smtplib.SMTP.sendmail` on the Django SMTP backend's own connection:
same host, port, TLS, login and timeout, same envelope (`prep_address`), same errors.

It is used only when the mailer is Django's own SMTP backend (`uses_smtp_connection`) and
`HANDSUP_DELIVERY_PREBUILT_MIME` is on (the default). Any other backend — a provider
through django-anymail, locmem in tests, the console — gets the normal
`EmailMultiAlternatives`, as does anything the template can't reproduce byte for byte:
an address that isn't plain ASCII `local@domain.example` (Django's parser decides those),
a value too long for one header line, a digest (its body is per person anyway).
`tests/test_fastmail.py` checks that both paths write the same message.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from dataclasses import dataclass
from email.message import Message as MimeMessage
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

SLOTS = ("to", "date", "message_id", "list_unsubscribe", "text", "html")
BODY_SLOTS = frozenset({"text", "html"})
# A header line we fill must stay under the folding limit, as the normal path's would.
MAX_HEADER_LINE = 900
# Plain addresses only: for these, Django's `prep_address` returns the address as it is
# and the To header is the address itself. Anything else goes the normal way.
SIMPLE_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def enabled() -> bool:
    return bool(getattr(settings, "HANDSUP_DELIVERY_PREBUILT_MIME", True))


def uses_smtp_connection(mailer: BaseEmailBackend) -> bool:
    """Django's own SMTP backend, exactly (a subclass may change how it sends)."""
    return type(mailer) is SMTPBackend and enabled()


def is_simple_address(address: str) -> bool:
    return len(address) <= 254 and SIMPLE_ADDRESS.fullmatch(address) is not None


def placeholders() -> dict[str, str]:
    """A fresh, unguessable placeholder for each slot (the To one shaped as an address)."""
    token = secrets.token_hex(8)
    values = {slot: f"hu{slot.replace('_', '')}{token}" for slot in SLOTS}
    values["to"] = f"{values['to']}@slot.invalid"
    values["message_id"] = f"<{values['message_id']}@slot.invalid>"
    return values


def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character lines, CRLF between them: the normal path's body encoding
    (`email.base64mime.body_encode`, written by the generator with CRLF)."""
    return base64.encodebytes(data).rstrip(b"\n").replace(b"\n", b"\r\n")


_date_cache: tuple[int, bool, str] = (-1, False, "")


def wire_date() -> str:
    """The Date header's value, as the normal path writes it (whole seconds: cached)."""
    global _date_cache
    now = time.time()
    second, localtime = int(now), bool(settings.EMAIL_USE_LOCALTIME)
    if _date_cache[0] != second or _date_cache[1] != localtime:
        _date_cache = (second, localtime, formatdate(second, localtime=localtime))
    return _date_cache[2]


@dataclass(frozen=True)
class MimeTemplate:
    """One message's bytes, cut where the per-recipient values go."""

    literals: tuple[bytes, ...]  # one more than `slots`
    slots: tuple[str, ...]
    envelope_from: str
    # Header name, for each header slot, whose line length `fill` checks.
    header_names: tuple[tuple[str, int], ...]

    @classmethod
    def from_message(
        cls, message: MimeMessage, placeholder: dict[str, str], *, envelope_from: str
    ) -> MimeTemplate | None:
        """The template for the message the normal path wrote with `placeholder` values.

        None when a placeholder isn't found exactly once (the message took another shape).
        """
        raw = message.as_bytes()
        found: list[tuple[int, int, str]] = []
        for slot, value in placeholder.items():
            needle = _base64_lines(value.encode("utf-8")) if slot in BODY_SLOTS else value.encode()
            start = raw.find(needle)
            if start < 0 or raw.find(needle, start + 1) >= 0:
                if slot == "list_unsubscribe" and start < 0:
                    continue  # service mail: no such header
                return None
            found.append((start, start + len(needle), slot))
        found.sort()
        literals: list[bytes] = []
        slots: list[str] = []
        header_names: list[tuple[str, int]] = []
        position = 0
        for start, end, slot in found:
            literal = raw[position:start]
            literals.append(literal)
            slots.append(slot)
            if slot not in BODY_SLOTS:
                line_start = literal.rfind(b"\n") + 1
                header_names.append((slot, len(literal) - line_start))
            position = end
        literals.append(raw[position:])
        return cls(
            literals=tuple(literals),
            slots=tuple(slots),
            envelope_from=envelope_from,
            header_names=tuple(header_names),
        )

    @property
    def has_list_unsubscribe(self) -> bool:
        return "list_unsubscribe" in self.slots

    def fill(
        self,
        *,
        to: str,
        date: str,
        message_id: str,
        list_unsubscribe: str | None,
        text: str,
        html: str,
    ) -> bytes | None:
        """The bytes for one recipient; None if the normal path would write them
        differently (so the caller takes it)."""
        if (list_unsubscribe is not None) != self.has_list_unsubscribe or not (text and html):
            return None
        values: dict[str, Any] = {
            "to": to,
            "date": date,
            "message_id": message_id,
            "list_unsubscribe": list_unsubscribe,
        }
        encoded: dict[str, bytes] = {}
        for slot, prefix in self.header_names:
            value = values[slot]
            if (
                not value.isascii()
                or prefix + len(value) > MAX_HEADER_LINE
                or "\n" in value
                or "\r" in value
            ):
                return None
            encoded[slot] = value.encode("ascii")
        encoded["text"] = _base64_lines(text.encode("utf-8"))
        encoded["html"] = _base64_lines(html.encode("utf-8"))
        literals = self.literals
        pieces = [literals[0]]
        for index, slot in enumerate(self.slots, start=1):
            pieces.append(encoded[slot])
            pieces.append(literals[index])
        return b"".join(pieces)
