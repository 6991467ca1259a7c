# One image for the API and the workers: `omnidex serve --no-worker` and `omnidex worker`.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 tesseract-ocr \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# CPU-only torch by default; build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
# for GPU encoders.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY omnidex ./omnidex
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" ".[server,s3]"

ENV OMNIDEX_DATA_DIR=/data \
    OMNIDEX_HOST=0.0.0.0 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    UNSTRUCTURED_DISABLE_NOTICE=1
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["omnidex", "serve", "--no-worker"]
