"""Who may do what, on every route: anonymous / user / other user / admin get the expected
status, signed in with the session cookie and again with bearer API tokens.

The rules (issue 4): what needs a caller is 401 to anonymous visitors; private or moderated
submissions, and failure logs, are 404 to anyone but their owner and administrators (as if they
did not exist); someone else's public submission is 403 to change; another user's API token is
404; admin-only things are 403 to users. The matrix must name every route of
``app.main.create_app()`` — a new route fails the test until its row is added here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, User
from app.auth.service import create_token, revoke_token, session_cookie_for
from app.benchmarks.models import BenchmarkVersion
from app.main import create_app
from app.storage import get_storage, put_bytes
from app.submissions.lifecycle import log_key
from app.submissions.models import Submission
from tests.app.submissions_support import onnx_model
from tests.support.factories import Rows, bearer

VIEWERS = ("anonymous", "user", "other user", "admin")
PASSWORD = "correct horse battery staple"
CSRF = "csrf-token-for-the-authz-matrix-0123456789"
Mode = Literal["cookie", "bearer"]
Expect = tuple[int, int, int, int]
"""Statuses for anonymous, the user (who owns the submissions), another user, an admin."""

ALL_OK: Expect = (200, 200, 200, 200)
SIGNED_IN: Expect = (401, 200, 200, 200)
OWNER_OR_ADMIN: Expect = (404, 200, 404, 200)
MISSING: Expect = (404, 404, 404, 404)


@dataclass(frozen=True)
class Case:
    """One request: a route, the object its path names (a target of the world), the body."""

    method: str
    path: str
    expect: Expect
    target: str = ""
    body: str = ""
    bearer: Expect | None = None  # when API tokens get another answer than the cookie


MATRIX = [
    Case("GET", "/openapi.json", ALL_OK),
    Case("GET", "/docs", ALL_OK),
    Case("GET", "/docs/assets/{asset}", ALL_OK, target="docs asset"),
    Case("GET", "/docs/assets/{asset}", MISSING, target="missing"),
    Case("GET", "/healthz", ALL_OK),
    Case("GET", "/readyz", ALL_OK),
    Case("POST", "/api/v1/auth/register", (201, 201, 201, 201), body="register"),
    Case("POST", "/api/v1/auth/login", ALL_OK, body="login"),
    Case("POST", "/api/v1/auth/logout", (204, 204, 204, 204)),
    Case("GET", "/api/v1/me", SIGNED_IN),
    Case("PUT", "/api/v1/me/password", (401, 204, 204, 204), body="password"),
    # A leaked API token must not mint more: tokens are made from a signed-in browser only.
    Case("POST", "/api/v1/tokens", (401, 201, 201, 201), body="token", bearer=(401, 403, 403, 403)),
    Case("GET", "/api/v1/tokens", SIGNED_IN),
    Case("DELETE", "/api/v1/tokens/{token_id}", (401, 204, 404, 404), target="user's token"),
    Case("DELETE", "/api/v1/tokens/{token_id}", (401, 404, 404, 404), target="missing"),
    Case("POST", "/api/v1/submissions", (401, 202, 202, 202), body="upload"),
    Case("GET", "/api/v1/submissions", ALL_OK),
    Case("GET", "/api/v1/submissions/{submission_id}", ALL_OK, target="public"),
    Case("GET", "/api/v1/submissions/{submission_id}", OWNER_OR_ADMIN, target="private"),
    Case("GET", "/api/v1/submissions/{submission_id}", OWNER_OR_ADMIN, target="moderated"),
    Case("GET", "/api/v1/submissions/{submission_id}", MISSING, target="missing"),
    Case("DELETE", "/api/v1/submissions/{submission_id}", (401, 200, 403, 200), target="queued"),
    Case(
        "DELETE",
        "/api/v1/submissions/{submission_id}",
        (401, 200, 404, 200),
        target="private queued",
    ),
    Case("DELETE", "/api/v1/submissions/{submission_id}", (401, 409, 403, 409), target="public"),
    Case("DELETE", "/api/v1/submissions/{submission_id}", (401, 404, 404, 404), target="missing"),
    Case("GET", "/api/v1/submissions/{submission_id}/results", ALL_OK, target="public"),
    Case("GET", "/api/v1/submissions/{submission_id}/results", OWNER_OR_ADMIN, target="private"),
    Case("GET", "/api/v1/submissions/{submission_id}/results", OWNER_OR_ADMIN, target="moderated"),
    Case("GET", "/api/v1/submissions/{submission_id}/results", MISSING, target="missing"),
    Case("GET", "/api/v1/submissions/{submission_id}/log", OWNER_OR_ADMIN, target="failed"),
    Case("GET", "/api/v1/submissions/{submission_id}/log", OWNER_OR_ADMIN, target="private"),
    Case("GET", "/api/v1/submissions/{submission_id}/log", MISSING, target="public"),  # no log
    Case("GET", "/api/v1/submissions/{submission_id}/log", MISSING, target="missing"),
    Case("GET", "/api/v1/submissions/{submission_id}/model", OWNER_OR_ADMIN, target="public"),
    Case("GET", "/api/v1/submissions/{submission_id}/model", OWNER_OR_ADMIN, target="private"),
    Case("GET", "/api/v1/submissions/{submission_id}/model", MISSING, target="missing"),
    # Badges are for READMEs: public scores only, so even the owner gets a 404 for the rest
    # (the 200s: test_badges.py and test_secrecy.py, whose submissions have summaries).
    Case("GET", "/api/v1/submissions/{submission_id}/badge.svg", MISSING, target="private"),
    Case("GET", "/api/v1/submissions/{submission_id}/badge.svg", MISSING, target="moderated"),
    Case("GET", "/api/v1/submissions/{submission_id}/badge.svg", MISSING, target="missing"),
    Case("GET", "/api/v1/models/{name:path}/badge.svg", MISSING, target="unscored model"),
    Case("GET", "/api/v1/me/quota", SIGNED_IN),
    Case("GET", "/api/v1/tasks", ALL_OK),
    Case("GET", "/api/v1/versions", ALL_OK),
    Case("GET", "/api/v1/versions/{name}", ALL_OK, target="active version"),
    Case("GET", "/api/v1/versions/{name}", MISSING, target="missing"),
    Case("GET", "/api/v1/leaderboard", ALL_OK),
    Case("GET", "/api/v1/leaderboard.csv", ALL_OK),
    # Pages: forms post with the CSRF token; redirects (303) are not followed here.
    Case("GET", "/", ALL_OK),
    Case("GET", "/submissions/{submission_id}", ALL_OK, target="public"),
    Case("GET", "/submissions/{submission_id}", OWNER_OR_ADMIN, target="private"),
    Case("GET", "/submissions/{submission_id}", OWNER_OR_ADMIN, target="moderated"),
    Case("GET", "/submissions/{submission_id}", MISSING, target="missing"),
    Case(
        "GET",
        "/submissions/{submission_id}/examples/{task_key}/{part}.png",
        MISSING,
        target="missing example",
    ),
    Case("POST", "/submissions/{submission_id}/cancel", (401, 303, 403, 303), target="queued"),
    Case("GET", "/compare", ALL_OK),
    Case("GET", "/tasks", ALL_OK),
    Case("GET", "/tasks/clean.png", ALL_OK),
    Case("GET", "/tasks/{key}/thumb.png", MISSING, target="missing"),
    Case("GET", "/submit", ALL_OK),
    # The form without JavaScript: signed in by the cookie only (anonymous: to the sign-in page).
    Case("POST", "/submit", (303, 303, 303, 303), body="upload"),
    Case("GET", "/register", ALL_OK),
    # Login CSRF: a form sent without the token is refused even with no cookie at all.
    Case("POST", "/register", (403, 303, 303, 303), body="register form"),
    Case("GET", "/login", ALL_OK),
    Case("POST", "/login", (403, 303, 303, 303), body="login form"),
    Case("POST", "/logout", (303, 303, 303, 303)),
    Case("GET", "/account", (303, 200, 200, 200)),
    Case(
        "POST",
        "/account/tokens",
        (303, 200, 200, 200),
        body="token form",
        bearer=(303, 403, 403, 403),
    ),
    Case(
        "POST",
        "/account/tokens/{token_id}/revoke",
        (303, 303, 404, 404),
        target="user's fresh token",
    ),
    Case("GET", "/admin", (303, 403, 403, 200)),
    Case(
        "POST",
        "/admin/submissions/{submission_id}/rescore",
        (401, 403, 403, 303),
        target="fresh scored",
    ),
    Case(
        "POST",
        "/admin/submissions/{submission_id}/hide",
        (401, 403, 403, 303),
        target="fresh scored",
    ),
    Case(
        "POST",
        "/admin/submissions/{submission_id}/unhide",
        (401, 403, 403, 303),
        target="fresh scored",
    ),
    Case("POST", "/admin/requeue-stale", (401, 403, 403, 303)),
]


@dataclass
class World:
    """Users with passwords and tokens, and the objects the matrix's paths name."""

    users: dict[str, User]
    tokens: dict[str, str]
    targets: dict[str, Callable[[], str]] = field(default_factory=dict)


