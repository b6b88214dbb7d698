""" "Similar stories": what a reader of one story might read next.

score = 0.7 × cosine similarity of the TF-IDF vectors of title and body
      + 0.3 × tag overlap (Jaccard of the two stories' tags: issue tags plus the type of
        action, so sharing the type of action counts as sharing a tag)

over published stories only, never the story itself, and only stories with a score
above zero (sharing nothing means not similar at all).

TF-IDF, in a few lines of plain Python rather than a library: words are lowercased runs
of letters and digits, at least three long and not in a short English stop-word list;
a word's weight is (1 + log count) × (log((1 + N) / (1 + documents with it)) + 1), and
each story's vector is scaled to length one, so a cosine is a sum of products over the
words two stories share.

The index (vectors and tags of every published story) is built once per process and
rebuilt only when the published stories change: it is keyed on their count and their
latest `updated_at`, one cheap aggregate query per request. At movement scale (a few
thousand stories) the whole index is a few megabytes and a lookup scans it once.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max

from handsup.stories.models import Story

TEXT_WEIGHT = 0.7
TAG_WEIGHT = 0.3
SIMILAR_COUNT = 5
SHORTEST_WORD = 3

_STOP_WORD_TEXT = """
about above after again against all also and any are aren because been before being
below between both but can cannot could did didn does doesn doing don down during each
few for from further had has have having her here hers herself him himself his how into
isn its itself just let more most much must our ours ourselves out over own same she
should shouldn since some such than that the their theirs them themselves then there
these they this those through too under until very was wasn were weren what when where
which while who whom why will with won would you your yours yourself yourselves one two
get got went go going come came made make like lot lots many every really http https www
com org net html
"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

Vector = dict[str, float]


def words(text: str) -> list[str]:
    """The words that count: lowercased, at least three letters, not stop words."""
    return [
        word
        for word in _WORD.findall(text.lower())
        if len(word) >= SHORTEST_WORD and word not in STOP_WORDS and not word.isdigit()
    ]


def _normalised(weights: Vector) -> Vector:
    length = math.sqrt(sum(weight * weight for weight in weights.values()))
    if length == 0:
        return {}
    return {word: weight / length for word, weight in weights.items()}


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two unit-length vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b[word] for word, weight in a.items() if word in b)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class SimilarityIndex:
    vectors: dict[int, Vector]
    tags: dict[int, frozenset[str]]
    idf: dict[str, float]
    documents: int

    def vector_for(self, text: str) -> Vector:
        counts = Counter(words(text))
        # A word no published story has gets the rarest weight: it can't match anyway.
        unseen = math.log(1 + self.documents) + 1
        return _normalised(
            {
                word: (1 + math.log(count)) * self.idf.get(word, unseen)
                for word, count in counts.items()
            }
        )

    def scores(
        self, vector: Vector, tags: frozenset[str], *, exclude: int
    ) -> list[tuple[float, int]]:
        found = []
        for story_id, other in self.vectors.items():
            if story_id == exclude:
                continue
            score = TEXT_WEIGHT * cosine(vector, other) + TAG_WEIGHT * jaccard(
                tags, self.tags[story_id]
            )
            if score > 0:
                found.append((score, story_id))
        found.sort(key=lambda pair: (-pair[0], -pair[1]))
        return found


def story_text(title: str, body: str) -> str:
    # The title says what the story is about: it counts twice.
    return f"{title}\n{title}\n{body}"


def story_tags(issue_ids: set[int] | frozenset[int], action_type_id: int | None) -> frozenset[str]:
    tags = {f"issue:{pk}" for pk in issue_ids}
    if action_type_id is not None:
        tags.add(f"action:{action_type_id}")
    return frozenset(tags)


def build_index() -> SimilarityIndex:
    """Vectors and tags of every published story: two queries."""
    rows = list(Story.objects.published().values_list("pk", "title", "body", "action_type_id"))
    issues: dict[int, set[int]] = defaultdict(set)
    for story_id, tag_id in Story.issues.through.objects.filter(
        story__status=Story.Status.PUBLISHED
    ).values_list("story_id", "tag_id"):
        issues[story_id].add(tag_id)
    counts = {pk: Counter(words(story_text(title, body))) for pk, title, body, _action in rows}
    frequency: Counter[str] = Counter()
    for story_counts in counts.values():
        frequency.update(story_counts.keys())
    documents = len(rows)
    idf = {word: math.log((1 + documents) / (1 + seen)) + 1 for word, seen in frequency.items()}
    vectors = {
        pk: _normalised(
            {word: (1 + math.log(count)) * idf[word] for word, count in story_counts.items()}
        )
        for pk, story_counts in counts.items()
    }
    tags = {pk: story_tags(issues.get(pk, set()), action) for pk, _t, _b, action in rows}
    return SimilarityIndex(vectors=vectors, tags=tags, idf=idf, documents=documents)


_lock = threading.Lock()
_cached: tuple[tuple[int, datetime | None], SimilarityIndex] | None = None


def current_index() -> SimilarityIndex:
    """The index for the published stories as they are now, rebuilt only if they changed."""
    global _cached
    state = Story.objects.published().aggregate(count=Count("pk"), latest=Max("updated_at"))
    key = (state["count"], state["latest"])
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
    index = build_index()
    with _lock:
        _cached = (key, index)
    return index


def forget_index() -> None:
    """Drop the cached index (tests that change stories behind `updated_at`'s back)."""
    global _cached
    with _lock:
        _cached = None


def similar_story_ids(story: Story, *, limit: int = SIMILAR_COUNT) -> list[int]:
    index = current_index()
    vector = index.vectors.get(story.pk)
    tags = index.tags.get(story.pk)
    if vector is None or tags is None:
        # Not published (an author or curator previewing it): score it against the index.
        vector = index.vector_for(story_text(story.title, story.body))
        tags = story_tags(set(story.issues.values_list("pk", flat=True)), story.action_type_id)
    return [story_id for _score, story_id in index.scores(vector, tags, exclude=story.pk)[:limit]]


def similar_stories(story: Story, *, limit: int = SIMILAR_COUNT) -> list[Any]:
    """Up to `limit` published stories most like `story`, most similar first."""
    ids = similar_story_ids(story, limit=limit)
    if not ids:
        return []
    found = (
        Story.objects.published()
        .filter(pk__in=ids)
        .select_related("group", "action_type")
        .prefetch_related("issues")
    )
    by_id = {other.pk: other for other in found}
    return [by_id[pk] for pk in ids if pk in by_id]
