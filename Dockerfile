# GIR Bench image: the gir_core science package and the CLIs (the service and the GPU worker
# arrive with later issues and reuse this image). CPU torch by default; GPU workers override
# TORCH_INDEX at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/gir
COPY pyproject.toml README.md ./
COPY gir_core ./gir_core
COPY app ./app
COPY worker ./worker
RUN pip install .

RUN useradd --create-home --uid 10001 gir
USER gir
CMD ["gir", "--help"]
