"""Schemathesis against our own OpenAPI document, in-process (the Django WSGI app), for
four token personas: group A with every scope, group B with every scope, group A read
only, and an expired token. Every operation gets schema-valid and schema-breaking
(negative) examples; the checks are "no 5xx" and "the response matches the schema".

CI: at least 25 examples per operation and persona (`-m fuzz`). The slow run (`-m slow`)
takes `HANDSUP_FUZZ_EXAMPLES` (100 unless set).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from handsup.needs.tests.conftest import make_volunteer
from handsup.people.models import Skill
from handsup.platform.tests.api_fixtures import (
    Caller,
    caller_a,
    caller_b,
    caller_expired,
    caller_read_only,
    make_caller,
)

__all__ = ["caller_a", "caller_b", "caller_expired", "caller_read_only", "make_caller"]

CI_EXAMPLES = 25
SLOW_EXAMPLES = int(os.environ.get("HANDSUP_FUZZ_EXAMPLES", "100"))
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class Totals:
    operations: set[str] = field(default_factory=set)
    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def examples_for(
    persona: str, caller: Caller, strategies: list[Any], examples: int, totals: Totals
) -> Any:
    """A Hypothesis test sending `examples` cases as `caller`, counting into `totals`."""

    @given(case=st.one_of(strategies))
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=caller.headers)
        totals.examples[f"{persona} {case.operation.label}"] += 1
        totals.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=caller.headers)
        except AssertionError as failure:
            totals.failures.append(f"{persona} {case.operation.label}: {failure}")
        except BaseExceptionGroup as group:
            totals.failures.append(f"{persona} {case.operation.label}: {group}")

    return run


def fuzz(cast: Any, personas: dict[str, Caller], examples: int) -> Totals:
    from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
    from handsup.needs.tests.conftest import in_days

    skill = Skill.objects.order_by("pk").first()
    assert skill is not None
    make_volunteer(skills={skill: (3, True)}, offset_m=None)
    need = do_create_need(
        actor=cast.users["admin_a"],
        group=cast.groups["group_a"],
        details=NeedDetails(
            title="Phone bank callers",
            description="Call members.",
            skills=(SkillWanted(skill=skill, min_level=2, required=True),),
            location_kind="remote",
            place=None,
            radius_km=None,
            schedule_kind="ongoing",
            weekly_slots=5,
            hours=__import__("decimal").Decimal(2),
            people_needed=3,
            closes_on=in_days(30),
            visibility="movement",
        ),
        publish=True,
    )
    known = {"need_id": need.public_id, "public_id": cast.groups["group_a"].public_id}
    totals = Totals()
    with connections_kept_open():
        # Loading the document is a request too.
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
        for persona, caller in personas.items():
            fuzz_persona(schema, persona, caller, known, examples, totals)
    return totals


@contextlib.contextmanager
def connections_kept_open() -> Iterator[None]:
    """Keep the test's database connection across requests, as Django's test client does:
    a real request closes it when it ends, which on PostgreSQL would end the test's
    transaction and leave every later request without a connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def fuzz_persona(
    schema: Any, persona: str, caller: Caller, known: dict[str, str], examples: int, totals: Totals
) -> None:
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # our own document must load whole
        operation = result.ok()
        label = operation.label
        totals.operations.add(label)
        path_names = {p.name for p in operation.path_parameters}
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        if path_names:
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE,
                    path_parameters={name: known[name] for name in path_names},
                )
            )
        # Some operations have nothing to break (no parameters, no body).
        with contextlib.suppress(Exception):
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

        examples_for(persona, caller, strategies, examples, totals)()


def report(totals: Totals, minimum: int) -> None:
    print(
        f"\nschemathesis: {len(totals.operations)} operations, "
        f"{sum(totals.examples.values())} examples, {len(totals.failures)} failures; "
        f"statuses {dict(sorted(totals.statuses.items()))}"
    )
    for failure in totals.failures[:20]:
        print(" -", failure[:500])
    assert not totals.failures
    assert not [code for code in totals.statuses if code >= 500]
    # /health takes nothing at all, so it has exactly one distinct request to make.
    thin = {key: n for key, n in totals.examples.items() if n < minimum and "/health" not in key}
    assert not thin, thin


@pytest.fixture
def personas(
    cast: Any, caller_a, caller_b, caller_read_only, caller_expired, settings
) -> dict[str, Caller]:
    settings.HANDSUP_API_RATE_PER_MINUTE = 1_000_000
    return {
        "group_a": caller_a,
        "group_b": caller_b,
        "read_only": caller_read_only,
        "expired": caller_expired,
    }


@pytest.mark.fuzz
@pytest.mark.django_db
def test_fuzz_every_operation_for_every_persona(cast, personas):
    totals = fuzz(cast, personas, CI_EXAMPLES)
    report(totals, CI_EXAMPLES)


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.django_db
def test_fuzz_every_operation_for_every_persona_at_length(cast, personas):
    totals = fuzz(cast, personas, max(SLOW_EXAMPLES, 100))
    report(totals, 100)
