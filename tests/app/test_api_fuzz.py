"""Property-based fuzzing of every API operation from the OpenAPI document (schemathesis), against
the real app on real PostgreSQL: no answer may be a 5xx, and every answer must match what
``/openapi.json`` says (errors included: ``{"detail": {"code", "message"}}``).

Bounded for CI: a fixed number of examples per operation, derandomized so a run is repeatable;
``GIR_FUZZ_EXAMPLES`` raises it for a longer hunt (e.g. ``GIR_FUZZ_EXAMPLES=500``).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from tests.support.factories import Rows

EXAMPLES = int(os.environ.get("GIR_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(live_db: Engine) -> Any:
    """The app's own OpenAPI document, called in-process (ASGI) with real database sessions."""
    from app.main import create_app

    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture
def bearer(live_rows: Rows) -> dict[str, str]:
    """A signed-in caller, so the operations behind authentication are fuzzed too."""
    user = live_rows.user("Fuzz", email="fuzz@example.org", password="fuzz-password-1")
    return live_rows.token(user, "fuzz")


def _fuzz(case_strategy: Any, bearer: dict[str, str]) -> None:
    @given(case=case_strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=dict(bearer), checks=CHECKS)

    # No invalid input exists for an operation without parameters: nothing to send then.
    with contextlib.suppress(Unsatisfiable):
        run()


@pytest.mark.slow
def test_no_server_errors_and_answers_match_the_schema(
    api_schema: Any, bearer: dict[str, str]
) -> None:
    # schemathesis' own pytest integration does not run under pytest 9 (it sets a private
    # node attribute), so each operation is driven through hypothesis here; failures of all
    # operations are gathered so one run shows every hole.
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15, "the OpenAPI document lost operations"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation.as_strategy(generation_mode=mode), bearer)
            except Exception as error:
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {error}"
                )
    assert not failures, "\n\n".join(failures)
