"""The SQS broker (Q_BROKER=sqs): django-q2's, with three changes, and its start-up check.

django-q2's broker builds its own boto3 session from Q_CLUSTER["sqs"] and creates the queue when
it is missing. Here the session is the platform's (accounts/aws.py: the default credential chain,
i.e. the ECS task role, and the AWS_ENDPOINT_URL override), a missing queue is an error naming
the queue and the region (the queue comes from Terraform, terraform/modules/queue, with its
dead-letter queue and policy, and the task role may not create queues anyway), and the queue
counts are read afresh each time.

Everything else is django-q2's: one message per task (256 KB at most), at most 10 messages a
receive, a visibility timeout of Q_RETRY seconds asked for on each receive (the queue's own
setting only applies to other readers), acknowledgement by deleting the message. Failed tasks
are acknowledged too (ack_failures), so the dead-letter queue only receives messages whose
worker died or timed out maxReceiveCount times. Queue sizes are SQS's approximate counts.
"""

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django_q.brokers.aws_sqs import Sqs
from django_q.conf import Conf

from accounts.aws import BOTO_CONFIG, endpoint_url, platform_session


class QueueMissing(ImproperlyConfigured):
    """The configured SQS queue does not exist (or is not visible to these credentials)."""


def queue_url(session, name: str) -> str:
    client = session.client("sqs", endpoint_url=endpoint_url(), config=BOTO_CONFIG)
    try:
        return client.get_queue_url(QueueName=name)["QueueUrl"]
    except client.exceptions.QueueDoesNotExist as exc:
        raise QueueMissing(
            f"SQS queue {name!r} does not exist in {session.region_name} (Q_BROKER=sqs): create "
            f"it (terraform/modules/queue) or set Q_SQS_QUEUE to an existing queue."
        ) from exc


# django-q2 builds a broker for every task it queues, so a web request that queues work would
# otherwise ask SQS for the queue's URL each time. A queue's URL never changes while it exists;
# the start-up check and /ready still look it up afresh.
_queue_urls: dict[tuple, str] = {}


def cached_queue_url(session, name: str) -> str:
    key = (endpoint_url(), session.region_name, name)
    if key not in _queue_urls:
        _queue_urls[key] = queue_url(session, name)
    return _queue_urls[key]


class SqsBroker(Sqs):
    @staticmethod
    def get_connection(list_key: str | None = None):
        return platform_session(Conf.SQS.get("aws_region"))

    def get_queue(self):
        self.sqs = self.connection.resource("sqs", endpoint_url=endpoint_url(), config=BOTO_CONFIG)
        return self.sqs.Queue(cached_queue_url(self.connection, self.list_key))

    def ping(self) -> bool:
        """Whether the queue exists now: /ready asks this, and a cached URL cannot answer it."""
        try:
            queue_url(self.connection, self.list_key)
        except QueueMissing:
            _queue_urls.pop((endpoint_url(), self.connection.region_name, self.list_key), None)
            raise
        return True

    # django-q2 reads the counts from the queue resource's attributes, which boto3 loads once
    # and caches until this broker itself acts on the queue: a monitor would keep showing the
    # first figures while other processes queue and take tasks.
    def queue_size(self) -> int:
        self.queue.reload()
        return super().queue_size()

    def lock_size(self) -> int:
        self.queue.reload()
        return super().lock_size()


@checks.register("spendlens", deploy=True)
def check_sqs_queue(app_configs=None, **kwargs):
    """`manage.py check --deploy`: the SQS queue exists. Calls AWS only when Q_BROKER=sqs."""
    sqs = settings.Q_CLUSTER.get("sqs")
    if sqs is None:
        return []
    session = platform_session(sqs.get("aws_region"))
    try:
        queue_url(session, settings.Q_CLUSTER["name"])
    except QueueMissing as exc:
        return [checks.Error(str(exc), id="spendlens.E001")]
    except (BotoCoreError, ClientError) as exc:
        return [
            checks.Error(
                f"SQS queue {settings.Q_CLUSTER['name']!r} could not be checked: {exc}",
                hint="The task role needs sqs:GetQueueUrl on the queue (terraform/modules/queue).",
                id="spendlens.E002",
            )
        ]
    return []
