# terraform test (offline: mocked provider, plan only). Spendlens assumes the role by the ARN the
# customer entered, so the module must create exactly that name and path, in that partition.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws-cn" }
  }
  # The rendered documents are the provider's business; their statements are checked below.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\": \"2012-10-17\", \"Statement\": []}" }
  }
}

variables {
  platform_principal_arn = "arn:aws-cn:iam::210987654321:role/spendlens-task"
  external_id            = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
  allow_stop_start       = true
}

run "named_and_placed_as_the_entered_arn" {
  command = plan

  variables {
    role_name = "SpendlensReadOnly"
    role_path = "/team/finops/"
  }

  assert {
    condition     = aws_iam_role.spendlens.name == "SpendlensReadOnly" && aws_iam_role.spendlens.path == "/team/finops/"
    error_message = "The role must be /team/finops/SpendlensReadOnly, as in the entered ARN."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.stop_start.statement).resources == toset(["arn:aws-cn:ec2:*:*:instance/*"])
    error_message = "Stop/start must name instances in the account's own partition."
  }
}

run "defaults_keep_the_original_role" {
  command = plan

  assert {
    condition     = aws_iam_role.spendlens.name == "SpendlensAccess" && aws_iam_role.spendlens.path == "/"
    error_message = "Without role_name/role_path the module creates /SpendlensAccess as before."
  }
}

run "a_path_in_the_name_is_refused" {
  command = plan

  variables {
    role_name = "team/SpendlensAccess"
  }

  expect_failures = [var.role_name]
}

run "a_path_without_slashes_is_refused" {
  command = plan

  variables {
    role_path = "team"
  }

  expect_failures = [var.role_path]
}
