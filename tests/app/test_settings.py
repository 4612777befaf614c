"""The settings refuse a mistyped URL at start, with a sentence naming the variable and never
repeating the value (which may hold a password)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.queue import VALIDATE_TASK, build_celery
from app.settings import Settings
from app.storage import StorageError
from app.storage.local import local_folder

ACCEPTED = [
    ("GIR_DATABASE_URL", "sqlite:///var/gir.db"),
    ("GIR_DATABASE_URL", "sqlite://"),
    ("GIR_DATABASE_URL", "postgresql+psycopg://gir:pw@db.internal:5432/gir"),
    ("GIR_DATABASE_URL", "postgresql+psycopg://gir@/gir?host=/run/postgresql"),  # Unix socket
    ("GIR_BROKER_URL", "redis://redis:6379/0"),
    ("GIR_BROKER_URL", "rediss://:pw@cache.example.org:6380/1"),
    ("GIR_BROKER_URL", "filesystem://"),
    ("GIR_BROKER_URL", "memory://"),
    ("GIR_STORAGE_URL", ""),
    ("GIR_STORAGE_URL", "s3://bucket/prefix"),
    ("GIR_STORAGE_URL", "file:///srv/gir"),
    ("GIR_STORAGE_URL", "relative/folder"),
    ("GIR_PUBLIC_URL", "https://bench.example.org"),
    ("GIR_PUBLIC_URL", "http://127.0.0.1:8000/"),
]

REFUSED = [
    ("GIR_DATABASE_URL", "postgres://gir:hunter2@db/gir", "postgresql+psycopg://"),
    ("GIR_DATABASE_URL", "postgresql://gir:hunter2@db/gir", "psycopg 3"),
    ("GIR_DATABASE_URL", "postgresql+psycopg2://gir:hunter2@db/gir", "psycopg 3"),
    ("GIR_DATABASE_URL", "postgresql+psycopg:///gir?password=hunter2", "no PostgreSQL host"),
    ("GIR_DATABASE_URL", "var/gir.db", "sqlite:///"),
    ("GIR_DATABASE_URL", "mysql://root:hunter2@db/gir", "'mysql'"),
    ("GIR_BROKER_URL", "amqp://guest:hunter2@rabbit//", "'amqp'"),
    ("GIR_BROKER_URL", "redis:/localhost:6379", "redis://"),
    ("GIR_BROKER_URL", "redis://:hunter2@/0", "no Redis host"),
    ("GIR_BROKER_URL", "Redis://x:hunter2@h/0", "'Redis'"),
    ("GIR_STORAGE_URL", "ftp://user:hunter2@host/x", "'ftp'"),
    ("GIR_STORAGE_URL", "S3://bucket", "'S3'"),
    ("GIR_PUBLIC_URL", "bench.example.org", "http:// or https://"),
    ("GIR_PUBLIC_URL", "https://", "with a host"),
    ("GIR_PUBLIC_URL", "ftp://hunter2.example.org", "http:// or https://"),
]


def _settings(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> Settings:
    monkeypatch.setenv(variable, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(("variable", "value"), ACCEPTED)
def test_accepted_urls_stay_plain_strings(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    settings = _settings(monkeypatch, variable, value)
    read = getattr(settings, variable.removeprefix("GIR_").lower())
    assert read == value
    assert isinstance(read, str)  # code compares prefixes and hands it on as it is


@pytest.mark.parametrize(("variable", "value", "hint"), REFUSED)
def test_refused_urls_name_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hint: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(monkeypatch, variable, value)
    message = str(refused.value)
    assert variable in message
    assert hint in message
    assert "hunter2" not in message


def test_a_file_storage_url_sets_the_storage_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, "GIR_STORAGE_URL", "file:///srv/gir")
    assert str(settings.storage_dir) == "/srv/gir"
    assert settings.storage_location == "/srv/gir"
    s3 = _settings(monkeypatch, "GIR_STORAGE_URL", "s3://bucket/prefix")
    assert s3.storage_location == "s3://bucket/prefix"


def test_storage_cli_urls_are_checked_the_same_way() -> None:
    # `gir-admin storage migrate --to URL` opens a URL that never went through the settings.
    assert str(local_folder("file:///srv/x")) == "/srv/x"
    with pytest.raises(StorageError, match="'ftp'"):
        local_folder("ftp://host/x")


def test_no_refused_value_is_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic repeats the input by default; a secret typed into the wrong variable would
    # reach the logs with it.
    with pytest.raises(ValidationError) as refused:
        _settings(monkeypatch, "GIR_HIDDEN_SEED", "hunter2")
    assert "hidden_seed" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_celery_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIR_BROKER_URL", "redis://127.0.0.1:6379/0")  # no timeout on files
    defaults = build_celery(Settings(_env_file=None)).conf  # type: ignore[call-arg]
    assert defaults.broker_transport_options == {"visibility_timeout": 12 * 3600}
    assert (defaults.task_soft_time_limit, defaults.task_time_limit) == (
        6 * 3600 + 600,
        6 * 3600 + 900,
    )
    assert defaults.task_annotations == {VALIDATE_TASK: {"soft_time_limit": 600, "time_limit": 660}}

    for name, value in {
        "GIR_SANDBOX_TOTAL_S": "1000",
        "GIR_BROKER_VISIBILITY_S": "3000",
        "GIR_TASK_SOFT_MARGIN_S": "100",
        "GIR_TASK_HARD_MARGIN_S": "200",
        "GIR_VALIDATE_LIMIT_S": "90",
    }.items():
        monkeypatch.setenv(name, value)
    conf = build_celery(Settings(_env_file=None)).conf  # type: ignore[call-arg]
    assert conf.broker_transport_options == {"visibility_timeout": 3000}
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (1100, 1200)
    assert conf.task_annotations == {VALIDATE_TASK: {"soft_time_limit": 90, "time_limit": 150}}


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"GIR_TASK_SOFT_MARGIN_S": "900", "GIR_TASK_HARD_MARGIN_S": "900"},
            "GIR_TASK_HARD_MARGIN_S",
        ),
        ({"GIR_SANDBOX_TOTAL_S": "43000"}, "GIR_BROKER_VISIBILITY_S"),
        ({"GIR_BROKER_VISIBILITY_S": "3600", "GIR_SANDBOX_TOTAL_S": "3600"}, "GIR_SANDBOX_TOTAL_S"),
    ],
)
def test_limits_out_of_order_are_refused(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], named: str
) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings(_env_file=None)  # type: ignore[call-arg]
