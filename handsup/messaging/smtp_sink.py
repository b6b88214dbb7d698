"""A local SMTP server that keeps what it receives: for the demo, the tests and the benchmark.

`make demo` runs one so the outbox is delivered over real SMTP, exactly as in
production, and the demo "sent mail" page shows what arrived (`DemoMailHandler` stores
each message in the same `core.DemoMail` table the demo email backend fills). Tests and
the delivery benchmark use `CollectingHandler`, which keeps messages in memory and can
refuse chosen recipients with a 4xx or 5xx reply.

Run on its own: `python -m handsup.messaging.smtp_sink --port 8025`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

logger = logging.getLogger("handsup.messaging.smtp_sink")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    # The client's (host, port): one value per SMTP connection it arrived on.
    peer: str = ""

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class CollectingHandler:
    """Keeps every message it accepts; `refuse` maps an address to an SMTP reply."""

    refuse: dict[str, str] = field(default_factory=dict)
    received: list[ReceivedMail] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=content if isinstance(content, bytes) else str(content).encode(),
            peer=str(session.peer),
        )
        with self._lock:
            self.received.append(mail)
        await self.store(mail)
        return "250 Message accepted for delivery"

    async def store(self, mail: ReceivedMail) -> None:
        """Where else a received message goes (nowhere, here)."""

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [mail.parsed() for mail in self.received]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a received message (what the demo page shows)."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


@dataclass
class DemoMailHandler(CollectingHandler):
    """Also stores each message for the demo "sent mail" page.

    Only a little is kept in memory (the page reads the table), so a long demo doesn't
    grow the process.
    """

    keep_in_memory: int = 100

    async def store(self, mail: ReceivedMail) -> None:
        from asgiref.sync import sync_to_async

        await sync_to_async(_save_demo_mail, thread_sensitive=False)(mail)
        with self._lock:
            del self.received[: -self.keep_in_memory]


def _save_demo_mail(mail: ReceivedMail) -> None:
    from django.db import close_old_connections

    from handsup.core.models import DemoMail

    message = mail.parsed()
    body = text_of(message)
    unsubscribe = message.get("List-Unsubscribe")
    if unsubscribe:
        body = f"{body.rstrip()}\n\n[List-Unsubscribe: {unsubscribe}]"
    try:
        DemoMail.objects.create(
            to=", ".join(mail.rcpt_tos), subject=str(message.get("Subject", ""))[:500], body=body
        )
    finally:
        close_old_connections()


def start_sink(
    handler: CollectingHandler | None = None, *, host: str = DEFAULT_HOST, port: int = 0
) -> tuple[Controller, CollectingHandler]:
    """Start an SMTP server in a background thread; port 0 picks a free one.

    Returns the controller (`.stop()` it; `.port` is where it listens) and its handler.
    """
    handler = handler if handler is not None else CollectingHandler()
    if port == 0:
        port = free_port(host)
    controller = Controller(handler, hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller, handler


def free_port(host: str = DEFAULT_HOST) -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve_counting(port: int, ready: Any, count: Any) -> None:
    """Run a server that accepts everything, counts it and keeps nothing (benchmarks).

    Meant as a separate process's target: `ready` is set once it listens, and `count`
    (a shared integer) goes up by one per message.
    """
    import time

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname=DEFAULT_HOST, port=port, ready_timeout=10)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    import os
    import time

    import django

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handsup.settings")
    django.setup()
    controller, _ = start_sink(DemoMailHandler(), host=args.host, port=args.port)
    print(f"SMTP sink listening on {args.host}:{controller.port} (Ctrl+C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
