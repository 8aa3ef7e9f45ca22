# terraform test (offline: mocked provider, plan only): the whole environment evaluates
# (counts, for_each, cross-module references, variable validations) with example values.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_elb_service_account" {
    defaults = { arn = "arn:aws:iam::127311923021:root" }
  }
}

variables {
  account_id         = "123456789012"
  domain_name        = "spendlens.example.com"
  certificate_arn    = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  ses_domain         = "example.com"
  alert_from_address = "alerts@example.com"
  image_tag          = "0123456789abcdef"
  github_repository  = "example-org/spendlens"
}

run "plan" {
  command = plan

  assert {
    condition = (
      output.cluster_name == "spendlens" &&
      output.web_service_name == "spendlens-web" &&
      output.worker_service_name == "spendlens-worker" &&
      output.migrate_task_definition_family == "spendlens-migrate" &&
      output.task_definition_families["web"] == "spendlens-web" &&
      output.task_definition_families["worker"] == "spendlens-worker" &&
      output.dbinit_task_definition_family == "spendlens-dbinit"
    )
    error_message = "Names must match .github/workflows/deploy.yml's defaults."
  }

  assert {
    condition     = output.ssm_parameter_names == { SECRET_KEY = "/spendlens/prod/SECRET_KEY", DATABASE_URL = "/spendlens/prod/DATABASE_URL", METRICS_TOKEN = "/spendlens/prod/METRICS_TOKEN" }
    error_message = "The secrets live under /spendlens/prod/."
  }

  assert {
    condition     = length(module.github_deploy) == 1
    error_message = "A github_repository creates the deploy role."
  }

  assert {
    condition     = length(module.queue) == 0 && output.task_queue_name == null
    error_message = "By default the application keeps its own broker: no SQS queue."
  }

  assert {
    condition     = length(module.athena) == 0 && output.athena_workgroup_name == ""
    error_message = "Without export buckets there is no Athena workgroup."
  }
}

run "export_buckets_create_the_athena_workgroup" {
  command = plan

  variables {
    athena_export_bucket_arns  = ["arn:aws:s3:::acme-billing-exports"]
    athena_glue_database_names = ["billing"]
  }

  assert {
    condition     = length(module.athena) == 1 && output.athena_workgroup_name == "spendlens"
    error_message = "athena_export_bucket_arns creates the spendlens workgroup."
  }
}

run "sqs_broker_creates_the_queue" {
  command = plan

  variables {
    queue_broker      = "sqs"
    extra_environment = { Q_RETRY = "1800", Q_TIMEOUT = "1500" }
  }

  assert {
    condition     = length(module.queue) == 1 && output.task_queue_name == "spendlens" && output.dead_letter_queue_name == "spendlens-dead-letter"
    error_message = "queue_broker = sqs creates the spendlens queue and its dead-letter queue."
  }
}

run "unknown_broker_is_refused" {
  command = plan

  variables {
    queue_broker = "kafka"
  }

  expect_failures = [var.queue_broker]
}

run "sender_outside_the_ses_domain_is_refused" {
  command = plan

  variables {
    alert_from_address = "alerts@elsewhere.example.org"
  }

  expect_failures = [var.alert_from_address]
}

run "zones_of_another_region_are_refused" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a", "eu-west-1b"]
  }

  expect_failures = [var.availability_zones]
}
