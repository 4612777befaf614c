"""Query strings and form bodies from HTML forms, validated by the API's own schemas.

A GET form sends every field, empty ones as ``name=``; the API's schemas (rightly) refuse an
empty format or sort, so empty values are dropped first and a bad value becomes one sentence.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.errors import Invalid, first_problem

M = TypeVar("M", bound=BaseModel)


def parse_query(request: Request, model: type[M]) -> M:
    """The query string as ``model``; empty values mean "not given".

    Raises:
        Invalid: a value the schema refuses (422, naming the field).
    """
    values = {key: value for key, value in request.query_params.items() if value != ""}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise Invalid(first_problem(error.errors())) from None
