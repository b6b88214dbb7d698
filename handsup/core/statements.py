"""Statements built through the ORM once and run many times: a queryset compiled with
stand-in ids, whose places in the parameters each call fills with the real ones.

For hot paths where building the queryset costs more than running it (every signed-in
request's user, every sync of a person's matching row). The stand-ins are negative
numbers far below any id, so nothing else in a statement's parameters can be one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

STAND_IN = -(2**62)


def compiled(queryset: QuerySet[Any, Any], using: str) -> tuple[str, list[Any]]:
    """The SQL and parameters the queryset runs as on database `using`."""
    sql, params = queryset.query.get_compiler(using=using).as_sql()
    return sql, list(params)


@dataclass(frozen=True)
class Statement:
    sql: str
    template: list[Any]
    slots: dict[int, int]  # position in the parameters -> which id goes there

    @classmethod
    def build(
        cls, make: Callable[[list[int]], QuerySet[Any, Any]], count: int, using: str
    ) -> Statement | None:
        """`make(ids)` compiled with `count` stand-ins for the ids; None when the compiler
        did not put each stand-in in the parameters exactly once (never cache a guess)."""
        stand_ins = [STAND_IN - index for index in range(count)]
        sql, template = compiled(make(stand_ins), using)
        slots = {
            position: STAND_IN - value
            for position, value in enumerate(template)
            if isinstance(value, int) and not isinstance(value, bool) and value <= STAND_IN
        }
        if sorted(slots.values()) != list(range(count)):
            return None
        return cls(sql, template, slots)

    def fill(self, ids: Sequence[Any]) -> tuple[str, list[Any]]:
        """The SQL and parameters for these ids (as many as the stand-ins)."""
        params = list(self.template)
        for position, index in self.slots.items():
            params[position] = ids[index]
        return self.sql, params