def _with_log(session: Session, submission_id: int) -> int:
    key = log_key(submission_id)
    put_bytes(get_storage(), key, b"== validation ==\nTraceback: the model raised ValueError\n")
    session.execute(update(Submission).where(Submission.id == submission_id).values(log_key=key))
    session.commit()
    return submission_id


def _targets(rows: Rows, owner: User, version: BenchmarkVersion) -> dict[str, Callable[[], str]]:
    """The objects paths name: fixed ones, and cancellable submissions made fresh each time."""
    session = rows.session

    def make(**fields: Any) -> int:
        row = rows.submission(
            owner, name="RestoreNet", storage_key="submissions/x.onnx",
            benchmark_version_id=version.id, **fields,
        )  # fmt: skip
        return row.id

    fixed = {
        "public": make(status="scored"),
        "private": _with_log(session, make(status="scored", visibility="private")),
        "moderated": make(status="scored", is_hidden=True),
        "failed": _with_log(session, make(status="failed", error_code="contract")),
        "active version": version.name,
        "docs asset": "swagger-ui.css",
        "missing": 987_654_321,
    }
    spare = create_token(session=session, user=owner, name="spare")[0].id
    targets: dict[str, Callable[[], str]] = {
        name: (lambda value=value: str(value)) for name, value in fixed.items()
    }
    targets["user's token"] = lambda: str(spare)
    targets["user's fresh token"] = lambda: str(
        create_token(session=session, user=owner, name="fresh")[0].id
    )
    targets["fresh scored"] = lambda: str(make(status="scored"))
    # Paths with several parameters: the target is the whole path. (Who sees a stored example
    # is tested in test_examples.py: this version has no tasks to make one.)
    targets["missing example"] = lambda: "/submissions/987654321/examples/1/input.png"
    targets["unscored model"] = lambda: f"/api/v1/models/RestoreNet/badge.svg?owner={owner.id}"
    targets["queued"] = lambda: str(make(status="queued"))  # a fresh one: cancelling ends it
    targets["private queued"] = lambda: str(make(status="queued", visibility="private"))
    return targets


