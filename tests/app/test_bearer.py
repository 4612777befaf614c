"""One parser of the ``Authorization`` header: the CSRF exemption and the caller's identity read
the same bearer token, or none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.auth.csrf import bearer_token, has_bearer


def _request(header: str | None) -> Request:
    headers = [] if header is None else [(b"authorization", header.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer gir_abc", "gir_abc"),
        ("bearer gir_abc", "gir_abc"),
        ("BEARER   gir_abc  ", "gir_abc"),
        ("Bearer ", ""),  # names the scheme but no token: refused as an invalid token
        ("Bearer", None),  # no space: not the bearer scheme at all (as before)
        ("Bearergir_abc", None),
        ("Basic dXNlcjpwdw==", None),
        (" Bearer gir_abc", None),
        (None, None),
    ],
)
def test_the_bearer_token_of_a_header(header: str | None, token: str | None) -> None:
    request = _request(header)
    assert bearer_token(request) == token
    assert has_bearer(request) is (token is not None)


def test_an_empty_bearer_token_is_refused_and_a_bare_scheme_is_anonymous(
    client: TestClient,
) -> None:
    empty = client.get("/api/v1/me", headers={"Authorization": "Bearer "})
    assert empty.status_code == 401
    assert "invalid or revoked" in empty.json()["detail"]["message"]
    bare = client.get("/api/v1/me", headers={"Authorization": "Bearer"})
    assert bare.status_code == 401
    assert "sign in or send an API token" in bare.json()["detail"]["message"]
