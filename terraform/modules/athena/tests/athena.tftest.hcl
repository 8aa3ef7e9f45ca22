# terraform test (offline: mocked provider, applied against the mock): the workgroup's enforced
# configuration and bytes limit, the results location and its encryption, the validations.

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
}

variables {
  name                = "spendlens"
  task_role_name      = "spendlens-task"
  export_bucket_arns  = ["arn:aws:s3:::acme-billing-exports"]
  export_prefix       = "focus/spendlens-focus"
  glue_database_names = ["billing"]
  kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
}

run "workgroup_with_a_bytes_limit_and_encrypted_results" {
  command = apply

  assert {
    condition     = aws_athena_workgroup.imports.name == "spendlens"
    error_message = "The workgroup is the WORKGROUP of athena:// URIs."
  }

  assert {
    condition = (
      aws_athena_workgroup.imports.configuration[0].enforce_workgroup_configuration &&
      aws_athena_workgroup.imports.configuration[0].bytes_scanned_cutoff_per_query == 1099511627776
    )
    error_message = "Queries cannot override the workgroup, and one may scan 1 TiB at most by default."
  }

  assert {
    condition = (
      aws_athena_workgroup.imports.configuration[0].result_configuration[0].output_location == "s3://spendlens-athena-results-123456789012/spendlens/" &&
      aws_athena_workgroup.imports.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS" &&
      aws_athena_workgroup.imports.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == var.kms_key_arn
    )
    error_message = "Results go to the module's bucket, encrypted with the deployment's key."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.results.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "The results bucket encrypts with the deployment's key by default too."
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.results.rule).expiration[0].days == 7
    error_message = "Query results expire after a week by default."
  }

  assert {
    condition     = aws_iam_role_policy.import.role == "spendlens-task"
    error_message = "The policy is attached to the task role."
  }
}

run "a_smaller_limit" {
  command = apply

  variables {
    bytes_scanned_cutoff_per_query = 10000000000
  }

  assert {
    condition     = aws_athena_workgroup.imports.configuration[0].bytes_scanned_cutoff_per_query == 10000000000
    error_message = "The limit is the variable's."
  }
}

run "a_limit_below_athenas_minimum_is_refused" {
  command = plan

  variables {
    bytes_scanned_cutoff_per_query = 1000
  }

  expect_failures = [var.bytes_scanned_cutoff_per_query]
}

run "a_wildcard_bucket_is_refused" {
  command = plan

  variables {
    export_bucket_arns = ["arn:aws:s3:::*"]
  }

  expect_failures = [var.export_bucket_arns]
}

run "a_wildcard_database_is_refused" {
  command = plan

  variables {
    glue_database_names = ["*"]
  }

  expect_failures = [var.glue_database_names]
}
