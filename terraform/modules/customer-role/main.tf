# The role a customer account creates so Spendlens can read its costs, inventory and metrics.
# Least privilege: read-only, plus (opt-in) stop/start restricted to tagged instances.
# Keep READ_ACTIONS in accounts/onboarding.py and this list in step (a test compares them).
# The Price List API (pricing:GetProducts) is called with the platform's own credentials, so it
# is granted to the platform's task role (modules/iam), not here.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "SpendlensPlatform"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.platform_principal_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

resource "aws_iam_role" "spendlens" {
  name                 = var.role_name
  path                 = var.role_path
  description          = "Read access for Spendlens cost control"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "read" {
  #checkov:skip=CKV_AWS_356:ce:GetCostAndUsage, ce:GetCostForecast, cloudwatch:GetMetricData, autoscaling:DescribeAutoScalingGroups, the commitments reads (savingsplans:DescribeSavingsPlans, rds:DescribeReservedDBInstances, ce:GetSavingsPlans*/GetReservation*), rds:DescribeDBInstances, the elasticloadbalancing:Describe* reads, organizations:ListAccounts and the ec2:Describe* calls Spendlens makes support no resource-level scoping; all are read-only.
  statement {
    sid = "SpendlensRead"
    actions = [
      "ce:GetCostAndUsage",
      "ce:GetCostForecast",
      "ec2:Describe*",
      "cloudwatch:GetMetricData",
      "autoscaling:DescribeAutoScalingGroups",
      "savingsplans:DescribeSavingsPlans",
      "ec2:DescribeReservedInstances",
      "rds:DescribeReservedDBInstances",
      "ce:GetSavingsPlansCoverage",
      "ce:GetSavingsPlansUtilization",
      "ce:GetReservationCoverage",
      "ce:GetReservationUtilization",
      "ce:GetSavingsPlansPurchaseRecommendation",
      "ec2:DescribeSnapshots",
      "ec2:DescribeImages",
      "ec2:DescribeNatGateways",
      "rds:DescribeDBInstances",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTags",
      "organizations:ListAccounts",
    ]
    resources = ["*"] #tfsec:ignore:aws-iam-no-policy-wildcards -- these read APIs support no resource-level scoping
  }
}

resource "aws_iam_role_policy" "read" {
  name   = "SpendlensRead"
  role   = aws_iam_role.spendlens.id
  policy = data.aws_iam_policy_document.read.json
}

data "aws_iam_policy_document" "stop_start" {
  statement {
    sid       = "SpendlensStopStartTaggedInstances"
    actions   = ["ec2:StopInstances", "ec2:StartInstances"]
    resources = ["arn:${data.aws_partition.current.partition}:ec2:*:*:instance/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${var.stoppable_tag_key}"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role_policy" "stop_start" {
  count  = var.allow_stop_start ? 1 : 0
  name   = "SpendlensStopStart"
  role   = aws_iam_role.spendlens.id
  policy = data.aws_iam_policy_document.stop_start.json
}
