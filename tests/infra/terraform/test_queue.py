"""The SQS broker's queue: the task role may use that one queue and nothing else of SQS, what
fails repeatedly lands in a dead-letter queue, and the workers scale on the queue's depth."""

import re

from config.broker import SQS_QUEUE_NAME, q_cluster
from tests.infra.terraform.checkers import iam_documents, iam_problems, listed
from tests.infra.terraform.hcl import modules

QUEUE_ACTIONS = {
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
}


def test_task_role_may_use_the_task_queue_only():
    queue = modules()["queue"]
    assert iam_problems(queue) == []
    statements = {s["sid"]: s for s in iam_documents(queue)["use_queue"]}
    assert set(statements) == {"UseTheTaskQueue", "EncryptTheQueuesMessages"}
    use = statements["UseTheTaskQueue"]
    assert set(use["actions"]) == QUEUE_ACTIONS
    assert use["resources"] == ["${aws_sqs_queue.tasks.arn}"]
    # The key only through SQS, and only the two calls sending and receiving need.
    kms = statements["EncryptTheQueuesMessages"]
    assert sorted(kms["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["resources"] == ["${var.kms_key_arn}"]
    (condition,) = kms["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "kms:ViaService")
    assert condition["values"] == ["sqs.${data.aws_region.current.name}.amazonaws.com"]
    (policy,) = queue.of_type("aws_iam_role_policy").values()
    assert policy["role"] == "${var.task_role_name}"
    assert modules()["prod"].calls["queue"]["task_role_name"] == "${module.iam.task_role_name}"


def test_no_policy_anywhere_grants_more_of_sqs():
    granted = {
        action
        for module in modules().values()
        for statements in iam_documents(module).values()
        for statement in statements
        if statement.get("effect", "Allow") == "Allow"
        for action in listed(statement.get("actions"))
        if action.startswith("sqs:")
    }
    # No CreateQueue: a missing queue must fail at start (config/sqs.py), not be recreated
    # without its dead-letter queue and encryption. No PurgeQueue or DeleteQueue either.
    assert granted == QUEUE_ACTIONS


def test_repeatedly_unacknowledged_tasks_go_to_an_encrypted_dead_letter_queue():
    queue = modules()["queue"]
    queues = queue.of_type("aws_sqs_queue")
    assert set(queues) == {"tasks", "dead_letter"}
    redrive = queues["tasks"]["redrive_policy"]
    assert "deadLetterTargetArn = aws_sqs_queue.dead_letter.arn" in redrive
    assert "maxReceiveCount = var.max_receive_count" in redrive
    assert queue.default("max_receive_count") == 5
    (allow,) = queue.of_type("aws_sqs_queue_redrive_allow_policy").values()
    assert allow["queue_url"] == "${aws_sqs_queue.dead_letter.id}"
    assert 'redrivePermission = "byQueue"' in allow["redrive_allow_policy"]
    assert "sourceQueueArns = [aws_sqs_queue.tasks.arn]" in allow["redrive_allow_policy"]
    for name, body in queues.items():
        # The deployment's key, or SQS-managed encryption: never neither.
        assert body["kms_master_key_id"] == "${local.use_kms ? var.kms_key_arn : null}", name
        assert body["sqs_managed_sse_enabled"] == "${local.use_kms ? null : true}", name
    assert modules()["prod"].calls["queue"]["kms_key_arn"] == "${module.secrets.kms_key_arn}"
    (alarm,) = queue.of_type("aws_cloudwatch_metric_alarm").values()
    assert alarm["dimensions"] == {"QueueName": "${aws_sqs_queue.dead_letter.name}"}
    assert (alarm["metric_name"], alarm["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)


def test_visibility_timeout_is_the_applications_retry():
    # django-q2 redelivers after Q_RETRY seconds; the queue's own timeout follows the same value.
    queue = modules()["queue"]
    wiring = modules()["prod"].calls["queue"]["visibility_timeout_seconds"]
    m = re.fullmatch(
        r'\$\{tonumber\(lookup\(var\.extra_environment, "Q_RETRY", "(\d+)"\)\)\}', wiring
    )
    assert m, wiring
    assert int(m[1]) == queue.default("visibility_timeout_seconds") == q_cluster({})["retry"]
    assert queue.resources[("aws_sqs_queue", "tasks")]["visibility_timeout_seconds"] == (
        "${var.visibility_timeout_seconds}"
    )


def test_workers_scale_on_the_queue_backlog():
    ecs = modules()["ecs"]
    policy = ecs.resources[("aws_appautoscaling_policy", "worker_backlog")]
    assert policy["count"] == '${var.worker_queue_name == "" ? 0 : 1}'
    assert policy["resource_id"] == "${aws_appautoscaling_target.worker.resource_id}"
    target = ecs.resources[("aws_appautoscaling_target", "worker")]
    assert target["resource_id"].endswith("/${aws_ecs_service.worker.name}")
    (tracking,) = policy["target_tracking_scaling_policy_configuration"]
    assert tracking["target_value"] == "${var.worker_backlog_per_task}"
    metrics = {m["id"]: m for m in tracking["customized_metric_specification"][0]["metrics"]}
    (waiting,) = metrics["waiting"]["metric_stat"][0]["metric"]
    assert (waiting["namespace"], waiting["metric_name"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert waiting["dimensions"] == [{"name": "QueueName", "value": "${var.worker_queue_name}"}]
    (workers,) = metrics["workers"]["metric_stat"][0]["metric"]
    assert workers["metric_name"] == "RunningTaskCount"
    assert {"name": "ServiceName", "value": "${aws_ecs_service.worker.name}"} in workers[
        "dimensions"
    ]
    (returned,) = [m for m in metrics.values() if m["return_data"]]
    assert returned["expression"] == "waiting / workers"
    # The autoscaler owns the count; prod scales on the queue only with the SQS broker.
    worker = ecs.resources[("aws_ecs_service", "worker")]
    assert "desired_count" in worker["lifecycle"][0]["ignore_changes"]
    prod = modules()["prod"]
    assert (
        prod.calls["ecs"]["worker_queue_name"] == '${local.sqs_broker ? module.queue[0].name : ""}'
    )
    assert prod.calls["queue"]["count"] == "${local.sqs_broker ? 1 : 0}"
    assert prod.locals["sqs_broker"] == '${var.queue_broker == "sqs"}'
    assert prod.default("queue_broker") == ""


def test_queue_names_terraform_accepts_are_names_the_application_accepts():
    # Standard queues only (django-q2 sends no MessageGroupId), 68 characters so that
    # <name>-dead-letter fits SQS's 80; config/broker.py allows the same characters.
    condition = modules()["queue"].variables["name"]["validation"][0]["condition"]
    pattern = re.search(r'regex\("(.+)", var\.name\)', condition)[1]
    assert pattern == "^[A-Za-z0-9_-]{1,68}$"
    assert SQS_QUEUE_NAME.pattern == "[A-Za-z0-9_-]{1,80}"
