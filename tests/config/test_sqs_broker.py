"""Q_BROKER=sqs against the local emulator: django-q2's own broker API over real HTTP.

django-q2 reads Q_CLUSTER once into its Conf class, so the fixture builds the dictionary with
config.broker.q_cluster (what the settings do) and switches Conf's broker fields to it.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from django.core import checks
from django_q import signing
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from config import sqs as sqs_module
from config.broker import SQS_BROKER_CLASS, q_cluster
from config.sqs import QueueMissing

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "spendlens-test"


@pytest.fixture
def sqs_cluster(aws, settings, monkeypatch):
    cluster = q_cluster({"Q_BROKER": "sqs", "Q_SQS_QUEUE": QUEUE}, region="us-east-1")
    settings.Q_CLUSTER = cluster
    monkeypatch.setattr(Conf, "BROKER_CLASS", cluster["broker_class"])
    monkeypatch.setattr(Conf, "SQS", cluster["sqs"])
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "PREFIX", cluster["name"])
    monkeypatch.setattr(Conf, "CLUSTER_NAME", cluster["name"])
    # Each test's emulator starts without queues: no URL may outlive the queue it named.
    monkeypatch.setattr(sqs_module, "_queue_urls", {})
    return cluster


@pytest.fixture
def sqs(aws):
    return boto3.client("sqs", endpoint_url=aws, region_name="us-east-1")


@pytest.fixture
def queue(sqs, sqs_cluster):
    return sqs.create_queue(QueueName=QUEUE)["QueueUrl"]


def counts(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def test_settings_name_the_queue_and_keep_credentials_to_the_default_chain():
    cluster = q_cluster({"Q_BROKER": "sqs", "Q_SQS_QUEUE": "jobs"}, region="eu-west-1")

    assert cluster["name"] == "jobs"
    assert cluster["broker_class"] == SQS_BROKER_CLASS
    assert cluster["sqs"] == {"aws_region": "eu-west-1", "receive_message_wait_time_seconds": 10}
    assert "orm" not in cluster and "redis" not in cluster


def test_enqueued_task_is_received_then_gone_once_acknowledged(queue, sqs):
    broker = get_broker()

    async_task("math.floor", 2.5, broker=broker, sync=False)
    received = broker.dequeue()

    assert len(received) == 1
    receipt, body = received[0]
    assert signing.SignedPackage.loads(body)["func"] == "math.floor"
    assert counts(sqs, queue) == (0, 1)  # in flight, waiting for the acknowledgement
    broker.acknowledge(receipt)
    assert counts(sqs, queue) == (0, 0)


def test_queue_counts_are_read_afresh(queue):
    # The monitor's broker watches tasks other processes (web, other workers) queue and take.
    monitor, producer, worker = get_broker(), get_broker(), get_broker()
    assert (monitor.queue_size(), monitor.lock_size()) == (0, 0)

    async_task("math.floor", 2.5, broker=producer, sync=False)
    assert (monitor.queue_size(), monitor.lock_size()) == (1, 0)
    worker.dequeue()
    assert (monitor.queue_size(), monitor.lock_size()) == (0, 1)


def test_unacknowledged_task_comes_back_after_retry_seconds(queue, sqs, monkeypatch):
    # django-q2 asks for VisibilityTimeout=Q_RETRY on each receive; the queue's default is 30 s.
    monkeypatch.setattr(Conf, "RETRY", 1)
    broker = get_broker()
    async_task("math.floor", 2.5, broker=broker, sync=False)
    first = broker.dequeue()
    assert counts(sqs, queue) == (0, 1)

    again = None
    deadline = time.monotonic() + 30
    while again is None and time.monotonic() < deadline:
        again = broker.dequeue()  # long polling: each call waits for a message

    assert again is not None, "the unacknowledged task was not delivered again"
    assert again[0][1] == first[0][1]


def test_missing_queue_is_a_clear_error_and_is_not_created(sqs_cluster, sqs):
    with pytest.raises(QueueMissing) as error:
        get_broker()

    assert str(error.value) == (
        "SQS queue 'spendlens-test' does not exist in us-east-1 (Q_BROKER=sqs): create it "
        "(terraform/modules/queue) or set Q_SQS_QUEUE to an existing queue."
    )
    assert "QueueUrls" not in sqs.list_queues()


def test_check_deploy_reports_the_missing_queue(sqs_cluster):
    errors = checks.run_checks(include_deployment_checks=True, tags=["spendlens"])

    assert [(e.id, e.msg) for e in errors] == [
        (
            "spendlens.E001",
            "SQS queue 'spendlens-test' does not exist in us-east-1 (Q_BROKER=sqs): create it "
            "(terraform/modules/queue) or set Q_SQS_QUEUE to an existing queue.",
        )
    ]


def test_check_deploy_passes_once_the_queue_exists(queue):
    assert checks.run_checks(include_deployment_checks=True, tags=["spendlens"]) == []


def test_queued_tasks_look_the_queue_up_once_per_process(queue, sqs):
    for n in range(3):
        async_task("math.floor", n, sync=False)

    assert list(sqs_module._queue_urls.values()) == [queue]
    assert counts(sqs, queue)[0] == 3


@pytest.mark.django_db
def test_ready_sees_a_queue_deleted_after_its_url_was_cached(client, queue, sqs):
    async_task("math.floor", 1, sync=False)
    sqs.delete_queue(QueueUrl=queue)

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == {"broker": "QueueMissing"}
    assert sqs_module._queue_urls == {}


def test_check_does_not_call_aws_with_another_broker(settings):
    # An endpoint nobody listens on: any call would be reported as spendlens.E002.
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:1"
    settings.Q_CLUSTER = q_cluster({"Q_BROKER": "orm"})

    assert checks.run_checks(include_deployment_checks=True, tags=["spendlens"]) == []


@pytest.mark.django_db
def test_ready_is_ok_with_the_queue(client, queue):
    response = client.get("/ready")

    assert response.status_code == 200


@pytest.mark.django_db
def test_ready_is_503_naming_the_missing_queue(client, sqs_cluster):
    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == {"broker": "QueueMissing"}


def test_qcluster_refuses_to_start_without_the_queue(aws):
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"Q_BROKER": "sqs", "Q_SQS_QUEUE": "absent", "AWS_ENDPOINT_URL": aws})

    result = subprocess.run(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SQS queue 'absent' does not exist in us-east-1" in result.stderr
