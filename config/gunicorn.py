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

# Access log lines carry the request id django-guid put on the response; JSON like the app's
# logs unless LOG_FORMAT=plain.
if os.environ.get("LOG_FORMAT", "json") == "json":
    access_log_format = (
        '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
        '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
        '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
    )
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms [%({x-request-id}o)s]'


def on_starting(server):
    """Empty the multiprocess metrics directory: files of a previous run would be summed in."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    """A recycled worker's gauges must not count as live (prometheus_client multiprocess)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
