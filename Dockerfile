# syntax=docker/dockerfile:1
#
# Two stages: the builder installs the hash-pinned production dependencies and the
# package into a virtualenv; the runtime stage copies only that virtualenv onto a clean
# slim image and runs it as an unprivileged user.
#
#   docker build -t taskmanager:local .
#   docker run --rm -p 8000:8000 -v taskmanager-data:/data taskmanager:local
#
# With no DATABASE_URL / REDIS_URL the container runs the embedded mode (SQLite file in
# the /data volume, in-process Redis stand-in, one process). For PostgreSQL + Redis see
# docker-compose.yml.

############################ builder ############################
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /build

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# requirements-prod.lock: `uv pip compile pyproject.toml --generate-hashes -p 3.11
# -o requirements-prod.lock` (no dev extra). Wheels only: slim has no compiler.
COPY requirements-prod.lock ./
RUN pip install --require-hashes --only-binary=:all: -r requirements-prod.lock

# Then the package itself; its dependencies are already there.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps . \
    && taskmanager --help > /dev/null

############################ runtime ############################
FROM python:3.11-slim AS runtime

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home \
       --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /home/app
# Numeric, so orchestrators can verify runAsNonRoot; it is the user `app`.
USER 10001:10001

# The embedded mode's SQLite file lives here; unused with DATABASE_URL set.
VOLUME ["/data"]

EXPOSE 8000

# No curl in slim: python's urllib; urlopen raises (exit 1) on anything but 2xx.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]

# uvicorn drains in-flight requests on SIGTERM (SHUTDOWN_GRACE_SECONDS, default 10 s);
# give `docker stop` more than that: `docker stop -t 20`, or stop_grace_period in compose.
STOPSIGNAL SIGTERM

ENTRYPOINT ["taskmanager"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
