"""django-q2's configuration (Q_CLUSTER), with the broker chosen by Q_BROKER.

A plain function of the environment so the settings module stays declarative and tests can
build the dictionary for any environment without restarting Django. It imports nothing of
Django's beyond the exception: it runs while the settings module is being imported.

Brokers (README, "Choosing a broker"): `orm` (the database, the default without REDIS_URL),
`redis` (the default with REDIS_URL) and `sqs` (config/sqs.py). Every one is at-least-once:
a task not acknowledged within `retry` seconds is delivered again, so `timeout` must stay
below `retry`. With SQS, `retry` is the visibility timeout django-q2 asks for on each receive.
"""

import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

BROKERS = ("orm", "redis", "sqs")
DEFAULT_QUEUE = "spendlens"
# The broker class that adds the endpoint override and the missing-queue error (config/sqs.py).
SQS_BROKER_CLASS = "config.sqs.SqsBroker"
# Long polling: one receive waits this long for a message instead of polling SQS several times
# a second (each request is billed). Short enough for the worker to notice a stop signal well
# within ECS's stop timeout.
SQS_WAIT_SECONDS = 10
# The most SQS accepts as a visibility timeout (12 hours).
SQS_MAX_VISIBILITY_SECONDS = 43200
# A standard queue name. FIFO queues (.fifo) need a MessageGroupId that django-q2 never sends.
SQS_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} has an invalid value ({raw!r}): {exc}") from exc


def q_cluster(environ: Mapping[str, str], region: str = "us-east-1") -> dict:
    """Q_CLUSTER for ENVIRON (os.environ in the settings); REGION is AWS_DEFAULT_REGION."""
    cluster = {
        "name": DEFAULT_QUEUE,
        "workers": _int(environ, "Q_WORKERS", 2),
        # A task may run this long before it is killed; it is re-delivered only after `retry`
        # seconds, which must stay above `timeout` or a slow task would run twice at once.
        "timeout": _int(environ, "Q_TIMEOUT", 900),
        "retry": _int(environ, "Q_RETRY", 1200),
        "max_attempts": 3,
        "ack_failures": True,
        "save_limit": 1000,
        "catch_up": False,
        "label": "Background tasks",
    }
    if cluster["timeout"] >= cluster["retry"]:
        raise ImproperlyConfigured(
            f"Q_TIMEOUT ({cluster['timeout']}) must be lower than Q_RETRY ({cluster['retry']})."
        )
    redis_url = environ.get("REDIS_URL", "")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, got {redis_url!r}.")
    broker = environ.get("Q_BROKER", "") or ("redis" if redis_url else "orm")
    if broker not in BROKERS:
        raise ImproperlyConfigured(f"Q_BROKER must be one of {', '.join(BROKERS)}, got {broker!r}.")
    if broker == "orm":
        cluster["orm"] = "default"
    elif broker == "redis":
        if not redis_url:
            raise ImproperlyConfigured("Q_BROKER=redis needs REDIS_URL (redis://host:6379/0).")
        cluster["redis"] = redis_url
    else:
        cluster.update(_sqs(environ, region, cluster["retry"]))
    return cluster


def _sqs(environ: Mapping[str, str], region: str, retry: int) -> dict:
    queue = environ.get("Q_SQS_QUEUE", "") or DEFAULT_QUEUE
    if not SQS_QUEUE_NAME.fullmatch(queue):
        raise ImproperlyConfigured(
            f"Q_SQS_QUEUE must be a standard SQS queue name (1-80 letters, digits, - or _; "
            f"FIFO queues are not supported), got {queue!r}."
        )
    if retry > SQS_MAX_VISIBILITY_SECONDS:
        raise ImproperlyConfigured(
            f"Q_RETRY ({retry}) is the SQS visibility timeout with Q_BROKER=sqs and must not "
            f"exceed {SQS_MAX_VISIBILITY_SECONDS} seconds."
        )
    return {
        # django-q2 uses the cluster name as the queue name. Not `cluster_name`: schedules
        # without a cluster only run where the two are equal.
        "name": queue,
        "broker_class": SQS_BROKER_CLASS,
        # No keys here: the default credential chain (the ECS task role) applies.
        "sqs": {"aws_region": region, "receive_message_wait_time_seconds": SQS_WAIT_SECONDS},
    }
