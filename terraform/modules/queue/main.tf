# The SQS queue of django-q2's SQS broker (Q_BROKER=sqs, Q_SQS_QUEUE = this queue's name), its
# dead-letter queue, and the task role's permission to use exactly this queue.
#
# Delivery is at-least-once: a worker receives a task with a visibility timeout of Q_RETRY
# seconds (django-q2 asks for it on each receive; the queue's own setting below matches it for
# any other reader) and deletes the message once the task ran, failed tasks included. A message
# received max_receive_count times without being deleted (its worker died or timed out each
# time) moves to the dead-letter queue, which raises an alarm instead of looping forever.
#
# Encryption: the deployment's KMS key when kms_key_arn is given (the task role then gets
# kms:GenerateDataKey/Decrypt through SQS only), SQS-managed keys otherwise.
#
# The task role may send, receive, delete, change visibility and look up this queue; it may not
# create, purge or delete queues, so a missing queue is an error at start (config/sqs.py).

data "aws_region" "current" {}

locals {
  use_kms = var.kms_key_arn != ""
}

resource "aws_sqs_queue" "dead_letter" {
  name                              = "${var.name}-dead-letter"
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = local.use_kms ? var.kms_key_arn : null
  kms_data_key_reuse_period_seconds = local.use_kms ? 300 : null
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  tags                              = var.tags
}

resource "aws_sqs_queue" "tasks" {
  name                              = var.name
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  kms_master_key_id                 = local.use_kms ? var.kms_key_arn : null
  kms_data_key_reuse_period_seconds = local.use_kms ? 300 : null
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

# Only the task queue may move messages into the dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.tasks.arn]
  })
}

# --- The task role's permission ---------------------------------------------------------------

data "aws_iam_policy_document" "use_queue" {
  statement {
    sid = "UseTheTaskQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = [aws_sqs_queue.tasks.arn]
  }

  dynamic "statement" {
    for_each = local.use_kms ? [1] : []
    content {
      sid       = "EncryptTheQueuesMessages"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "use_queue" {
  name   = "${var.name}-queue"
  role   = var.task_role_name
  policy = data.aws_iam_policy_document.use_queue.json
}

# --- Dead letters -----------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-dead-letters"
  alarm_description   = "Tasks moved to ${aws_sqs_queue.dead_letter.name} after ${var.max_receive_count} receives without an acknowledgement: read the worker logs, then redrive or purge."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
