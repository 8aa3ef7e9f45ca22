# syntax=docker/dockerfile:1
# Spendlens: one image for every process, so web, worker and migrations always run the same code.
#
#   web (default CMD):  gunicorn -c config/gunicorn.py config.wsgi        (port 8000)
#   worker:             docker run IMAGE python manage.py qcluster
#   migrations:         docker run --rm IMAGE python manage.py migrate --noinput
#
# ECS sets `command` per task definition (web, worker, migrate) and keeps this ENTRYPOINT.
# Settings come from the environment only (see .env.example); nothing secret is baked in.
#
# Debian is pinned by name (bookworm) so a new Debian release never arrives with a rebuild;
# the Python patch release follows the 3.11 line.

# --- build: a virtualenv with the locked dependencies, and the collected static files --------
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
# The lock pins the whole closure, so --no-deps installs exactly what was tested; every
# dependency ships manylinux wheels, so no compiler (and no apt) is needed.
RUN pip install --no-cache-dir --no-deps -r requirements.txt
COPY . .
# collectstatic loads the settings, which refuse to start without a 32+ character key when
# DEBUG is off; this throwaway value exists only in this build stage and never at runtime.
# The code is compiled here because at runtime it is read-only for the app user.
RUN DEBUG=0 SECRET_KEY=build-only-collectstatic-key-never-used-at-runtime \
        python manage.py collectstatic --noinput \
    && python -m compileall -q -j 0 accounts alerts config costs fleet findings actions dashboard demo

# --- runtime: the venv and the app, nothing else ----------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="spendlens" \
      org.opencontainers.image.description="Open-source AWS cost control" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${GIT_SHA}"
# PROMETHEUS_MULTIPROC_DIR: django-prometheus in multiprocess mode (several gunicorn workers)
# has every process write its samples there; the entrypoint empties it at start so a restart
# never replays old counters, and recreates it when /tmp is a fresh volume (ECS with a read-only
# root file system). Outside the code tree because /app is read-only for the app user.
# MPLCONFIGDIR: matplotlib (the weekly report's chart) keeps its font cache there; the app user
# has no home, and without it every process would warn and build the cache in a new temp dir.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/opt/venv/bin:$PATH" \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    MPLCONFIGDIR=/tmp/matplotlib
# A fixed numeric uid/gid: Kubernetes' runAsNonRoot and host volume ownership need numbers.
RUN groupadd --system --gid 10001 spendlens \
    && useradd --system --uid 10001 --gid spendlens --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin spendlens \
    && install -d -o spendlens -g spendlens -m 0750 /tmp/prometheus
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# Owned by root: the app user can read and run the code but not change it.
COPY --from=build /app /app
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# Fargate mounts an empty task volume on /tmp (read-only root filesystem); declaring it here
# makes that volume start with the image's /tmp (mode 1777), so the app user can write to it.
VOLUME ["/tmp"]
USER 10001:10001
EXPOSE 8000
# Liveness only (/health never touches the database, so a database outage does not get healthy
# web containers killed). The worker has no HTTP server: compose disables this check for it and
# ECS ignores image health checks in favour of the task definition's.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
# The entrypoint prepares the metrics directory, then `exec "$@"`: the command replaces the
# shell, so it is PID 1 under docker (or the child of ECS's init process, which forwards
# signals) and gets SIGTERM directly: graceful shutdown, no lost requests.
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
