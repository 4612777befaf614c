# GIR Bench image: API, worker and CLIs. Two variants by build argument:
#   docker build -t gir-bench .                       # CPU (torch CPU wheel, onnxruntime)
#   docker build -t gir-bench:gpu --build-arg VARIANT=gpu .   # CUDA torch + onnxruntime-gpu
# The image runs the service, so it installs the `[server]` extra (which brings `[core]`); the
# base distribution alone is only the `gir` client (make test installs -e '.[server,test]').

ARG VARIANT=cpu

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/gir

FROM base AS build-cpu
COPY pyproject.toml README.md ./
COPY gir_core ./gir_core
COPY app ./app
COPY worker ./worker
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && /opt/venv/bin/pip install ".[server]"

FROM build-cpu AS build-gpu
# CUDA torch of the same version and the GPU build of onnxruntime (CUDA execution provider).
RUN /opt/venv/bin/pip install --force-reinstall torch==2.13.0 \
    && /opt/venv/bin/pip uninstall -y onnxruntime \
    && /opt/venv/bin/pip install ".[gpu]"

FROM build-${VARIANT} AS build

FROM base AS runtime
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY frontend ./frontend
ENV PATH=/opt/venv/bin:$PATH \
    GIR_ENVIRONMENT=production \
    GIR_STORAGE_DIR=/data/storage \
    GIR_MIGRATIONS_DIR=/srv/gir/migrations
# The sandbox drops to `nobody` only if the runtime is world-readable: /opt/venv is.
RUN useradd --create-home --uid 10001 gir && mkdir -p /data/storage && chown -R gir /data
USER gir
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
