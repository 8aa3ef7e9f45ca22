# terraform test (offline: mocked provider, applied against the mock): the redrive wiring,
# the encryption choice and the name validation, evaluated rather than read as expressions.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

# Distinct ARNs, so the redrive assertions can tell the two queues apart.
override_resource {
  target = aws_sqs_queue.tasks
  values = { arn = "arn:aws:sqs:us-east-1:123456789012:spendlens" }
}

override_resource {
  target = aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:us-east-1:123456789012:spendlens-dead-letter" }
}

variables {
  name           = "spendlens"
  task_role_name = "spendlens-task"
  kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
}

run "queue_and_dead_letter_queue" {
  command = apply

  assert {
    condition     = aws_sqs_queue.tasks.name == "spendlens" && aws_sqs_queue.dead_letter.name == "spendlens-dead-letter"
    error_message = "The task queue is Q_SQS_QUEUE's default, spendlens."
  }

  assert {
    condition = jsondecode(aws_sqs_queue.tasks.redrive_policy) == {
      deadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:spendlens-dead-letter"
      maxReceiveCount     = 5
    }
    error_message = "Tasks received 5 times without an acknowledgement must move to the dead-letter queue."
  }

  assert {
    condition = jsondecode(aws_sqs_queue_redrive_allow_policy.dead_letter.redrive_allow_policy) == {
      redrivePermission = "byQueue"
      sourceQueueArns   = ["arn:aws:sqs:us-east-1:123456789012:spendlens"]
    }
    error_message = "Only the task queue may redrive into the dead-letter queue."
  }

  assert {
    condition     = aws_sqs_queue.tasks.visibility_timeout_seconds == 1200
    error_message = "The visibility timeout defaults to the application's Q_RETRY default (1200)."
  }

  assert {
    condition = alltrue([
      for q in [aws_sqs_queue.tasks, aws_sqs_queue.dead_letter] :
      q.kms_master_key_id == var.kms_key_arn && q.sqs_managed_sse_enabled != true
    ])
    error_message = "Both queues use the deployment's key when one is given."
  }

  assert {
    condition     = aws_iam_role_policy.use_queue.role == "spendlens-task"
    error_message = "The permission goes to the task role."
  }
}

run "sqs_managed_encryption_without_a_key" {
  command = apply

  variables {
    kms_key_arn = ""
  }

  assert {
    condition = alltrue([
      for q in [aws_sqs_queue.tasks, aws_sqs_queue.dead_letter] :
      q.sqs_managed_sse_enabled == true && q.kms_master_key_id == null
    ])
    error_message = "Without a key both queues use SQS-managed encryption."
  }
}

run "rejects_a_fifo_queue" {
  command = plan

  variables {
    name = "spendlens.fifo"
  }

  expect_failures = [var.name]
}
