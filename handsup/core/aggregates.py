"""A portable string aggregate: a group of rows folded into one value, so a page can read
a person's short lists (skills, groups, roles) in the same query as the person."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat

# Separators: control characters that no name or code contains.
ROWS_APART = "\x1e"
FIELDS_APART = "\x1f"


class JoinedRows(Aggregate):
    """The values of a group of rows as one string, ROWS_APART between them
    (PostgreSQL's `string_agg`, SQLite's `group_concat`)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, '" + ROWS_APART + "')"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def rows_of(queryset: Any, key: str, outer: str, *fields: str) -> Subquery:
    """Per row of an outer query, the rows of `queryset` whose `key` is the outer row's
    `outer`, as one string: FIELDS_APART between each row's `fields`."""
    pieces: list[Any] = []
    for name in fields:
        if pieces:
            pieces.append(Value(FIELDS_APART))
        pieces.append(Cast(name, CharField()))
    joined = Concat(*pieces, output_field=CharField()) if len(pieces) > 1 else pieces[0]
    rows = queryset.filter(**{key: OuterRef(outer)}).order_by().values(key)
    return Subquery(rows.annotate(joined=JoinedRows(joined)).values("joined")[:1])


def split_rows(text: str | None) -> list[list[str]]:
    """`rows_of`'s string back as rows of fields."""
    return [row.split(FIELDS_APART) for row in (text or "").split(ROWS_APART) if row]
