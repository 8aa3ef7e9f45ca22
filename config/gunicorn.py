"""gunicorn settings for the web container (`gunicorn -c config/gunicorn.py config.wsgi`)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Fargate tasks are small: 2 workers per vCPU plus one, overridable per service.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# Above the ALB's idle timeout (60 s), so the ALB never reuses a connection gunicorn closed.
keepalive = 75
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
preload_app = True