@pytest.fixture
def world(session: Session, rows: Rows, storage_dir: Path, tune: Callable[..., None]) -> World:
    session.execute(update(BenchmarkVersion).values(is_active=False))
    version = BenchmarkVersion(name=f"authz-{uuid.uuid4().hex[:6]}", seed=1, is_active=True)
    session.add(version)
    session.commit()
    users = {
        name: rows.user(name, admin=name == "admin", password=PASSWORD)
        for name in ("user", "other user", "admin")
    }
    found = World(users, {name: rows.token_secret(user) for name, user in users.items()})
    found.targets = _targets(rows, found.users["user"], version)
    put_bytes(get_storage(), "submissions/x.onnx", b"the model file every row names")
    # Uploads must reach the authorization answer, not the quota.
    tune(quota_per_day=10_000, quota_active=10_000)
    return found


# --- requests ----------------------------------------------------------------------------------


def _credentials(world: World, viewer: str, mode: Mode, unsafe: bool) -> dict[str, str]:
    if viewer == "anonymous":
        return {}
    if mode == "bearer":
        return bearer(world.tokens[viewer])
    cookie = session_cookie_for(world.users[viewer])  # fresh: a password change ends the old
    headers = {"Cookie": f"gir_session={cookie}; gir_csrf={CSRF}"}
    return headers | ({"X-CSRF-Token": CSRF} if unsafe else {})


