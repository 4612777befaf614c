"""The rows every suite makes — accounts, API tokens, submissions — made by one piece of code for
``tests/app``, ``tests/worker`` and ``tests/browser``.

Flush or commit is chosen once, by whoever binds the factories to a session, never by a helper:

``Rows(session)`` flushes
    Rows get their ids and stay in the session's transaction. ``tests/app``'s ``rows`` fixture
    binds it to the savepoint-isolated ``session``, whose outer transaction is rolled back after
    the test: nothing is left behind. Use it whenever only that session reads the rows — the API
    under ``client`` runs on the same session.
``Rows(session, commit=True)`` commits after every row
    For rows another connection or process must read: a live uvicorn (``live_server``), a Celery
    worker, a browser. ``tests/app``'s ``live_rows`` (on ``live_db``, which empties every table
    afterwards), ``tests/worker``'s ``rows`` and the browser seed use it.

API tokens are minted by the product's own ``create_token``, which commits its session whatever
was chosen: inside the savepoint fixture that commit only releases a savepoint, so the test's
rows are still rolled back.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.security import hash_password
from app.auth.service import create_token
from app.submissions.models import Submission, Summary

Headers = dict[str, str]


def bearer(secret: str) -> Headers:
    """The ``Authorization`` header that presents an API token."""
    return {"Authorization": f"Bearer {secret}"}


@dataclass(frozen=True)
class Rows:
    """Factories writing through ``session``; ``commit`` says whether each row is committed
    (other processes see it) or only flushed (see the module docstring)."""

    session: Session
    commit: bool = False

    def _save(self, row: object) -> None:
        self.session.add(row)
        if self.commit:
            self.session.commit()
        else:
            self.session.flush()

    def user(
        self,
        name: str = "user",
        *,
        admin: bool = False,
        password: str | None = None,
        email: str | None = None,
    ) -> User:
        """An account called ``name``. Its e-mail is unique (``name-xxxxxx@example.org``) unless
        ``email`` is given. Without ``password`` it cannot sign in (no hash is computed, so
        tests stay fast); with one it signs in like a registered user."""
        if email is None:
            email = f"{name.replace(' ', '-').lower()}-{uuid.uuid4().hex[:6]}@example.org"
        digest = "!" if password is None else hash_password(password)
        user = User(email=email, name=name, is_admin=admin, password_hash=digest)
        self._save(user)
        return user

    def token_secret(self, user: User, name: str = "ci") -> str:
        """A real API token of ``user``, minted by the service: its secret."""
        _, secret = create_token(session=self.session, user=user, name=name)
        return secret

    def token(self, user: User, name: str = "ci") -> Headers:
        """A real API token of ``user``, minted by the service, as request headers."""
        return bearer(self.token_secret(user, name))

    def user_with_token(
        self,
        name: str = "user",
        *,
        admin: bool = False,
        password: str | None = None,
        email: str | None = None,
    ) -> tuple[User, Headers]:
        """:meth:`user` and a :meth:`token` for it."""
        user = self.user(name, admin=admin, password=password, email=email)
        return user, self.token(user)

    def submission(self, owner: User, **fields: Any) -> Submission:
        """A submission row of ``owner`` (no model file is stored). Defaults: an ONNX file
        called ``net`` of 100 bytes with a fresh digest under the owner's storage folder;
        ``fields`` set anything else (``status``, ``visibility``, …) or override those."""
        digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
        values: dict[str, Any] = {
            "name": "net",
            "format": "onnx",
            "sha256": digest,
            "size_bytes": 100,
            "storage_key": f"submissions/{owner.id}/{digest}.onnx",
        }
        row = Submission(owner_id=owner.id, **(values | fields))
        self._save(row)
        return row

    def summary(self, submission: Submission, version_id: int, **values: Any) -> Summary:
        """The summary of scored ``submission`` on version ``version_id``. Defaults fill the
        eight scores the table requires (AR 0.5 within 0.4-0.6, ER 0.25, PSNR 25 within 24-26,
        SSIM 0.8); ``values`` override them or set the optional ones (splits, bias, NIQE)."""
        scores: dict[str, Any] = {
            "ar": 0.5,
            "er": 0.25,
            "mean_psnr": 25.0,
            "mean_ssim": 0.8,
            "ar_low": 0.4,
            "ar_high": 0.6,
            "psnr_low": 24.0,
            "psnr_high": 26.0,
        }
        row = Summary(
            submission_id=submission.id, benchmark_version_id=version_id, **(scores | values)
        )
        self._save(row)
        return row
