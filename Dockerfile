# shoprec: one image for the web app, the worker and migrations (deploy/docker/entrypoint.sh).
# Build: docker build -t shoprec .   Run the stack: docker compose -f deploy/compose.yaml up -d
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SHOPREC_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY config ./config
COPY connectors ./connectors
COPY demo ./demo
COPY email_blocks ./email_blocks
COPY engine ./engine
COPY integrations ./integrations
COPY plugin ./plugin
COPY serving ./serving
COPY spark_engine ./spark_engine
COPY storage ./storage
COPY templates ./templates
COPY worker ./worker
COPY deploy/docker/entrypoint.sh /usr/local/bin/shoprec-entrypoint
# The base install (no sentence-embedding extra: it needs PyTorch, gigabytes for a CPU build),
# editable like a checkout: the app finds templates/ beside its packages.
RUN pip install -e . \
    && groupadd --system shoprec \
    && useradd --system --gid shoprec --home-dir /data --shell /usr/sbin/nologin shoprec \
    && mkdir -p /data \
    && chown shoprec:shoprec /data

USER shoprec
VOLUME ["/data"]
EXPOSE 8000
# The web role's liveness; Compose turns it off for the worker, which serves no HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["shoprec-entrypoint", "healthcheck"]
ENTRYPOINT ["shoprec-entrypoint"]
CMD ["web"]
