"""The "people" seed step: volunteers at real GB postcodes, each with an account.

Postcodes are drawn uniformly from every located postcode loaded, so density follows
the number of postcodes (a fair proxy for households): London gets far more people than
the Highlands. Accounts have unusable passwords, so no seeded person can log in; emails
are on a reserved `.invalid` domain, so nothing can ever be delivered to them.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connections

from handsup.accounts.models import User
from handsup.core.seeding import SeedContext, SeedError
from handsup.people.models import Person
from handsup.people.names import FIRST_NAMES, SURNAMES
from handsup.places.models import Postcode

SEED_EMAIL_DOMAIN = "seed.handsup.invalid"
# Seeded people joined at some moment in the three years before the seed epoch.
JOINED_WITHIN_SECONDS = 3 * 365 * 24 * 3600
CHUNK = 50_000
PUBLIC_ID_BYTES = 12  # as handsup.core.ids.new_public_id: 16 URL-safe characters
UNUSABLE_SUFFIX_BYTES = 30  # 40 characters, as Django's make_password(None)
# Signed up but never confirmed their email address, so not findable for needs.
P_UNVERIFIED = 0.02


@dataclass(frozen=True)
class SeededPeople:
    """What later seed steps get in `context.artifacts["people"]`: one entry per person,
    in the same order in every array."""

    person_ids: Any  # int64 arrays
    user_ids: Any
    districts: Any  # array of district codes
    eastings: Any
    northings: Any

    def __len__(self) -> int:
        return len(self.person_ids)


# Letters that Unicode does not decompose into an ASCII base letter.
_UNDECOMPOSABLE = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "ß": "ss"})


def email_slug(name: str) -> str:
    """The ASCII, lower-case form of a name part for an email address: "Siân" → "sian"."""
    folded = unicodedata.normalize("NFKD", name.translate(_UNDECOMPOSABLE))
    folded = folded.encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum() or char == "-")


def _located_postcodes(using: str) -> tuple[Any, Any, Any]:
    """Every located postcode as numpy arrays (codes, eastings, northings), in code order:
    the same order on every database, so a seed picks the same postcodes on each."""
    connection = connections[using]
    table = connection.ops.quote_name(Postcode._meta.db_table)
    # Raw SQL: the ORM would take twice as long to hand over 1.7 million rows. A chunked
    # (server-side, on PostgreSQL) cursor keeps only a batch of them in memory at a time.
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT code, eastings, northings FROM {table} "  # noqa: S608 (a quoted name)
            "WHERE eastings IS NOT NULL AND northings IS NOT NULL"
        )
        code_parts, eastings_parts, northings_parts = [], [], []
        while rows := cursor.fetchmany(100_000):
            codes, eastings, northings = zip(*rows, strict=True)
            code_parts.append(np.array(codes, dtype="U8"))
            eastings_parts.append(np.array(eastings, dtype=np.int64))
            northings_parts.append(np.array(northings, dtype=np.int64))
    if not code_parts:
        return np.empty(0, "U8"), np.empty(0, np.int64), np.empty(0, np.int64)
    code_array = np.concatenate(code_parts)
    order = np.argsort(code_array, kind="stable")
    return (
        code_array[order],
        np.concatenate(eastings_parts)[order],
        np.concatenate(northings_parts)[order],
    )


def _url_safe_tokens(blob: bytes, size: int) -> list[str]:
    """Split random bytes into tokens of `size` bytes (a multiple of 3), base64url each."""
    text = base64.urlsafe_b64encode(blob).decode("ascii")
    width = size // 3 * 4
    return [text[start : start + width] for start in range(0, len(text), width)]


def build_people(context: SeedContext) -> str:
    using = context.using
    if Person.objects.using(using).filter(seeded=True).exists():
        raise SeedError(
            "Seeded people already exist: run `handsup seed --reset …` to replace them."
        )
    count = context.volunteers
    codes, eastings, northings = _located_postcodes(using)
    if count and not len(codes):
        raise SeedError("No postcodes are loaded: run `handsup places load` first.")

    # Every random draw happens here, up front and in a fixed order, so the rows depend
    # only on the seed and the postcodes loaded, never on batch sizes. Draws stay compact
    # (numpy arrays, raw bytes) and become Python strings a chunk at a time.
    rng = context.rng("people")
    picked = rng.integers(0, max(len(codes), 1), size=count)
    first_picks = rng.integers(0, len(FIRST_NAMES), size=count)
    surname_picks = rng.integers(0, len(SURNAMES), size=count)
    joined_seconds = rng.integers(0, JOINED_WITHIN_SECONDS, size=count)
    user_id_bytes = rng.bytes(PUBLIC_ID_BYTES * count)
    person_id_bytes = rng.bytes(PUBLIC_ID_BYTES * count)
    password_bytes = rng.bytes(UNUSABLE_SUFFIX_BYTES * count)
    verified = rng.random(count) >= P_UNVERIFIED

    postcodes = codes[picked]
    del codes  # the other 1.7 million are not needed any more
    people = SeededPeople(
        person_ids=context.reserve_ids(Person, count),
        user_ids=context.reserve_ids(User, count),
        # "M1 1AE"[:-4] == "M1": every normalised postcode ends in space, digit, 2 letters.
        districts=np.array([code[:-4] for code in postcodes.tolist()], dtype="U4"),
        eastings=eastings[picked],
        northings=northings[picked],
    )
    first_slugs = [email_slug(name) for name in FIRST_NAMES]
    surname_slugs = [email_slug(name) for name in SURNAMES]

    @dataclass
    class Chunk:
        start: int
        stop: int

        def names(self) -> list[str]:
            return [
                f"{FIRST_NAMES[first]} {SURNAMES[surname]}"
                for first, surname in zip(self.firsts, self.surnames, strict=True)
            ]

        @property
        def firsts(self) -> list[int]:
            return first_picks[self.start : self.stop].tolist()  # type: ignore[no-any-return]

        @property
        def surnames(self) -> list[int]:
            return surname_picks[self.start : self.stop].tolist()  # type: ignore[no-any-return]

        def tokens(self, blob: bytes, size: int) -> list[str]:
            return _url_safe_tokens(blob[self.start * size : self.stop * size], size)

        def joined(self) -> list[str]:
            return context.timestamps(joined_seconds[self.start : self.stop])

    def chunks() -> Iterator[Chunk]:
        for start in range(0, count, CHUNK):
            yield Chunk(start, min(start + CHUNK, count))

    def user_rows() -> Iterator[Sequence[Any]]:
        for chunk in chunks():
            emails = [
                f"{first_slugs[first]}.{surname_slugs[surname]}.{number}@{SEED_EMAIL_DOMAIN}"
                for first, surname, number in zip(
                    chunk.firsts,
                    chunk.surnames,
                    range(chunk.start + 1, chunk.stop + 1),
                    strict=True,
                )
            ]
            passwords = [
                UNUSABLE_PASSWORD_PREFIX + suffix
                for suffix in chunk.tokens(password_bytes, UNUSABLE_SUFFIX_BYTES)
            ]
            yield from zip(
                people.user_ids[chunk.start : chunk.stop].tolist(),
                passwords,
                chunk.tokens(user_id_bytes, PUBLIC_ID_BYTES),
                emails,
                chunk.names(),
                chunk.joined(),
                repeat(False),
                repeat(True),
                repeat(False),
                strict=False,  # the repeats are endless
            )

    def person_rows() -> Iterator[Sequence[Any]]:
        for chunk in chunks():
            part = slice(chunk.start, chunk.stop)
            yield from zip(
                people.person_ids[part].tolist(),
                chunk.tokens(person_id_bytes, PUBLIC_ID_BYTES),
                people.user_ids[part].tolist(),
                chunk.names(),
                postcodes[part].tolist(),
                people.districts[part].tolist(),
                people.eastings[part].tolist(),
                people.northings[part].tolist(),
                chunk.joined(),
                verified[part].tolist(),
                repeat(True),
                repeat(""),
                strict=False,
            )

    with context.constraints_suspended(User, Person):
        context.bulk_insert(
            User,
            [
                "id",
                "password",
                "public_id",
                "email",
                "full_name",
                "date_joined",
                "is_superuser",
                "is_active",
                "is_staff",
            ],
            user_rows(),
            total=count,
            desc="accounts",
        )
        context.bulk_insert(
            Person,
            [
                "id",
                "public_id",
                "user",
                "display_name",
                "postcode",
                "district",
                "eastings",
                "northings",
                "created_at",
                "verified",
                "seeded",
                "email",
            ],
            person_rows(),
            total=count,
            desc="people",
        )
    context.artifacts["people"] = people
    return f"{count:,} people with accounts at {len(np.unique(picked)):,} postcodes"


def reset_people(context: SeedContext) -> str:
    """Delete seeded people and their accounts (nothing else of theirs exists by now:
    later steps' resets ran first)."""
    connection = connections[context.using]
    quote = connection.ops.quote_name
    people = quote(Person._meta.db_table)
    users = quote(User._meta.db_table)
    with (
        context.constraints_suspended(User, Person, own=False, incoming=True),
        connection.cursor() as cursor,
    ):
        # Raw SQL: the ORM's delete would collect a million accounts' cascades in Python.
        # Nothing but the person refers to a seeded account once later resets have run.
        cursor.execute(
            f"DELETE FROM {users} WHERE id IN "  # noqa: S608 (quoted names)
            f"(SELECT user_id FROM {people} WHERE seeded = %s AND user_id IS NOT NULL)",
            [True],
        )
        accounts = cursor.rowcount
        cursor.execute(f"DELETE FROM {people} WHERE seeded = %s", [True])  # noqa: S608
        removed = cursor.rowcount
    return f"{removed:,} people and {accounts:,} accounts removed"
