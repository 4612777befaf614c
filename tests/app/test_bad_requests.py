"""The requests that used to answer 500 (issue #13, item 10), the error schema in OpenAPI, and
``/docs`` served without a CDN (item 16)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.factories import Rows

HUGE = "99999999999"  # above PostgreSQL's INTEGER
BEYOND_INT64 = str(2**64)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and {"code", "message"} <= set(body["detail"])
    assert isinstance(body["detail"]["message"], str) and body["detail"]["message"]
    return dict(body["detail"])


@pytest.fixture
def bearer(rows: Rows) -> dict[str, str]:
    return rows.token(rows.user("Ada", email="ada@example.org", password="x" * 12), "t")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"/api/v1/submissions/{HUGE}"),
        ("GET", f"/api/v1/submissions/{HUGE}/results"),
        ("GET", f"/api/v1/submissions/{HUGE}/log"),
        ("DELETE", f"/api/v1/submissions/{HUGE}"),
        ("DELETE", f"/api/v1/tokens/{HUGE}"),
        ("GET", f"/submissions/{HUGE}"),
        ("GET", f"/api/v1/submissions?offset={BEYOND_INT64}"),
        ("GET", f"/api/v1/submissions?offset={2**63 - 1}"),
        ("GET", f"/api/v1/leaderboard?offset={BEYOND_INT64}"),
    ],
)
def test_numbers_beyond_the_database_are_422(
    client: TestClient, bearer: dict[str, str], method: str, url: str
) -> None:
    detail = _error(client.request(method, url, headers=bearer), 422)
    assert detail["code"] == "invalid" and "less than or equal to 2147483647" in detail["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/leaderboard?q=a%00b",
        "/api/v1/leaderboard.csv?q=%00",
        "/?q=%00",
        "/api/v1/versions/demo%00",
        "/tasks/1%00/thumb.png",
    ],
)
def test_a_nul_byte_in_the_url_is_400(client: TestClient, url: str) -> None:
    assert "NUL" in _error(client.get(url), 400)["message"]


def test_control_characters_in_bodies_are_422(client: TestClient, bearer: dict[str, str]) -> None:
    body = {"email": "a\x00@example.org", "name": "A", "password": "x" * 12}
    _error(client.post("/api/v1/auth/register", json=body), 422)
    _error(client.post("/api/v1/auth/login", json={"email": "a\x00b", "password": "x"}), 422)
    page = client.get("/login", headers={"Accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"email": "a\x00b@example.org", "password": "x", "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code == 422


@pytest.mark.parametrize("length", [71, 5000, 70_000])
def test_a_very_long_multipart_boundary_is_a_4xx(
    client: TestClient, bearer: dict[str, str], length: int
) -> None:
    boundary = "b" * length
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--{boundary}--'
    headers = {**bearer, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    detail = _error(client.post("/api/v1/submissions", content=body, headers=headers), 422)
    assert "boundary" in detail["message"]
    page = client.post("/login", content=body, headers={"Content-Type": headers["Content-Type"]})
    assert 400 <= page.status_code < 500


def test_openapi_describes_the_error_body_we_send(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorRead"]["properties"]["detail"]["$ref"].endswith("/ErrorDetail")
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message"}
    operations = [op for item in spec["paths"].values() for op in item.values()]
    for operation in operations:
        for code, response in operation["responses"].items():
            if code[0] in "45" or code == "default":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorRead"
                }
    invalid = client.get("/api/v1/submissions?limit=0")
    assert set(_error(invalid, 422)) == {"code", "message"}


def test_docs_are_served_from_here_under_the_csp(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it
    assert 'data-openapi="/openapi.json"' in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
    assert client.get("/docs/assets/swagger-editor.js").status_code == 404
