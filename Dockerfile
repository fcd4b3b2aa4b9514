# The serving image: the trained model baked in, nothing but the service's own dependencies.
# Build after `make repro` (the model files are pipeline outputs): `make image`.
# tests/serving/test_image.py checks this file and runs its entrypoint the same way, outside Docker.
# Pinned by digest (a tag moves under you); Dependabot's docker ecosystem proposes the new digest weekly.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app/src

WORKDIR /app

# Dependencies first (cached layer): hash-pinned, serving only (no DVC, no great-expectations).
COPY requirements/serve.txt requirements/serve.txt
RUN pip install --no-deps --require-hashes -r requirements/serve.txt

COPY src/ src/
# Compiled once here: with PYTHONDONTWRITEBYTECODE every start (and every worker) compiled src/ again.
RUN python -m compileall -q src
COPY dvc.yaml params.yaml contract.yaml ./
# The model, its card (sha256 checked at start-up) and the smoke test's known answers: paths.model,
# paths.card and paths.smoke in dvc.yaml, written again here (tests/serving/test_image.py checks they match).
COPY models/model.skops models/model.json models/smoke.json models/
# The test set's figures (paths.metrics): the service exports its mean probability for the alert rules.
COPY reports/metrics.json reports/

RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin mlpipe \
    && mkdir -p /app/logs && chown mlpipe /app/logs
USER 10001

# The commit the image is built from (make image passes it): GET /version reports it. The model card
# records the model's inputs only, so the commit is stamped here, at the edge.
ARG GIT_COMMIT=""
LABEL org.opencontainers.image.revision=$GIT_COMMIT
ENV GIT_COMMIT=$GIT_COMMIT

ENV HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    MLPIPE_DOCS=false
EXPOSE 8000
# Healthy = ready: the model loaded and its hash matched. /ready needs no key (probes send none); the key
# goes along anyway, harmlessly, for a proxy in front that asks for it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:%s/ready' % os.environ['PORT'], headers={'X-API-Key': os.environ.get('MLPIPE_API_KEY', '')}), timeout=2)"]

ENTRYPOINT ["python", "-m", "mlpipe.serving"]