def _body(kind: str, world: World) -> dict[str, Any]:
    user = world.users["user"]
    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "": dict,
        "register": lambda: {
            "json": {
                "email": f"new-{uuid.uuid4().hex}@example.org",
                "name": "New",
                "password": PASSWORD,
            }
        },
        "login": lambda: {"json": {"email": user.email, "password": PASSWORD}},
        "password": lambda: {"json": {"current_password": PASSWORD, "new_password": PASSWORD}},
        "token": lambda: {"json": {"name": "ci"}},
        "register form": lambda: {
            "data": {
                "email": f"form-{uuid.uuid4().hex}@example.org",
                "name": "Form",
                "password": PASSWORD,
            }
        },
        "login form": lambda: {"data": {"email": user.email, "password": PASSWORD}},
        "token form": lambda: {"data": {"name": "ci"}},
        "upload": lambda: {
            "data": {"name": "RestoreNet"},
            "files": {
                "file": ("model.onnx", onnx_model(uuid.uuid4().hex), "application/octet-stream")
            },
        },
    }
    return bodies[kind]()


def send(client: TestClient, world: World, case: Case, viewer: str, mode: Mode) -> Response:
    """One request of ``case`` as ``viewer``, with nothing left from earlier ones (cookies)."""
    path = case.path
    if case.target:
        value = world.targets[case.target]()  # once: some targets are made fresh per request
        path = value if value.startswith("/") else re.sub(r"\{[a-z_]+\}", value, path)
    client.cookies.clear()
    headers = _credentials(world, viewer, mode, unsafe=case.method != "GET")
    return client.request(
        case.method, path, headers=headers, follow_redirects=False, **_body(case.body, world)
    )


# --- tests -------------------------------------------------------------------------------------


def test_the_matrix_names_every_route() -> None:
    routes = {
        (method, route.path)
        for route in iter_route_contexts(create_app().routes)
        for method in (route.methods or set()) - {"HEAD"}
    }
    named = {(case.method, case.path) for case in MATRIX}
    assert routes - named == set(), "routes without a row in the authorization matrix"
    assert named - routes == set(), "matrix rows for routes that no longer exist"


@pytest.mark.parametrize("mode", ["cookie", "bearer"])
@pytest.mark.usefixtures("broker")
def test_every_route_answers_each_caller_as_the_rules_say(
    client: TestClient, world: World, mode: Mode, tune: Callable[..., None]
) -> None:
    # The matrix registers and signs in dozens of times from one address; request-rate limits
    # are tested in test_auth_abuse.py.
    tune(register_per_address=1000, register_global=1000, login_per_address=1000)
    wrong = []
    for case in MATRIX:
        expected = case.bearer if mode == "bearer" and case.bearer else case.expect
        for viewer, status in zip(VIEWERS, expected, strict=True):
            response = send(client, world, case, viewer, mode)
            if response.status_code != status:
                where = f"{case.method} {case.path} [{case.target or '-'}] as {viewer}"
                wrong.append(
                    f"{where}: {response.status_code}, expected {status}: {response.text[:160]}"
                )
    assert wrong == [], "\n".join(wrong)


def test_errors_are_structured_and_say_nothing_of_what_exists(
    client: TestClient, world: World
) -> None:
    private, missing = world.targets["private"](), world.targets["missing"]()
    other = bearer(world.tokens["other user"])
    hidden = client.get(f"/api/v1/submissions/{private}/log", headers=other).json()
    absent = client.get(f"/api/v1/submissions/{missing}/log", headers=other).json()
    assert hidden["detail"]["code"] == absent["detail"]["code"] == "not_found"
    assert hidden["detail"]["message"] == f"there is no submission {private}"
    anonymous = client.get("/api/v1/me").json()
    assert anonymous["detail"]["code"] == "unauthorized"
    revoked = client.get("/api/v1/me", headers=bearer("gir_not-a-real-token"))
    assert (revoked.status_code, revoked.json()["detail"]["code"]) == (401, "unauthorized")


def test_a_revoked_token_is_refused_everywhere_it_identifies_the_caller(
    client: TestClient, world: World, session: Session
) -> None:
    user = world.users["user"]
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).first()
    assert row is not None and row.name == "ci"
    revoke_token(session=session, user=user, token_id=row.id)
    revoked = bearer(world.tokens["user"])
    for path in ("/api/v1/me", "/api/v1/submissions", "/api/v1/me/quota", "/api/v1/tokens"):
        assert client.get(path, headers=revoked).status_code == 401, path
