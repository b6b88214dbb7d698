"""The skills taxonomy: finding skills by what people type, and merging duplicates.

`search_skills` is the type-ahead behind the skills step of onboarding and the profile.
The taxonomy is small (about 80 skills), so one query fetches it and matching happens
here, where "vid" can find "Filming" through its synonym "video" and "français" matches
"francais" without a database-specific collation.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Greatest

from handsup.people.models import PersonSkill, Skill
from handsup.privacy.audit import record_audit

if TYPE_CHECKING:
    from handsup.accounts.models import User

_WORD = re.compile(r"\w+")
# Accents on Latin letters only: stripping every combining mark would mangle scripts
# such as Bengali, whose vowel signs are combining marks.
_LATIN_DIACRITICS = re.compile("[\u0300-\u036f]")

# Tiers of a match, best first.
_NAME_PREFIX, _NAME_CONTAINS, _SYNONYM = 0, 1, 2


def _words(text: str) -> list[str]:
    """Lower-case words without accents: "Crèche" and "creche" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall(unicodedata.normalize("NFC", _LATIN_DIACRITICS.sub("", decomposed)))


def _word_prefix_match(query: list[str], text: list[str]) -> bool:
    """Every word typed starts some word of `text` ("web dev" → "Web development")."""
    return all(any(word.startswith(typed) for word in text) for typed in query)


def _tier(query: list[str], skill: Skill) -> int | None:
    typed = " ".join(query)
    name = _words(skill.name)
    joined = " ".join(name)
    if joined.startswith(typed):
        return _NAME_PREFIX
    if typed in joined or _word_prefix_match(query, name):
        return _NAME_CONTAINS
    if any(_word_prefix_match(query, _words(synonym)) for synonym in skill.synonym_list):
        return _SYNONYM
    return None


def search_skills(query: str, *, limit: int = 20) -> list[Skill]:
    """Skills matching what someone typed: names starting with it, then names containing
    it, then skills one of whose synonyms matches; alphabetical within each. One query.
    """
    typed = _words(query)
    if not typed or limit <= 0:
        return []
    ranked: list[tuple[int, str, Skill]] = []
    for skill in Skill.objects.select_related("category"):
        tier = _tier(typed, skill)
        if tier is not None:
            ranked.append((tier, skill.name.casefold(), skill))
    ranked.sort(key=lambda row: (row[0], row[1]))
    return [skill for _, _, skill in ranked[:limit]]


def merged_synonyms(keep: Skill, merge: Skill) -> str:
    """`keep`'s synonyms, then `merge`'s name and synonyms, each once, one per line."""
    seen = {" ".join(_words(keep.name))}
    lines: list[str] = []
    for synonym in [*keep.synonym_list, merge.name, *merge.synonym_list]:
        key = " ".join(_words(synonym))
        if key and key not in seen:
            seen.add(key)
            lines.append(synonym)
    return "\n".join(lines)


@transaction.atomic
def do_merge_skills(*, actor: User, keep: Skill, merge: Skill) -> int:
    """Fold `merge` into `keep`, keeping everyone's data; returns how many people held
    `merge` (all of whom now hold `keep`).

    Someone who held only `merge` moves over with their level and remote flag; someone
    who held both keeps the higher level, and "remote" if either said so. `merge`'s
    name and synonyms become synonyms of `keep`, so searches for it still land.
    """
    if keep.pk == merge.pk:
        raise ValueError("A skill can't be merged into itself.")
    held_merge = PersonSkill.objects.filter(skill=merge)
    both = PersonSkill.objects.filter(skill=keep, person__in=held_merge.values("person"))

    # Set-based, so a popular skill held by many thousands merges in a few statements.
    merge_row = held_merge.filter(person=OuterRef("person"))
    both.update(level=Greatest(F("level"), Subquery(merge_row.values("level")[:1])))
    both.filter(remote=False, person__in=held_merge.filter(remote=True).values("person")).update(
        remote=True
    )
    combined, _ = held_merge.filter(
        person__in=PersonSkill.objects.filter(skill=keep).values("person")
    ).delete()
    moved = held_merge.update(skill=keep)

    keep.synonyms = merged_synonyms(keep, merge)
    keep.save(update_fields=["synonyms"])
    merged_slug = merge.slug
    merge.delete()
    people = combined + moved
    record_audit(
        actor=actor,
        action="people.skills_merged",
        obj=keep,
        details={"kept": keep.slug, "merged": merged_slug, "people": people},
    )
    return people
