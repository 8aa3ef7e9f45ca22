# syntax=docker/dockerfile:1
# One image for the web service (gunicorn), the worker (qcluster) and one-off migrations.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
COPY requirements.txt .
# The lock pins the whole closure, so --no-deps installs exactly what was tested.
RUN pip install --no-deps -r requirements.txt
COPY . .
# collectstatic needs settings to load; a throwaway key is fine at build time.
RUN DEBUG=0 SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-000 \
    python manage.py collectstatic --noinput

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH="/opt/venv/bin:$PATH"
RUN groupadd --system --gid 10001 spendlens \
    && useradd --system --uid 10001 --gid spendlens --home-dir /app --shell /usr/sbin/nologin spendlens
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=spendlens:spendlens /app /app
USER spendlens
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
# exec form: gunicorn is PID 1 and receives ECS's SIGTERM directly.
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
