"""The deployment files: what `docker compose config` would check, plus our own rules.

Docker cannot run on the CI machine, so the compose file is parsed and checked here; the image
installs the project's `[server]` extra (the base distribution is only the `gir` client).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_part_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "api", "validator", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "api"):
        assert services[name]["healthcheck"]["test"], name
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_worker_reserves_a_gpu_and_scales() -> None:
    worker = _compose()["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and devices[0]["capabilities"] == ["gpu"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N works
    assert worker["command"][:4] == ["celery", "-A", "worker.celery_app", "worker"]
    assert "score" in worker["command"]


def test_secrets_are_required_not_defaulted() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("GIR_SECRET_KEY", "POSTGRES_PASSWORD", "GIR_HIDDEN_SEED"):
        assert f"${{{variable}:?" in text, variable


def test_dockerfile_builds_cpu_and_gpu_variants_with_pip_install() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG VARIANT=cpu" in text
    assert "FROM build-${VARIANT} AS build" in text
    assert "onnxruntime-gpu" in text
    assert 'pip install ".[server]"' in text  # the service extra, not the bare client
    assert 'pip install ".[gpu]"' in text
    assert 'CMD ["uvicorn", "app.main:app"' in text
    assert "USER gir" in text


def test_compose_stores_in_minio_and_workers_keep_a_local_cache() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"minio", "storage-init"} <= set(services)
    assert services["storage-init"]["command"] == ["gir-admin", "storage", "init"]
    assert services["minio"]["healthcheck"]["test"]
    for name in ("api", "validator", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["GIR_STORAGE_URL"].startswith("s3://"), name
        assert env["AWS_ENDPOINT_URL"].endswith("minio:9000}"), name
        assert "GIR_STORAGE_DIR" not in env, name
    worker = services["worker"]
    assert "cache:/data/cache" in worker["volumes"]
    assert "storage" not in compose["volumes"]  # no shared folder anywhere
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${MINIO_ROOT_PASSWORD:?" in text
