"""One typed settings object for the API, the worker and both CLIs (environment prefix ``GIR_``).

Defaults are the embedded setup — SQLite file, a filesystem broker, a local storage folder — so
``make demo`` needs no configuration; production sets ``GIR_DATABASE_URL``, ``GIR_BROKER_URL``,
``GIR_STORAGE_URL`` (a bucket shared by every machine, or a folder) and a real ``GIR_SECRET_KEY``.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.urls import BrokerUrl, DatabaseUrl, PublicUrl, StorageUrl, storage_folder

DEV_SECRET = "development-only-secret-change-me"
VAR = Path("var")


class Settings(BaseSettings):
    """Every knob of GIR Bench; see the README's configuration table."""

    # hide_input_in_errors: a refused value may be a URL with a password or the secret key, and
    # the error goes to logs; every message names the variable instead.
    model_config = SettingsConfigDict(
        env_prefix="GIR_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "test", "production"] = "development"
    # app.logs: one line per record on stderr, key=value text or JSON (for a log collector).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # URLs are checked at start (app.urls): a scheme we do not run on is refused by name.
    database_url: DatabaseUrl = f"sqlite:///{VAR / 'gir.db'}"
    broker_url: BrokerUrl = "filesystem://"
    broker_dir: Path = VAR / "broker"
    storage_dir: Path = VAR / "storage"
    # A folder, file://… or s3://bucket/prefix; when set it wins over storage_dir (its older
    # alias). S3 credentials and endpoint are boto3's own AWS_* variables, never settings here.
    storage_url: StorageUrl = ""
    cache_dir: Path = VAR / "cache"
    cache_max_gb: float = Field(default=50.0, gt=0)
    secret_key: str = DEV_SECRET
    hidden_seed: int = Field(default=20231, ge=0)
    public_url: PublicUrl = "http://127.0.0.1:8000"

    max_upload_mb: int = Field(default=1024, ge=1)
    quota_per_day: int = Field(default=5, ge=0)
    quota_active: int = Field(default=2, ge=0)
    login_attempts: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=300, ge=1)

    # Web and uploads (SECURITY.md): abuse limits of the API process, each refused with a sentence.
    trusted_proxies: str = ""
    auth_window_s: int = Field(default=60, ge=1)
    register_per_address: int = Field(default=5, ge=1)
    register_global: int = Field(default=60, ge=1)
    login_per_address: int = Field(default=30, ge=1)
    login_global: int = Field(default=600, ge=1)
    account_attempts: int = Field(default=20, ge=1)
    hash_concurrency: int = Field(default=4, ge=1)
    hash_wait_s: float = Field(default=10.0, gt=0)
    uploads_per_user: int = Field(default=2, ge=1)
    upload_space_user_mb: int = Field(default=2048, ge=1)
    upload_space_total_mb: int = Field(default=8192, ge=1)
    upload_min_kib_s: float = Field(default=32.0, gt=0)
    upload_grace_s: float = Field(default=30.0, gt=0)

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

    # Celery's limits (app.queue). With late acks a running job holds its Redis message; one not
    # acknowledged within the visibility timeout is handed to another worker, so this must
    # outlast the longest job or a scoring run is started twice.
    broker_visibility_s: int = Field(default=12 * 3600, ge=60)
    # Celery stops a job that outlives the sandbox's own budget (GIR_SANDBOX_TOTAL_S) by these
    # margins — soft: an exception the job turns into a failure sentence; hard: the worker
    # process is killed. The sandbox's limit fires first; these catch a job stuck outside it.
    task_soft_margin_s: int = Field(default=600, ge=1)
    task_hard_margin_s: int = Field(default=900, ge=1)
    # Validation loads the model and runs three probes, a fraction of this (soft limit; the
    # hard one is a minute later, app.queue.VALIDATE_GRACE_S).
    validate_limit_s: int = Field(default=600, ge=10)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "GIR_SECRET_KEY must be set outside development (e.g. `openssl rand -hex 32`)"
            )
        return self

    @model_validator(mode="after")
    def _limits_in_order(self) -> Settings:
        if self.task_hard_margin_s <= self.task_soft_margin_s:
            raise ValueError(
                "GIR_TASK_HARD_MARGIN_S must exceed GIR_TASK_SOFT_MARGIN_S (the soft limit "
                "lets a job record its failure before the hard one kills it)"
            )
        if self.broker_visibility_s <= self.sandbox_total_s + self.task_hard_margin_s:
            raise ValueError(
                "GIR_BROKER_VISIBILITY_S must exceed GIR_SANDBOX_TOTAL_S + GIR_TASK_HARD_MARGIN_S, "
                "or Redis hands a job still running to a second worker"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        proxy_networks(value)  # refuses what it cannot parse, naming the entry
        return value

    @property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The addresses whose ``X-Forwarded-For`` is believed (none by default)."""
        return proxy_networks(self.trusted_proxies)

    @model_validator(mode="after")
    def _local_storage_url(self) -> Settings:
        if self.storage_url and not self.storage_url.startswith("s3://"):
            self.storage_dir = storage_folder(self.storage_url)  # the scheme is checked
        return self

    @property
    def storage_location(self) -> str:
        """``GIR_STORAGE_URL`` if set, else the folder ``GIR_STORAGE_DIR``."""
        if self.storage_url.startswith("s3://"):
            return self.storage_url
        return str(self.storage_dir)

    @property
    def cache_max_bytes(self) -> int:
        """``GIR_CACHE_MAX_GB`` in bytes."""
        return int(self.cache_max_gb * 2**30)

    @property
    def is_sqlite(self) -> bool:
        """The embedded database (one writer at a time)."""
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=8)
def proxy_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """The networks of a ``GIR_TRUSTED_PROXIES`` value, parsed once per distinct text: the
    proxy middleware asks for them on every request and for every forwarded hop.

    Raises:
        ValueError: an entry is not an IP address or network (named in the message).
    """
    networks = []
    for part in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"GIR_TRUSTED_PROXIES: {part!r} is not an IP address or network "
                "(e.g. 10.0.0.5,10.1.0.0/16)"
            ) from None
    return tuple(networks)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
