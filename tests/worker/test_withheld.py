"""While scoring, text the model controls never reaches the submitter (it saw hidden inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import settings
from gir_core.errors import (
    ContractError,
    ModelCrashError,
    ModelError,
    SandboxLimitError,
    SandboxViolationError,
)
from gir_core.sandbox.errors_map import SCORING_SENTENCES
from worker import jobs, sandboxing


@pytest.mark.parametrize(
    "error",
    [ModelCrashError("the model raised RuntimeError: pixel(3,4)=0.7215 secret"),
     SandboxViolationError("open('/x/0.7215') denied: secret"),
     ContractError("output contains NaN for a 64×64 input (task h03) secret 0.7215",
                   reason="not_finite"),
     SandboxLimitError("the model exceeded the limit of 60 s on a 256×0.7215 input secret",
                       reason="time")],
)  # fmt: skip
def test_model_controlled_messages_are_withheld_while_scoring(error: ModelError) -> None:
    assert "secret" in jobs.public_message(error, scoring=False)
    scored = jobs.public_message(error, scoring=True)
    assert "secret" not in scored and "0.7215" not in scored
    assert scored == SCORING_SENTENCES[error.reason]


def test_scoring_output_goes_to_an_admin_only_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIR_STORAGE_DIR", str(tmp_path))
    settings.get_settings.cache_clear()
    try:
        sandboxing.save_scoring_log(7, 1, "hidden input mean 0.4213\n")
        owner_log = (tmp_path / "logs" / "7.txt").read_text()
        admin_log = (tmp_path / "logs" / "7-scoring-admin.txt").read_text()
    finally:
        settings.get_settings.cache_clear()
    assert "0.4213" not in owner_log and "withheld" in owner_log
    assert admin_log == "hidden input mean 0.4213\n"
