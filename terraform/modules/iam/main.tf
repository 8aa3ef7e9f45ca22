# The two roles of the Spendlens tasks.
#
# Execution role: what ECS itself needs to start a task: pull the image from this deployment's
# repository, write to this deployment's log groups, read this deployment's secrets (SSM
# parameters and Secrets Manager secrets by ARN prefix, plus named extra secrets such as the RDS
# master secret for the one-off dbinit task) and decrypt them with the deployment's key.
#
# Task role: what the application's code may do. Spendlens reaches customer accounts only
# through their roles (AssumeRole with the ExternalId), so the platform itself needs no
# CloudWatch, EC2 or Cost Explorer permission: only sts:AssumeRole on the customer role name,
# ses:SendEmail from the one verified identity and address, and (optionally) reading billing
# exports from named S3 buckets.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  log_group_arn_prefix = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.log_group_prefix}"
  ssm_arn_prefix       = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${var.parameter_prefix}/*"
  secrets_arn_prefix   = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${trimprefix(var.parameter_prefix, "/")}/*"
  # Each allowed name, with or without an IAM path (role/team/finops/<name>) in any account.
  customer_role_patterns = flatten([
    for name in var.customer_role_names : [
      "arn:${local.partition}:iam::*:role/${name}",
      "arn:${local.partition}:iam::*:role/*/${name}",
    ]
  ])
}

# Both roles trust ECS tasks of this account only (confused-deputy guard).
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# --- Execution role ---------------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = "${var.name}-ecs-execution"
  description        = "ECS agent for ${var.name}: image pull, logs, secrets injection"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullThisRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid     = "WriteThisDeploymentsLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "${local.log_group_arn_prefix}*:log-stream:*",
    ]
  }

  statement {
    sid       = "ReadThisDeploymentsParameters"
    actions   = ["ssm:GetParameters"]
    resources = [local.ssm_arn_prefix]
  }

  statement {
    sid       = "ReadThisDeploymentsSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([local.secrets_arn_prefix], var.extra_secret_arns)
  }

  statement {
    sid       = "DecryptTheSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "ssm.${local.region}.amazonaws.com",
        "secretsmanager.${local.region}.amazonaws.com",
      ]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "ecs-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Task role (the application) --------------------------------------------------------------

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "Spendlens application (${var.name}): assumes customer roles, sends alert e-mail"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task" {
  #checkov:skip=CKV_AWS_356:pricing:GetProducts (the public AWS Price List, for regional prices) supports no resource-level scoping; it is read-only.
  statement {
    sid       = "AssumeCustomerRoles"
    actions   = ["sts:AssumeRole"]
    resources = local.customer_role_patterns
  }

  statement {
    sid       = "SendAlertEmailFromTheVerifiedIdentity"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = concat([var.ses_identity_arn], var.ses_extra_resource_arns)
    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = [var.ses_from_address]
    }
  }

  statement {
    sid       = "ReadPublicPrices"
    actions   = ["pricing:GetProducts"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(var.billing_export_bucket_arns) > 0 ? [1] : []
    content {
      sid       = "ReadBillingExports"
      actions   = ["s3:GetObject"]
      resources = [for arn in var.billing_export_bucket_arns : "${arn}/*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "spendlens-platform"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
