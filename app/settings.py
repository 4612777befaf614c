"""One typed settings object for the API, the worker and both CLIs (environment prefix ``GIR_``).

Defaults are the embedded setup — SQLite file, a filesystem broker, a local storage folder — so
``make demo`` needs no configuration; production sets ``GIR_DATABASE_URL``, ``GIR_BROKER_URL`` and
``GIR_STORAGE_DIR`` (shared by every machine) and a real ``GIR_SECRET_KEY``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "development-only-secret-change-me"
VAR = Path("var")


class Settings(BaseSettings):
    """Every knob of GIR Bench; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="GIR_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{VAR / 'gir.db'}"
    broker_url: str = "filesystem://"
    broker_dir: Path = VAR / "broker"
    storage_dir: Path = VAR / "storage"
    secret_key: str = DEV_SECRET
    hidden_seed: int = Field(default=20231, ge=0)
    public_url: str = "http://127.0.0.1:8000"

    max_upload_mb: int = Field(default=1024, ge=1)
    quota_per_day: int = Field(default=5, ge=0)
    quota_active: int = Field(default=2, ge=0)
    login_attempts: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=300, ge=1)

    sandbox_memory_mb: int = Field(default=8192, ge=256)
    sandbox_image_s: float = Field(default=120.0, gt=0)
    sandbox_total_s: float = Field(default=6 * 3600.0, gt=0)
    sandbox_threads: int = Field(default=2, ge=1)
    # Per-model GPU memory cap (MiB; 0 = the whole card): torch's memory fraction, ORT's limit.
    sandbox_gpu_memory_mb: int = Field(default=32768, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    heartbeat_s: float = Field(default=30.0, gt=0)
    stale_after_s: float = Field(default=300.0, gt=0)
    reconcile_every_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "GIR_SECRET_KEY must be set outside development (e.g. `openssl rand -hex 32`)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        """The embedded database (one writer at a time)."""
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
