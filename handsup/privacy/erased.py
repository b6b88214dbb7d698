"""Recognising an erased person's address without keeping it.

Erasure leaves one `ErasedIdentity` per address the person used: a keyed one-way hash.
Anyone who already holds the address (an organiser re-importing an old list) can be told
"this person asked to be forgotten", and the address is never brought back into Hands Up
by someone else; nobody can read the address back out of the table. The person can still
sign up again themselves.

The key is derived from `SECRET_KEY`: rotating it makes the old digests unrecognisable
(list `SECRET_KEY_FALLBACKS` to keep them working).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from hashlib import sha256

from django.conf import settings

SALT = b"handsup.privacy.erased-identity"


def _keys() -> list[bytes]:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [sha256(SALT + secret.encode()).digest() for secret in secrets]


def identity_digest(address: str, *, key: bytes | None = None) -> str:
    """The hash kept of `address` (compared case-insensitively, spaces trimmed)."""
    normal = address.strip().lower().encode()
    return hmac.new(key or _keys()[0], normal, sha256).hexdigest()


def erased_addresses(addresses: Iterable[str], *, using: str = "default") -> set[str]:
    """Which of `addresses` belong to someone erased (one query per 1,000 addresses and
    key; none at all while nobody has been erased)."""
    from handsup.privacy.models import ErasedIdentity

    wanted = {address.strip().lower() for address in addresses if address.strip()}
    if not wanted or not ErasedIdentity.objects.using(using).exists():
        return set()
    found: set[str] = set()
    for key in _keys():
        by_digest = {identity_digest(address, key=key): address for address in wanted}
        digests = list(by_digest)
        for start in range(0, len(digests), 1000):
            chunk = digests[start : start + 1000]
            for digest in (
                ErasedIdentity.objects.using(using)
                .filter(digest__in=chunk)
                .values_list("digest", flat=True)
            ):
                found.add(by_digest[digest])
    return found


def is_erased_address(address: str, *, using: str = "default") -> bool:
    """Whether someone erased their account while using this address."""
    return bool(erased_addresses([address], using=using))
