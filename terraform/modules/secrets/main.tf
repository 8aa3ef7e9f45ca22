# The deployment's customer-managed KMS key and the SSM SecureString parameters that hold the
# application's secrets. Terraform creates each parameter with a placeholder and never reads or
# writes its value again (ignore_changes): the operator puts the real value with
# `aws ssm put-parameter --overwrite`, so no secret ever lands in the Terraform state.
# The placeholder fails closed: Spendlens refuses to start with a SECRET_KEY shorter than 32
# characters or a DATABASE_URL that is not a database URL.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

# Key policy. In a key policy "Resource: *" means this key. The account statement lists the
# actions instead of kms:* so no statement in the stack grants a service-wide wildcard; it still
# lets IAM policies in this account grant use of the key (the execution role's kms:Decrypt,
# RDS/ECR/SSM grants made on behalf of the operator who runs Terraform).
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:KMS key policy: Resource "*" is the key itself; administration is limited to principals of this account.
  #checkov:skip=CKV_AWS_111:KMS key policy: Resource "*" is the key itself; write actions are limited to principals of this account.
  #checkov:skip=CKV_AWS_356:KMS key policy: Resource "*" is the key itself (a key policy cannot name another resource).
  statement {
    sid = "AccountAdministrationAndIamDelegation"
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    actions = [
      "kms:CancelKeyDeletion",
      "kms:Create*",
      "kms:Decrypt",
      "kms:Delete*",
      "kms:Describe*",
      "kms:Disable*",
      "kms:Enable*",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:Get*",
      "kms:List*",
      "kms:Put*",
      "kms:ReEncrypt*",
      "kms:RetireGrant",
      "kms:Revoke*",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:Update*",
    ]
    resources = ["*"]
  }

  # CloudWatch Logs encrypts the log groups of this account (ECS, VPC flow logs, RDS exports,
  # WAF) with the key; the condition keeps it to log groups of this account and region.
  statement {
    sid = "CloudWatchLogsOfThisAccount"
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    actions = [
      "kms:Decrypt*",
      "kms:Describe*",
      "kms:Encrypt*",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: application secrets, logs, ECR, RDS storage and Performance Insights"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.key_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_ssm_parameter" "secret" {
  for_each = toset(var.parameter_names)

  name        = "${var.parameter_prefix}/${each.key}"
  description = "${var.name} ${each.key}; set the value with: aws ssm put-parameter --overwrite --type SecureString --name ${var.parameter_prefix}/${each.key} --value ..."
  type        = "SecureString"
  key_id      = aws_kms_key.this.arn
  # Not a secret: a short placeholder that the application rejects, replaced by the operator.
  value = "UNSET"
  tags  = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}
